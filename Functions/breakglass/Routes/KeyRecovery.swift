import Crypto
import FastCGI
import Platform
import PlatformHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/admin/vercel/breakglass/key-recovery` `{requestId, share?, keyId?, reset?}`: recovers an
/// escrowed encryption key from shares handed in one per call by distinct admins, each share signed
/// with its admin's own key (`adminSignature`, action `share`, subject the share's SHA-256), unseal-style, under
/// an executed EMERGENCY_RECOVERY request (for the 30 minutes after its execution). A duplicate share
/// is ignored; `reset` discards the progress. At the threshold the shares are combined and the result
/// checked against the escrow's key check value before anything else: too few or corrupted shares
/// give a wrong key silently, and a wrong key changes nothing (the shares are discarded). The right
/// key is used only to open: every value sealed under it is re-sealed under the ring's current key
/// (from the configuration, never from a request), a batch per transaction, so a recovery that
/// stops halfway is finished by recovering again. The key is never logged or stored.
enum KeyRecovery {
    struct Input: Decodable, Sendable {
        let requestId: UUID
        let share: String?
        let keyId: String?
        let reset: Bool?
        /// The admin's signature of `share` (the share's SHA-256 as the subject) or of `reset-shares`.
        let adminSignature: AdminSignature?
    }

    struct Progress: Encodable {
        let keyId: String
        let threshold: Int
        let shares: Int
        let progress: String
        let duplicate: Bool
        let recovered: Bool
        let reencrypted: Int?
        let failed: Int?
    }

    private struct Event: Encodable {
        let requestId: String
        let keyId: String
        let shares: Int
        let threshold: Int
        let reencrypted: Int?
        let failed: Int?
    }

    static let window: TimeInterval = 30 * 60

    @Sendable static func recover(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        let input = call.input
        guard let request = try context.breakglass.find(input.requestId) else { throw BreakglassError.requestNotFound }
        guard request.accessLevel == .emergencyRecovery, request.status == "executed",
            let executed = request.executedAt, Date().timeIntervalSince(executed) < window
        else { throw BreakglassError.recoveryNotAuthorized }
        let store = context.keyRecovery
        guard let escrow = try store.escrow(keyID: input.keyId) else { throw BreakglassError.noEscrow }

        func answer(duplicate: Bool, recovered: Bool, tally: Rekeyer.Tally? = nil) throws -> Response {
            let count = recovered ? escrow.threshold : try store.count(request: request.id, keyID: escrow.keyID)
            return .json(
                Progress(
                    keyId: escrow.keyID, threshold: escrow.threshold, shares: count,
                    progress: "\(count)/\(escrow.threshold)", duplicate: duplicate, recovered: recovered,
                    reencrypted: tally?.rekeyed, failed: tally?.failed))
        }

        /// Checks the caller's signature of `action` in the transaction of what it allows.
        func signed(_ action: AdminStatement.Action, subject: String = "-", _ body: () throws -> Void) throws {
            try BreakglassRequests.refusing((request.id, action), call, context, signature: input.adminSignature) {
                try store.transaction {
                    _ = try BreakglassRequests.verifier(
                        action, call, context, signature: input.adminSignature, subject: subject)(request)
                    try body()
                }
            }
        }

        if input.reset == true {
            try signed(.resetShares) { try store.discard(request: request.id) }
            try record(.keyRecoveryReset, "key_recovery_reset", escrow, shares: 0, nil, call, context)
            return try answer(duplicate: false, recovered: false)
        }
        guard let text = input.share, let share = Shamir.Share(text: text) else { throw BreakglassError.invalidShare }
        var accepted = false
        try signed(.share, subject: AdminStatement.subject(ofShare: text)) {
            accepted = try store.submit(share, request: request.id, admin: call.caller.userID, keyID: escrow.keyID)
        }
        let gathered = try store.count(request: request.id, keyID: escrow.keyID)
        if accepted {
            try record(
                .keyRecoveryShareAccepted, "key_recovery_share", escrow, shares: gathered, nil, call, context)
        }
        guard gathered >= escrow.threshold else { return try answer(duplicate: !accepted, recovered: false) }

        // One combination at a time for a request, on every host.
        let outcome = try store.combining(request: request.id) { () throws -> Rekeyer.Tally in
            let shares = try store.shares(request: request.id, keyID: escrow.keyID)
            let key = try? Shamir.combine(shares, threshold: escrow.threshold)
            guard let key, ConstantTime.equals(KeyRing.checkValue(of: key), escrow.checkValue) else {
                try store.discard(request: request.id)
                try record(
                    .keyRecoveryFailed, "key_recovery_failed", escrow, shares: shares.count, nil, call, context)
                throw BreakglassError.recoveryFailed
            }
            let ring = context.configuration.keyRing
            let tally = try store.reseal(escrow.keyID, opener: try ring.opening(key, as: escrow.keyID), sealer: ring)
            try store.discard(request: request.id)
            try record(.keyRecovered, "key_recovered", escrow, shares: shares.count, tally, call, context)
            return tally
        }
        guard let tally = outcome else { throw BreakglassError.recoveryInProgress }
        return try answer(duplicate: !accepted, recovered: true, tally: tally)
    }

    private static func record(
        _ action: AuditAction, _ alert: String, _ escrow: KeyRecoveryStore.Escrow, shares: Int, _ tally: Rekeyer.Tally?,
        _ call: PlatformCall<Input>, _ context: WorkerServices
    ) throws {
        let event = Event(
            requestId: call.input.requestId.uuidString.lowercased(), keyId: escrow.keyID, shares: shares,
            threshold: escrow.threshold, reencrypted: tally?.rekeyed, failed: tally?.failed)
        try BreakglassEvent.record(action, alert: alert, event, call, context)
    }
}
