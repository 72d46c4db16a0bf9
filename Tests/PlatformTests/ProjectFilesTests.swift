import FastCGI
import Foundation
import Platform
import PlatformHost
import Testing

@Suite struct ProjectFilesTests {
    func tree(_ files: [String: String]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("project-files-\(UUID().uuidString)")
        for (path, text) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        return root
    }

    @Test func regularFilesAreReadWithRelativePathsAndIgnoredNamesAndLinksAreLeftOut() throws {
        let root = try tree([
            "package.json": "{}", "src/index.js": "1", ".env": "A=1", ".env.local": "SECRET=1",
            ".env.production.local": "SECRET=2",
            "node_modules/x/index.js": "x", ".git/HEAD": "ref", "src/.vercel/project.json": "{}",
            "public/.DS_Store": "",
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("passwd").path, withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("linked").path, withDestinationPath: "/etc")
        let files = try ProjectFiles.read(root.path)
        #expect(files.map(\.path) == [".env", "package.json", "src/index.js"])
        #expect(files.first { $0.path == "src/index.js" }?.bytes == Array("1".utf8))
    }

    @Test func treesPastTheLimitsAreRefused() throws {
        let root = try tree(["a.txt": "12345", "b.txt": "12345", "c.txt": "12345"])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try ProjectFiles.read(root.path, limits: .init(maxFiles: 3, maxTotalBytes: 15)).count == 3)
        for limits in [
            ProjectFiles.Limits(maxFiles: 2, maxTotalBytes: 100), ProjectFiles.Limits(maxFiles: 10, maxTotalBytes: 14),
        ] {
            #expect { try ProjectFiles.read(root.path, limits: limits) } throws: {
                ($0 as? HTTPResponseError)?.code == "PROJECT_TOO_LARGE"
            }
        }
    }

    @Test func aMissingOrEmptyProjectHasNothingToDeploy() throws {
        let root = try tree(["node_modules/x.js": "x"])
        defer { try? FileManager.default.removeItem(at: root) }
        for path in [root.path, root.path + "/absent"] {
            #expect { try ProjectFiles.read(path) } throws: {
                ($0 as? HTTPResponseError)?.code == "PROJECT_FILES_NOT_FOUND"
            }
        }
    }
}
