import Crypto
import FastCGI
import Foundation
import Platform
import PlatformHost
import Testing

/// The signatures here are built by the test itself from DESIGN.md's rule, not by the verifier.
@Suite struct PlatformSignatureTests {
    static let secret = "test-secret-that-is-long-enough-0123456789"
    static let now: Int64 = 1_790_000_000

    static func signed(
        method: String, path: String, query: String = "", body: String = "", timestamp: Int64 = now,
        nonce: String = "nonce-0001", secret: String = secret, canonicalQuery: String? = nil
    ) -> Request {
        let target = path + ((canonicalQuery ?? query).isEmpty ? "" : "?" + (canonicalQuery ?? query))
        let signedBody = (method == "GET" || method == "DELETE") ? "" : body
        let message = "\(method)\n\(target)\n\(timestamp)\n\(nonce)\n\(signedBody)"
        let signature = Hex.encode(HMAC.sha256(key: Array(secret.utf8), message: Array(message.utf8)))
        return Request(
            method: method, path: path, rawQuery: query,
            headers: ["x-sheen-sig-v2": signature, "x-sheen-timestamp": "\(timestamp)", "x-sheen-nonce": nonce],
            body: Array(body.utf8), requestID: "r")
    }

    func verify(_ request: Request, legacy: Bool = false) throws(SignatureFailure) -> PlatformSignature.Proof {
        try PlatformSignature.verify(request, secret: Array(Self.secret.utf8), now: Self.now, acceptLegacy: legacy)
    }

