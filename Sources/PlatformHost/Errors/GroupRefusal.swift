import FastCGI

/// A group's refusals: one enum per group whose `parts` switch maps each case to its status, code
/// and message in one place; `extraFields` and `headers` stay the protocol's (none) unless the
/// enum gives its own.
public protocol GroupRefusal: HTTPResponseError {
    var parts: (status: Int, code: String, message: String) { get }
}

extension GroupRefusal {
    public var status: Int { parts.status }
    public var code: String { parts.code }
    public var message: String { parts.message }
}
