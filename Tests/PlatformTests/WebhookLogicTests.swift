import Crypto
import Platform
import PlatformHost
import Testing

@Suite struct WebhookLogicTests {
    static let body = Array(#"{"type":"deployment.created","id":"evt_1","payload":{}}"#.utf8)

    /// Signed here with OpenSSL's HMAC-SHA1 (checked against RFC 2202 in CryptoTests).
    static func sign(_ body: [UInt8], _ secret: String) -> String {
        Hex.encode(HMAC.sha1(key: Array(secret.utf8), message: body))
    }

    @Test func theSignatureOfTheRawBodyUnderAnyConfiguredSecretIsValid() {
        let secrets = WebhookSignature.secrets(from: "new-secret,old-secret")
        #expect(WebhookSignature.isValid(Self.sign(Self.body, "new-secret"), body: Self.body, secrets: secrets))
        #expect(WebhookSignature.isValid(Self.sign(Self.body, "old-secret"), body: Self.body, secrets: secrets))
        #expect(
            WebhookSignature.isValid(Self.sign(Self.body, "old-secret").uppercased(), body: Self.body, secrets: secrets)
        )
    }

    @Test func aWrongMissingOrMalformedSignatureOrAChangedBodyIsInvalid() {
        let secrets = WebhookSignature.secrets(from: "secret")
        var changed = Self.body
        changed[10] ^= 0x01
        #expect(!WebhookSignature.isValid(Self.sign(Self.body, "other"), body: Self.body, secrets: secrets))
        #expect(!WebhookSignature.isValid(Self.sign(Self.body, "secret"), body: changed, secrets: secrets))
        #expect(!WebhookSignature.isValid(nil, body: Self.body, secrets: secrets))
        #expect(
            !WebhookSignature.isValid("sha256=" + Self.sign(Self.body, "secret"), body: Self.body, secrets: secrets))
        #expect(!WebhookSignature.isValid(Self.sign(Self.body, "secret"), body: Self.body, secrets: []))
    }

    static let moves: [(DeploymentState, DeploymentState, DeploymentState.Decision)] = [
        (.queued, .initializing, .apply), (.queued, .building, .apply), (.queued, .ready, .apply),
        (.building, .ready, .apply),
        (.building, .error, .apply), (.queued, .canceled, .apply), (.ready, .canceled, .apply),
        (.queued, .blocked, .apply),
        (.blocked, .queued, .apply),
        (.ready, .queued, .keep), (.ready, .building, .keep), (.building, .queued, .keep), (.ready, .ready, .keep),
        (.error, .ready, .reject), (.canceled, .ready, .keep), (.ready, .error, .reject), (.error, .canceled, .reject),
        (.canceled, .queued, .keep), (.error, .building, .keep),
    ]

    @Test(arguments: 0..<moves.count)
    func theLifecycleDecidesEachReport(index: Int) {
        let (stored, reported, decision) = Self.moves[index]
        #expect(stored.decide(reported) == decision, "\(stored) then \(reported)")
    }

    @Test(arguments: ["1796219498961", "1796219498961.0", "1.796219498961e12"])
    func anEventsTimeIsWholeMillisecondsInAnyNumberForm(createdAt: String) throws {
        let body =
            #"{"type":"deployment.created","id":"evt_1","createdAt":\#(createdAt),"payload":{"deployment":{"id":"dpl_1"}}}"#
        let event = try #require(WebhookEvent.decode(Array(body.utf8)))
        #expect(event.createdAt == 1_796_219_498_961)
    }

    @Test func aPermissionUpgradeCarriesItsScopes() throws {
        let body =
            #"{"type":"integration-configuration.permission-upgraded","id":"evt_2","createdAt":1796219498961,"payload":{"configuration":{"id":"icfg_1"},"scopes":{"added":["read:domain"],"upgraded":["read-write:project"]}}}"#
        let event = try #require(WebhookEvent.decode(Array(body.utf8)))
        #expect(event.payload.configuration?.id == "icfg_1")
        #expect(
            event.payload.scopes?.added == ["read:domain"] && event.payload.scopes?.upgraded == ["read-write:project"])
    }

    @Test func webhookTypesReportTheirStates() {
        #expect(DeploymentState(webhookType: "deployment.created") == .queued)
        #expect(DeploymentState(webhookType: "deployment.succeeded") == .ready)
        #expect(DeploymentState(webhookType: "deployment.ready") == .ready)
        #expect(DeploymentState(webhookType: "deployment.error") == .error)
        #expect(DeploymentState(webhookType: "deployment.canceled") == .canceled)
        #expect(DeploymentState(webhookType: "deployment.promoted") == nil)
        #expect(DeploymentState(webhookType: "project.created") == nil)
    }
}

@Suite struct StandardWebhookSignatureTests {
    /// The specification's published example, as its reference libraries compute it.
    @Test func thePublishedExampleReproducesExactly() throws {
        let signature = try StandardWebhookSignature.sign(
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: 1_614_265_330,
            body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func aSecretThatIsNotBase64IsRefused() {
        #expect(throws: StandardWebhookSignature.Failure.malformedSecret) {
            try StandardWebhookSignature.sign(secret: "whsec_!!!", id: "m", timestamp: 1, body: [])
        }
    }
}
