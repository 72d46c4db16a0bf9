#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The framework of a platform project and the build settings Vercel should use for it, read from
/// the project's files: `package.json` dependencies first (the most specific framework wins), then
/// the lockfile for the package manager, else a static site.
public struct FrameworkDetection: Equatable, Sendable {
    /// Vercel's framework slug, nil for a static site.
    public let framework: String?
    public let buildCommand: String?
    public let outputDirectory: String?
    public let installCommand: String?
    public let devCommand: String?

    /// (dependency, Vercel slug, build, output, dev), most specific first: Remix and Gatsby projects
    /// also depend on React, Nuxt on Vue, SvelteKit on Vite.
    static let frameworks: [(dependency: String, slug: String, build: String, output: String, dev: String)] = [
        ("next", "nextjs", "next build", ".next", "next dev"),
        ("@remix-run/react", "remix", "remix build", "build", "remix dev"),
        ("astro", "astro", "astro build", "dist", "astro dev"),
        ("@sveltejs/kit", "sveltekit-1", "vite build", ".svelte-kit", "vite dev"),
        ("nuxt", "nuxtjs", "nuxt build", ".output", "nuxt dev"),
        ("gatsby", "gatsby", "gatsby build", "public", "gatsby develop"),
        ("react-scripts", "create-react-app", "react-scripts build", "build", "react-scripts start"),
        ("vite", "vite", "vite build", "dist", "vite"),
    ]

    /// Detects from `files`: path (relative to the project root) → contents. Only `package.json`
    /// and lockfiles are read.
    public static func detect(files: [String: [UInt8]]) -> FrameworkDetection {
        let installer: String
        if files["pnpm-lock.yaml"] != nil {
            installer = "pnpm install"
        } else if files["yarn.lock"] != nil {
            installer = "yarn install"
        } else if files["bun.lockb"] != nil || files["bun.lock"] != nil {
            installer = "bun install"
        } else {
            installer = "npm install"
        }
        guard let manifest = files["package.json"],
            let package = try? JSONDecoder().decode(Manifest.self, from: Data(manifest))
        else {
            return FrameworkDetection(
                framework: nil, buildCommand: nil, outputDirectory: nil, installCommand: nil, devCommand: nil)
        }
        let dependencies = Set((package.dependencies ?? [:]).keys).union((package.devDependencies ?? [:]).keys)
        guard let match = frameworks.first(where: { dependencies.contains($0.dependency) }) else {
            return FrameworkDetection(
                framework: nil, buildCommand: package.scripts?["build"].map { _ in "npm run build" },
                outputDirectory: nil,
                installCommand: installer, devCommand: nil)
        }
        return FrameworkDetection(
            framework: match.slug, buildCommand: match.build, outputDirectory: match.output, installCommand: installer,
            devCommand: match.dev)
    }

    /// Reads `directory`'s `package.json` (at most 1 MiB) and notes which lockfiles exist.
    public static func detect(in directory: URL) -> FrameworkDetection {
        var files: [String: [UInt8]] = [:]
        for name in ["pnpm-lock.yaml", "yarn.lock", "bun.lockb", "bun.lock", "package-lock.json"]
        where FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
            files[name] = []
        }
        let manifest = directory.appendingPathComponent("package.json").path
        var info = stat()
        if stat(manifest, &info) == 0, info.st_size <= 1 << 20,
            let data = FileManager.default.contents(atPath: manifest)
        {
            files["package.json"] = Array(data)
        }
        return detect(files: files)
    }

    struct Manifest: Decodable {
        let dependencies: [String: String]?
        let devDependencies: [String: String]?
        let scripts: [String: String]?
    }
}
