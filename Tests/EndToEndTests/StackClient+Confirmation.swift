import Foundation
import TestSupport

extension StackClient {
    /// The confirmation a callback put in the fragment of the success page's URL.
    static func confirmation(in location: String) -> String? {
        guard let fragment = location.split(separator: "#", maxSplits: 1).dropFirst().first else { return nil }
        return fragment.split(separator: "&").first { $0.hasPrefix("confirmation=") }.map {
            String($0.dropFirst("confirmation=".count))
        }
    }

    /// Confirms, as the platform's page does for `user`, the authorization the browser came back with.
    func confirm(_ location: String, as user: UUID) async throws -> Reply {
        let confirmation = Self.confirmation(in: location) ?? ""
        return try await signed(
            "POST", "/v1/internal/vercel/oauth/confirm",
            json: #"{"userId":"\#(user)","confirmation":"\#(confirmation)"}"#)
    }
}
