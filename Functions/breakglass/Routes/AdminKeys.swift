import FastCGI
import Platform
import PlatformHost

/// `GET /v1/admin/vercel/admin-keys`: the admins' enrolled keys (public halves only), active first,
/// with who approved each and when it was revoked.
enum AdminKeys {
    struct Listed: Encodable {
        let keys: [AdminKeyStore.Key]
    }

    @Sendable static func list(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        .json(Listed(keys: try context.adminKeys.list()))
    }
}
