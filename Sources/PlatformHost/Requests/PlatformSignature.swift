import Crypto
import FastCGI
import Glibc
import Platform

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
#endif

/// The platform's request signature (DESIGN.md, "Callers"): HMAC-SHA256, lowercase hex, over
///
///     METHOD \n PATH[?QUERY] \n TIMESTAMP \n NONCE \n RAW_BODY
///
/// where QUERY is the query as sent with its `name=value` pairs sorted by name (then by value, so
/// repeated names sort too), and the body is empty for GET and DELETE. Pure: no clock, no I/O.
public enum PlatformSignature {
    /// How far a timestamp may be from now, either way.
    public static let allowedSkew: Int64 = 120
    /// How long a nonce is remembered; longer than twice the skew, so a replay cannot outlive it.
    public static let nonceLifetimeSeconds = 600
    public static let signatureHeader = "x-sheen-sig-v2"
    public static let timestampHeader = "x-sheen-timestamp"
    public static let nonceHeader = "x-sheen-nonce"
    public static let legacyHeader = "x-sheen-signature"

    /// What a verified request proves: the key under which it may not be accepted again.
    public struct Proof: Equatable, Sendable {
        /// The nonce (v2), or the signature itself for the legacy v1 scheme, which has no nonce.
        public let replayKey: String
    }

    /// The canonical bytes that are signed.
    public static func canonical(
        method: String, path: String, rawQuery: String, timestamp: String, nonce: String, body: [UInt8]
    ) -> [UInt8] {
        var target = path
        let query = sortedQuery(rawQuery)
        if !query.isEmpty { target += "?" + query }
        let signedBody = method == "GET" || method == "DELETE" || method == "HEAD" ? [] : body
        return Array([method, target, timestamp, nonce].joined(separator: "\n").utf8) + Array("\n".utf8) + signedBody
    }

    /// `rawQuery` with its pairs sorted by name, then value, each pair kept as sent.
    public static func sortedQuery(_ rawQuery: String) -> String {
        rawQuery.split(separator: "&", omittingEmptySubsequences: true)
            .map { pair -> (name: Substring, pair: Substring) in
                (pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0], pair)
            }
            .sorted { ($0.name, $0.pair) < ($1.name, $1.pair) }
            .map { String($0.pair) }
            .joined(separator: "&")
    }

    /// Lowercase hex HMAC-SHA256 of `canonical` under `secret`.
    public static func sign(_ canonical: [UInt8], secret: [UInt8]) -> String {
        Hex.encode(HMAC.sha256(key: secret, message: canonical))
    }

    /// Checks the headers, the clock and the signature of `request`. The nonce is not looked up
    /// here: the caller records `Proof.replayKey` and refuses it when it was seen before.
    public static func verify(
        _ request: Request, secret: [UInt8], now: Int64, acceptLegacy: Bool
    ) throws(SignatureFailure) -> Proof {
        guard let timestampText = request.headers[timestampHeader] else { throw .missingHeaders }
        if let signature = request.headers[signatureHeader] {
            guard let nonce = request.headers[nonceHeader] else { throw .missingHeaders }
            guard isWellFormedNonce(nonce) else { throw .invalidSignature }
            try checkTimestamp(timestampText, now: now)
            let expected = sign(
                canonical(
                    method: request.method, path: request.path, rawQuery: request.rawQuery, timestamp: timestampText,
                    nonce: nonce, body: request.body),
                secret: secret)
            guard ConstantTime.equals(expected, signature.lowercased()) else { throw .invalidSignature }
            return Proof(replayKey: "v2:" + nonce)
        }
        guard acceptLegacy, let signature = request.headers[legacyHeader] else { throw .missingHeaders }
        try checkTimestamp(timestampText, now: now)
        let expected = sign(Array(timestampText.utf8) + request.body, secret: secret)
        guard ConstantTime.equals(expected, signature.lowercased()) else { throw .invalidSignature }
        return Proof(replayKey: "v1:" + expected)
    }

    private static func checkTimestamp(_ text: String, now: Int64) throws(SignatureFailure) {
        guard (1...12).contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let timestamp = Int64(text)
        else { throw .timestampOutOfRange }
        guard abs(now - timestamp) <= allowedSkew else { throw .timestampOutOfRange }
    }

    /// 8 to 128 printable ASCII characters without spaces.
    static func isWellFormedNonce(_ nonce: String) -> Bool {
        (8...128).contains(nonce.utf8.count) && nonce.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }
}

/// Why a platform request was refused, with the status and code the platform's frontend expects.
public enum SignatureFailure: HTTPResponseError, Equatable {
    case missingHeaders
    case invalidSignature
    case timestampOutOfRange
    case replayed

    public var status: Int {
        switch self {
        case .missingHeaders, .timestampOutOfRange: 401
        case .invalidSignature: 403
        case .replayed: 409
        }
    }

    public var code: String {
        switch self {
        case .missingHeaders: "MISSING_SIGNATURE"
        case .invalidSignature: "INVALID_SIGNATURE"
        case .timestampOutOfRange: "TIMESTAMP_OUT_OF_RANGE"
        case .replayed: "REPLAY_DETECTED"
        }
    }

    public var message: String {
        switch self {
        case .missingHeaders: "The request is not signed"
        case .invalidSignature: "The request signature does not match"
        case .timestampOutOfRange: "The request timestamp is too far from the server's clock"
        case .replayed: "This request was already received"
        }
    }
}
