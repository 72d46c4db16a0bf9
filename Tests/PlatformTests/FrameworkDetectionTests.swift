import Foundation
import Platform
import PlatformHost
import Testing

@Suite struct FrameworkDetectionTests {
    static func manifest(_ dependencies: [String], dev: [String] = [], scripts: [String: String] = [:]) -> [UInt8] {
        let object: [String: Any] = [
            "name": "app", "dependencies": Dictionary(uniqueKeysWithValues: dependencies.map { ($0, "^1.0.0") }),
            "devDependencies": Dictionary(uniqueKeysWithValues: dev.map { ($0, "^1.0.0") }), "scripts": scripts,
        ]
        return Array(try! JSONSerialization.data(withJSONObject: object))
    }

    static let cases: [(String, [String], [String], String?, String?)] = [
        ("Next.js", ["next", "react", "react-dom"], [], "nextjs", ".next"),
        ("Remix over React", ["@remix-run/react", "react"], ["vite"], "remix", "build"),
        ("Astro", ["astro"], [], "astro", "dist"),
        ("SvelteKit over Vite", [], ["@sveltejs/kit", "vite", "svelte"], "sveltekit-1", ".svelte-kit"),
        ("Nuxt over Vue", ["nuxt", "vue"], [], "nuxtjs", ".output"),
        ("Gatsby over React", ["gatsby", "react"], [], "gatsby", "public"),
        ("Create React App", ["react", "react-scripts"], [], "create-react-app", "build"),
        ("Vite", ["react"], ["vite"], "vite", "dist"),
        ("Express only", ["express"], [], nil, nil),
    ]

    @Test(arguments: 0..<cases.count)
    func theMostSpecificFrameworkOfTheDependenciesWins(index: Int) {
        let (name, dependencies, dev, framework, output) = Self.cases[index]
        let detected = FrameworkDetection.detect(files: ["package.json": Self.manifest(dependencies, dev: dev)])
        #expect(detected.framework == framework, "\(name)")
        #expect(detected.outputDirectory == output, "\(name)")
    }

    @Test func theLockfileChoosesTheInstallCommand() {
        let manifest = Self.manifest(["next"])
        #expect(FrameworkDetection.detect(files: ["package.json": manifest]).installCommand == "npm install")
        #expect(
            FrameworkDetection.detect(files: ["package.json": manifest, "pnpm-lock.yaml": []]).installCommand
                == "pnpm install")
        #expect(
            FrameworkDetection.detect(files: ["package.json": manifest, "yarn.lock": []]).installCommand
                == "yarn install")
        #expect(
            FrameworkDetection.detect(files: ["package.json": manifest, "bun.lockb": []]).installCommand
                == "bun install")
    }

    @Test func withoutAManifestOrWithABrokenOneItIsAStaticSite() {
        #expect(FrameworkDetection.detect(files: ["index.html": Array("<html>".utf8)]).framework == nil)
        #expect(FrameworkDetection.detect(files: ["package.json": Array("{not json".utf8)]).buildCommand == nil)
    }

    @Test func filesOnDiskAreReadFromTheProjectDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(Self.manifest(["astro"])).write(to: directory.appendingPathComponent("package.json"))
        try Data().write(to: directory.appendingPathComponent("pnpm-lock.yaml"))
        let detected = FrameworkDetection.detect(in: directory)
        #expect(
            detected.framework == "astro" && detected.installCommand == "pnpm install"
                && detected.buildCommand == "astro build")
    }
}
