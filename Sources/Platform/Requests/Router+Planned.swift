import FastCGI

extension Router where Context == RequestContext {
    /// A route of API.md whose behaviour belongs to a later piece of work: it is signed and checked
    /// like every platform route, then answers 501 `NOT_IMPLEMENTED`.
    public mutating func planned(_ method: String, _ pattern: String, admin: Bool = false) {
        let handler: @Sendable (PlatformCall<NoInput>, RequestContext) throws -> Response = { _, _ in
            throw PlatformError.notImplemented
        }
        if admin { self.admin(method, pattern, handler) } else { platform(method, pattern, handler) }
        markPlanned(method, pattern)
    }

    /// An unsigned route (a browser redirect, a webhook) whose behaviour is still to come.
    public mutating func plannedUnsigned(_ method: String, _ pattern: String) {
        add(method, pattern) { _, _ in throw PlatformError.notImplemented }
        markPlanned(method, pattern)
    }
}
