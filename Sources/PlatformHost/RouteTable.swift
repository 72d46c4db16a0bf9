import Platform

/// The README's table of every route of every group. Made from the groups' routers, so it cannot
/// drift from them.
public enum RouteTable {
    public static func markdown(_ groups: [FunctionGroup]) -> String {
        var lines = ["| group | method | path |", "|---|---|---|"]
        for group in groups {
            for route in group.router().routes
            where !route.pattern.hasPrefix("/healthz/") && !route.pattern.hasPrefix("/metrics") {
                lines.append("| \(group.name) | \(route.method) | `\(route.pattern)` |")
            }
        }
        return lines.joined(separator: "\n")
    }
}