    @Test func aCorrectSignatureIsAcceptedAndItsNonceIsTheReplayKey() throws {
        let proof = try verify(Self.signed(method: "POST", path: "/v1/x", body: #"{"userId":"u"}"#))
        #expect(proof.replayKey == "v2:nonce-0001")
    }

    @Test func queryParametersAreSignedSortedByName() throws {
        let request = Self.signed(
            method: "GET", path: "/v1/x", query: "userId=u&limit=5&cursor=a%2Bb",
            canonicalQuery: "cursor=a%2Bb&limit=5&userId=u")
        _ = try verify(request)
    }

    @Test func getBodiesAreNotSigned() throws {
        var request = Self.signed(method: "GET", path: "/v1/x", query: "userId=u")
        request = Request(
            method: "GET", path: request.path, rawQuery: request.rawQuery, headers: request.headers,
            body: Array("x".utf8), requestID: "r")
        _ = try verify(request)
    }

    @Test func uppercaseHexSignaturesAreAccepted() throws {
        let request = Self.signed(method: "POST", path: "/v1/x", body: "{}")
        var headers = request.headers
        headers["x-sheen-sig-v2"] = headers["x-sheen-sig-v2"]!.uppercased()
        _ = try verify(Request(method: "POST", path: "/v1/x", headers: headers, body: request.body, requestID: "r"))
    }

    static let tampered: [(String, @Sendable (Request) -> Request)] = [
        (
            "body changed by one byte",
            { r in
                Request(
                    method: r.method, path: r.path, rawQuery: r.rawQuery, headers: r.headers,
                    body: Array(#"{"userId":"v"}"#.utf8), requestID: "r")
            }
        ),
        (
            "path changed",
            { r in
                Request(
                    method: r.method, path: "/v1/y", rawQuery: r.rawQuery, headers: r.headers, body: r.body,
                    requestID: "r")
            }
        ),
        (
            "method changed",
            { r in
                Request(
                    method: "PUT", path: r.path, rawQuery: r.rawQuery, headers: r.headers, body: r.body, requestID: "r")
            }
        ),
        (
            "query added",
            { r in
                Request(
                    method: r.method, path: r.path, rawQuery: "userId=other", headers: r.headers, body: r.body,
                    requestID: "r")
            }
        ),
        (
            "nonce changed",
            { r in
                var h = r.headers
                h["x-sheen-nonce"] = "nonce-0002"
                return Request(method: r.method, path: r.path, headers: h, body: r.body, requestID: "r")
            }
        ),
        (
            "timestamp changed",
            { r in
                var h = r.headers
                h["x-sheen-timestamp"] = "\(now - 1)"
                return Request(method: r.method, path: r.path, headers: h, body: r.body, requestID: "r")
            }
        ),
    ]

    @Test(arguments: 0..<tampered.count)
    func anyChangeToASignedPartIsInvalid(index: Int) {
        let request = Self.tampered[index].1(Self.signed(method: "POST", path: "/v1/x", body: #"{"userId":"u"}"#))
        #expect(throws: SignatureFailure.invalidSignature, "\(Self.tampered[index].0)") { try verify(request) }
    }

    @Test func aSignatureWithAnotherSecretIsInvalid() {
        let request = Self.signed(
            method: "POST", path: "/v1/x", body: "{}", secret: "another-secret-that-is-long-enough-000")
        #expect(throws: SignatureFailure.invalidSignature) { try verify(request) }
    }

    @Test(arguments: [now - 121, now + 121, now - 100_000])
    func timestampsMoreThan120SecondsOffAreRefused(timestamp: Int64) {
        let request = Self.signed(method: "POST", path: "/v1/x", body: "{}", timestamp: timestamp)
        #expect(throws: SignatureFailure.timestampOutOfRange) { try verify(request) }
    }

    @Test(arguments: [now - 120, now + 120])
    func timestampsAtTheEdgeOfTheWindowAreAccepted(timestamp: Int64) throws {
        _ = try verify(Self.signed(method: "POST", path: "/v1/x", body: "{}", timestamp: timestamp))
    }

    @Test(arguments: ["x-sheen-sig-v2", "x-sheen-timestamp", "x-sheen-nonce"])
    func aMissingHeaderIsMissingSignature(header: String) {
        let signed = Self.signed(method: "POST", path: "/v1/x", body: "{}")
        var headers = signed.headers
        headers[header] = nil
        let request = Request(method: "POST", path: "/v1/x", headers: headers, body: signed.body, requestID: "r")
        #expect(throws: SignatureFailure.missingHeaders) { try verify(request) }
    }

    @Test(arguments: ["short", "has space in it", String(repeating: "n", count: 129)])
    func malformedNoncesAreRefused(nonce: String) {
        #expect(throws: SignatureFailure.invalidSignature) {
            try verify(Self.signed(method: "POST", path: "/v1/x", nonce: nonce))
        }
    }

    @Test func legacySignaturesAreRefusedUnlessEnabled() throws {
        let body = #"{"userId":"u"}"#
        let signature = Hex.encode(HMAC.sha256(key: Array(Self.secret.utf8), message: Array("\(Self.now)\(body)".utf8)))
        let request = Request(
            method: "POST", path: "/v1/x",
            headers: ["x-sheen-signature": signature, "x-sheen-timestamp": "\(Self.now)"],
            body: Array(body.utf8), requestID: "r")
        #expect(throws: SignatureFailure.missingHeaders) { try verify(request) }
        let proof = try verify(request, legacy: true)
        #expect(proof.replayKey == "v1:" + signature)
    }

    @Test func failuresCarryTheStatusesAndCodesTheFrontendExpects() {
        #expect(
            SignatureFailure.missingHeaders.status == 401 && SignatureFailure.missingHeaders.code == "MISSING_SIGNATURE"
        )
        #expect(
            SignatureFailure.invalidSignature.status == 403
                && SignatureFailure.invalidSignature.code == "INVALID_SIGNATURE")
        #expect(
            SignatureFailure.timestampOutOfRange.status == 401
                && SignatureFailure.timestampOutOfRange.code == "TIMESTAMP_OUT_OF_RANGE")
        #expect(SignatureFailure.replayed.status == 409 && SignatureFailure.replayed.code == "REPLAY_DETECTED")
    }
}
