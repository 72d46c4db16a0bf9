/// A permission in Vercel's own words: `read:` or `read-write:` before a resource
/// (`read:project`, `read-write:project-env-vars`), or `*` for every one. `read-write:X` includes
/// `read:X`. What a route needs is one of these, never a word of this service's own, so what
/// Vercel reports for an installation can be compared with it.
public struct VercelPermission: Hashable, Sendable, CustomStringConvertible {
    public enum Access: Int, Sendable, Comparable {
        case read
        case readWrite

        public static func < (lhs: Access, rhs: Access) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public let access: Access
    /// The resource, `*` for all.
    public let resource: String

    public init(_ access: Access, _ resource: String) {
        self.access = access
        self.resource = resource
    }

    /// Parses Vercel's name of a permission; nil for any other word (OpenID scopes such as `openid`
    /// or `offline_access` are not permissions).
    public init?(_ name: some StringProtocol) {
        if name == "*" {
            self.init(.readWrite, "*")
            return
        }
        let parts = name.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty, parts[1].utf8.count <= 64,
            parts[1].utf8.allSatisfy({ $0 == 0x2d || (0x61...0x7a).contains($0) })
        else { return nil }
        switch parts[0] {
        case "read": self.init(.read, String(parts[1]))
        case "read-write": self.init(.readWrite, String(parts[1]))
        default: return nil
        }
    }

    public var description: String {
        if resource == "*" { return "*" }
        return (access == .read ? "read:" : "read-write:") + resource
    }

    /// Whether holding this permission allows what `other` allows.
    public func includes(_ other: VercelPermission) -> Bool {
        if resource == "*" { return true }
        return resource == other.resource && access >= other.access
    }

    /// Whether any of `granted` includes this permission.
    public func isGranted(by granted: some Sequence<VercelPermission>) -> Bool {
        granted.contains { $0.includes(self) }
    }

    /// The permissions among `names`, in Vercel's words; the other words are dropped.
    public static func parse(_ names: some Sequence<String>) -> [VercelPermission] {
        names.compactMap { VercelPermission($0) }
    }

    /// What a stored list of scopes says is held: nil (unknown) when there is no list or it names
    /// no permission at all.
    public static func known(_ names: [String]?) -> [VercelPermission]? {
        guard let names else { return nil }
        let permissions = parse(names)
        return permissions.isEmpty ? nil : permissions
    }
}

extension VercelPermission {
    public static let readUser = VercelPermission(.read, "user")
    public static let readProject = VercelPermission(.read, "project")
    public static let writeProject = VercelPermission(.readWrite, "project")
    public static let readDeployment = VercelPermission(.read, "deployment")
    public static let writeDeployment = VercelPermission(.readWrite, "deployment")
    public static let readEnv = VercelPermission(.read, "project-env-vars")
    public static let writeEnv = VercelPermission(.readWrite, "project-env-vars")
    public static let readDomain = VercelPermission(.read, "domain")
    public static let writeDomain = VercelPermission(.readWrite, "domain")
}
