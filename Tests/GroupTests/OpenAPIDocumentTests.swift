import Foundation
import Platform
import PlatformHost
import Testing

/// docs/openapi.yaml describes exactly the routes the groups serve: every operation of the
/// document is a route, and every route an operation.
@Suite struct OpenAPIDocumentTests {
    /// `METHOD /path/{param}` of every operation in the document, aliases (`*name`) resolved.
    static func documentedOperations() throws -> Set<String> {
        let text = try String(
            contentsOf: ReadmeTablesTests.root.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        var operations = Set<String>()
        var anchors: [String: Set<String>] = [:]
        var path: String?
        var pathAnchor: String?
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if !line.hasPrefix(" "), !line.isEmpty {
                inPaths = line == "paths:"
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /") {
                let parts = line.dropFirst(2).split(separator: ":", maxSplits: 1).map(String.init)
                path = parts[0]
                pathAnchor = nil
                let rest = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
                if rest.hasPrefix("&") { pathAnchor = String(rest.dropFirst()) }
                if rest.hasPrefix("*") {
                    for method in anchors[String(rest.dropFirst())] ?? [] { operations.insert("\(method) \(parts[0])") }
                }
                continue
            }
            let trimmed = line.drop { $0 == " " }
            guard line.hasPrefix("    "), !line.hasPrefix("     "), let path else { continue }
            let method = trimmed.split(separator: ":").first.map(String.init) ?? ""
            guard ["get", "put", "post", "delete", "patch"].contains(method) else { continue }
            operations.insert("\(method.uppercased()) \(path)")
            if let pathAnchor { anchors[pathAnchor, default: []].insert(method.uppercased()) }
        }
        return operations
    }

    /// `METHOD /path/{param}` of every route of every group (the fault routes are off), but
    /// `/metrics`, which nginx serves on its internal listener only: not part of the contract.
    static func routedOperations() -> Set<String> {
        Set(
            ReadmeTablesTests.groups.flatMap { group in
                group.router().routes.filter { !$0.pattern.hasPrefix("/metrics") }.map { route in
                    let path = route.pattern.split(separator: "/").map { segment in
                        segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                    }
                    return "\(route.method) /\(path.joined(separator: "/"))"
                }
            })
    }

    @Test func theDocumentAndTheRoutersHaveTheSameOperations() throws {
        let documented = try Self.documentedOperations()
        let routed = Self.routedOperations()
        #expect(documented.count > 50)
        #expect(
            documented.subtracting(routed).isEmpty,
            "documented but not routed: \(documented.subtracting(routed).sorted())")
        #expect(
            routed.subtracting(documented).isEmpty,
            "routed but not documented: \(routed.subtracting(documented).sorted())")
    }
}
