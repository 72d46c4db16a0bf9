import FastCGI
import Foundation
import Kernel

/// `/v2/user`, `/v2/teams` and `/v10/projects`, `/v9/projects/:idOrName`, `/v11/projects`.
enum ProjectRoutes {
    static func add(to router: inout Router<SimulatorState>) {
        // The user with every field Vercel's schema requires of a full user (`avatar`, `billing`,
        // `softBlock` and `defaultTeamId` may be null).
        router.api("GET", "/v2/user") { _, _, caller in
            let user = caller.account.user
            return .json(
                JSONValue.object([
                    "user": .object([
                        "id": .string(user.id), "email": .string(user.email),
                        "name": user.name.map { .string($0) } ?? .null, "username": .string(user.username),
                        "defaultTeamId": user.defaultTeamId.map { .string($0) } ?? .null, "avatar": .null,
                        "billing": .null, "softBlock": .null, "createdAt": 1_700_000_000_000,
                        "hasTrialAvailable": false, "resourceConfig": .object([:]),
                        "stagingPrefix": .string(user.username), "version": "northstar",
                    ])
                ]))
        }
        router.api("GET", "/v2/teams") { _, _, caller in
            .json(
                TeamsPage(
                    teams: caller.account.teams, pagination: SimulatedPagination(count: caller.account.teams.count)))
        }
        router.api("GET", "/v10/projects", list)
        router.api("GET", "/v9/projects/:idOrName") { request, state, caller in
            try .json(find(request.parameter("idOrName") ?? "", caller, state))
        }
        router.api("POST", "/v11/projects", create)
        router.api("PATCH", "/v9/projects/:idOrName", update)
    }

    struct TeamsPage: Encodable {
        let teams: [SimulatedTeam]
        let pagination: SimulatedPagination
    }

    struct ProjectsPage: Encodable {
        let projects: [SimulatedProject]
        let pagination: SimulatedPagination
    }

    /// Newest `updatedAt` first; `until` excludes everything updated at or after it, and
    /// `pagination.next` is the `updatedAt` of the last project of a page that has more after it.
    @Sendable static func list(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let limit = min(max(Int(request.query("limit") ?? "") ?? 20, 1), 100)
        let until = request.query("until").flatMap { Int64($0) }
        let search = request.query("search")?.lowercased()
        let owned = state.with { data in
            data.projects.values
                .filter { $0.accountId == caller.ownerID }
                .filter { project in search.map { project.name.contains($0) } ?? true }
                .filter { project in until.map { project.updatedAt < $0 } ?? true }
                .sorted { $0.updatedAt > $1.updatedAt }
        }
        let page = Array(owned.prefix(limit))
        let next = owned.count > limit ? page.last?.updatedAt : nil
        guard state.shapes(caller.token).has(.unreadableItem) else {
            return .json(
                ProjectsPage(
                    projects: page,
                    pagination: SimulatedPagination(count: page.count, next: next, prev: page.first?.updatedAt)))
        }
        let encoded = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(page))
        guard case .array(var projects) = encoded else { return .json(encoded) }
        projects.append(.object(["id": "prj_unreadable", "accountId": .string(caller.ownerID)]))
        return .json(
            JSONValue.object([
                "projects": .array(projects),
                "pagination": .object([
                    "count": .integer(projects.count), "next": next.map { .integer(Int($0)) } ?? .null,
                    "prev": page.first.map { .integer(Int($0.updatedAt)) } ?? .null,
                ]),
            ]))
    }

    static func find(_ idOrName: String, _ caller: SimulatedCaller, _ state: SimulatorState) throws -> SimulatedProject
    {
        let project = state.with { data in
            data.projects[idOrName]
                ?? data.projects.values.first { $0.name == idOrName && $0.accountId == caller.ownerID }
        }
        guard let project, project.accountId == caller.ownerID else {
            throw VercelAPIError.notFound("Project not found")
        }
        return project
    }

    struct Settings: Decodable {
        var name: String?
        var framework: String?
        var buildCommand: String?
        var outputDirectory: String?
        var installCommand: String?
        var devCommand: String?
        var rootDirectory: String?
        var nodeVersion: String?
        var gitRepository: GitRepository?

        struct GitRepository: Decodable {
            var type: String
            var repo: String
        }
    }

    static let frameworks: Set<String> = [
        "nextjs", "vite", "remix", "astro", "sveltekit", "sveltekit-1", "nuxtjs", "gatsby", "create-react-app",
    ]

    @Sendable static func create(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let settings = try request.vercelBody(Settings.self)
        guard let name = settings.name, isValidName(name) else {
            throw VercelAPIError.badRequest(
                "Invalid request: `name` must be at most 100 characters of lowercase letters, digits, '.', '_', '-'")
        }
        if let framework = settings.framework, !frameworks.contains(framework) {
            throw VercelAPIError.badRequest("Invalid request: `framework` is not a known framework")
        }
        if settings.nodeVersion != nil {
            throw VercelAPIError.badRequest("Invalid request: should NOT have additional property `nodeVersion`")
        }
        let project = try state.with { data -> SimulatedProject in
            if data.projects.values.contains(where: { $0.name == name && $0.accountId == caller.ownerID }) {
                throw VercelAPIError(status: 409, code: "conflict", message: "Project already exists")
            }
            let now = data.tick()
            let shapes = data.shapes[caller.token] ?? SimulatedShapes()
            let link = settings.gitRepository.map {
                SimulatedProject.Link.make(type: $0.type, repo: $0.repo, shapes: shapes, at: now)
            }
            let project = SimulatedProject(
                id: SimulatorState.identifier("prj_"), name: name, accountId: caller.ownerID,
                framework: settings.framework,
                nodeVersion: "20.x", buildCommand: settings.buildCommand, outputDirectory: settings.outputDirectory,
                installCommand: settings.installCommand, devCommand: settings.devCommand,
                rootDirectory: settings.rootDirectory,
                createdAt: now, updatedAt: now, link: link, targets: nil, lastAliasRequest: nil)
            data.projects[project.id] = project
            return project
        }
        return .json(project)
    }

    @Sendable static func update(
        _ request: Request, _ state: SimulatorState, _ caller: SimulatedCaller
    ) throws -> Response {
        let settings = try request.vercelBody(Settings.self)
        let current = try find(request.parameter("idOrName") ?? "", caller, state)
        if let framework = settings.framework, !frameworks.contains(framework) {
            throw VercelAPIError.badRequest("Invalid request: `framework` is not a known framework")
        }
        if let version = settings.nodeVersion, !["18.x", "20.x", "22.x"].contains(version) {
            throw VercelAPIError.badRequest("Invalid request: `nodeVersion` must be one of 18.x, 20.x, 22.x")
        }
        let updated = state.with { data -> SimulatedProject in
            var project = data.projects[current.id] ?? current
            project.framework = settings.framework ?? project.framework
            project.buildCommand = settings.buildCommand ?? project.buildCommand
            project.outputDirectory = settings.outputDirectory ?? project.outputDirectory
            project.installCommand = settings.installCommand ?? project.installCommand
            project.devCommand = settings.devCommand ?? project.devCommand
            project.rootDirectory = settings.rootDirectory ?? project.rootDirectory
            project.nodeVersion = settings.nodeVersion ?? project.nodeVersion
            project.updatedAt = data.tick()
            data.projects[project.id] = project
            return project
        }
        return .json(updated)
    }

    static func isValidName(_ name: String) -> Bool {
        (1...100).contains(name.utf8.count)
            && name.utf8.allSatisfy {
                ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || [0x2e, 0x5f, 0x2d].contains($0)
            }
    }
}
