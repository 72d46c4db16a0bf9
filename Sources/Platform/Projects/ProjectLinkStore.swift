import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Platform projects linked to Vercel projects: rows of `vercel_project_mappings`, one per platform
/// project and one per Vercel project.
public struct ProjectLinkStore {
    let database: PostgresConnection

    public init(database: PostgresConnection) {
        self.database = database
    }

    /// What a link refuses.
    public enum Conflict: Error, Equatable {
        /// The Vercel project is linked to another platform project.
        case vercelProjectTaken
    }

    /// The columns of a mapping aliased `m` that `linkedProject` reads.
    static let columns: SQL = """
        m.id AS mapping_id, m.vercel_connection_id, m.vercel_project_id,
        coalesce(m.vercel_project_name, m.vercel_project_id) AS vercel_project_name, m.production_branch,
        m.git_repository::text AS git_repository, m.production_branch_checked_at
        """

    /// The link in `row` (read with `columns`), nil when the row has none.
    static func linkedProject(_ projectID: UUID, _ row: PostgresRow) throws -> LinkedProject? {
        guard let mapping = try row.decodeIfPresent("mapping_id", as: UUID.self) else { return nil }
        var link = LinkedProject(
            projectID: projectID, mappingID: mapping, connectionID: try row.decode("vercel_connection_id"),
            vercelProjectID: try row.decode("vercel_project_id"),
            vercelProjectName: try row.decode("vercel_project_name"),
            productionBranch: try row.decode("production_branch"),
            repository: row["git_repository"].flatMap {
                try? JSONDecoder().decode(LinkedProject.Repository.self, from: Data($0.utf8))
            })
        link.productionBranchCheckedAt = try row.decodeIfPresent("production_branch_checked_at")
        return link
    }

    /// Whether `userID` owns the platform project `projectID`.
    public func isOwned(_ projectID: UUID, by userID: UUID) throws -> Bool {
        try !database.query("SELECT 1 AS owned FROM projects WHERE id = \(projectID) AND owner_id = \(userID)").isEmpty
    }

    /// The project's link, nil when it has none.
    public func find(_ projectID: UUID) throws -> LinkedProject? {
        guard
            let row = try database.query(
                "SELECT \(fragment: Self.columns) FROM vercel_project_mappings m WHERE m.project_id = \(projectID)"
            ).first
        else { return nil }
        return try Self.linkedProject(projectID, row)
    }

    /// A new link's settings, as Vercel's project and the request give them.
    public struct NewLink: Sendable {
        public var projectID: UUID
        public var connectionID: UUID
        public var vercelProjectID: String
        public var vercelProjectName: String
        public var framework: String?
        public var nodeVersion: String?
        public var buildCommand: String?
        public var outputDirectory: String?
        public var installCommand: String?
        public var devCommand: String?
        public var rootDirectory: String?
        public var productionBranch: String
        public var repository: LinkedProject.Repository?
        public var environmentTargets: [String]
        public var autoDeploy: Bool
        public var branchPatterns: [String]

        public init(
            projectID: UUID, connectionID: UUID, vercelProjectID: String, vercelProjectName: String, framework: String?,
            nodeVersion: String?, buildCommand: String?, outputDirectory: String?, installCommand: String?,
            devCommand: String?,
            rootDirectory: String?, productionBranch: String, repository: LinkedProject.Repository?,
            environmentTargets: [String],
            autoDeploy: Bool, branchPatterns: [String]
        ) {
            self.projectID = projectID
            self.connectionID = connectionID
            self.vercelProjectID = vercelProjectID
            self.vercelProjectName = vercelProjectName
            self.framework = framework
            self.nodeVersion = nodeVersion
            self.buildCommand = buildCommand
            self.outputDirectory = outputDirectory
            self.installCommand = installCommand
            self.devCommand = devCommand
            self.rootDirectory = rootDirectory
            self.productionBranch = productionBranch
            self.repository = repository
            self.environmentTargets = environmentTargets
            self.autoDeploy = autoDeploy
            self.branchPatterns = branchPatterns
        }
    }

    /// Stores a link; its mapping id.
    /// - Throws: `Conflict.vercelProjectTaken` when the Vercel project is linked already.
    public func insert(_ link: NewLink) throws -> UUID {
        let repository = try link.repository.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        do {
            return try database.query(
                """
                INSERT INTO vercel_project_mappings (project_id, vercel_connection_id, vercel_project_id, vercel_project_name, framework,
                  node_version, build_command, output_directory, install_command, dev_command, root_directory, production_branch,
                  git_repository, environment_target, auto_deploy, deployment_branch_patterns, production_branch_checked_at)
                VALUES (\(link.projectID), \(link.connectionID), \(link.vercelProjectID), \(link.vercelProjectName), \(link.framework),
                  \(link.nodeVersion), \(link.buildCommand), \(link.outputDirectory), \(link.installCommand), \(link.devCommand),
                  \(link.rootDirectory), \(link.productionBranch), \(repository)::jsonb, \(link.environmentTargets)::vercel_env_target[],
                  \(link.autoDeploy), \(link.branchPatterns), now())
                RETURNING id
                """)[0].decode("id")
        } catch let error as PostgresError where error.isUniqueViolation {
            throw Conflict.vercelProjectTaken
        }
    }

    /// Removes the project's link; the Vercel project it was linked to, nil when it had none.
    /// Removes the link once the deployments being made for it are recorded (it takes the link's
    /// lock exclusively; none starts after): the Vercel project it linked, nil when there was none.
    public func unlink(_ projectID: UUID) throws -> String? {
        try database.transaction {
            try database.lockForTransaction(DeployService.linkLock(projectID))
            return try remove(projectID)
        }
    }

    public func remove(_ projectID: UUID) throws -> String? {
        try database.query(
            "DELETE FROM vercel_project_mappings WHERE project_id = \(projectID) RETURNING vercel_project_id"
        )
        .first?["vercel_project_id"]
    }

    /// A link's settings as the project detail shows them.
    public struct Settings: Encodable, Sendable {
        public let id: UUID
        public let framework: String?
        public let productionBranch: String
        public let autoDeployEnabled: Bool
        public let deploymentBranchPatterns: [String]
        public let environmentTargets: [String]

        /// From a row with `id, framework, production_branch, auto_deploy`, and the patterns and
        /// targets as JSON arrays (`patterns`, `targets`).
        init(_ row: PostgresRow) throws {
            let decoder = JSONDecoder()
            id = try row.decode("id")
            framework = row["framework"]
            productionBranch = try row.decode("production_branch")
            autoDeployEnabled = try row.decode("auto_deploy")
            deploymentBranchPatterns =
                (try? decoder.decode([String].self, from: Data((row["patterns"] ?? "[]").utf8))) ?? []
            environmentTargets = (try? decoder.decode([String].self, from: Data((row["targets"] ?? "[]").utf8))) ?? []
        }

        public func encode(to encoder: any Encoder) throws {
            enum Keys: String, CodingKey {
                case id, framework, productionBranch, autoDeployEnabled, deploymentBranchPatterns, environmentTargets
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(id.uuidString.lowercased(), forKey: .id)
            try container.encode(framework, forKey: .framework)
            try container.encode(productionBranch, forKey: .productionBranch)
            try container.encode(autoDeployEnabled, forKey: .autoDeployEnabled)
            try container.encode(deploymentBranchPatterns, forKey: .deploymentBranchPatterns)
            try container.encode(environmentTargets, forKey: .environmentTargets)
        }
    }

    /// The settings of `projectID`'s link when it is linked to `vercelProjectID`.
    public func settings(_ projectID: UUID, linkedTo vercelProjectID: String) throws -> Settings? {
        guard
            let row = try database.query(
                """
                SELECT id, framework, production_branch, auto_deploy, array_to_json(deployment_branch_patterns)::text AS patterns,
                       array_to_json(environment_target)::text AS targets
                FROM vercel_project_mappings WHERE project_id = \(projectID) AND vercel_project_id = \(vercelProjectID)
                """
            ).first
        else { return nil }
        return try Settings(row)
    }

    /// Records the production branch as Vercel has it now.
    public func productionBranchRead(_ projectID: UUID, branch: String) throws {
        try database.execute(
            """
            UPDATE vercel_project_mappings SET production_branch = \(branch), production_branch_checked_at = now(), updated_at = now()
            WHERE project_id = \(projectID)
            """)
    }

    /// Changes to a link's settings; nil leaves a setting as it is.
    public struct Changes: Sendable {
        public var productionBranch: String?
        public var branchPatterns: [String]?
        public var environmentTargets: [String]?
        public var autoDeploy: Bool?
        public var framework: String?
        public var buildCommand: String?
        public var installCommand: String?
        public var outputDirectory: String?
        public var rootDirectory: String?
        public var nodeVersion: String?

        public init() {}
    }

    /// A link's settings, build settings included, as the PATCH answers them.
    public struct Detail: Encodable, Sendable {
        public let settings: Settings
        public let buildCommand: String?
        public let installCommand: String?
        public let outputDirectory: String?
        public let rootDirectory: String?
        public let nodeVersion: String?

        public func encode(to encoder: any Encoder) throws {
            try settings.encode(to: encoder)
            enum Keys: String, CodingKey {
                case buildCommand, installCommand, outputDirectory, rootDirectory, nodeVersion
            }
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(buildCommand, forKey: .buildCommand)
            try container.encode(installCommand, forKey: .installCommand)
            try container.encode(outputDirectory, forKey: .outputDirectory)
            try container.encode(rootDirectory, forKey: .rootDirectory)
            try container.encode(nodeVersion, forKey: .nodeVersion)
        }
    }

    /// Applies `changes` to the project's link; its settings after.
    public func update(_ projectID: UUID, _ changes: Changes) throws -> Detail? {
        guard
            let row = try database.query(
                """
                UPDATE vercel_project_mappings SET
                  production_branch = coalesce(\(changes.productionBranch), production_branch),
                  deployment_branch_patterns = coalesce(\(changes.branchPatterns)::text[], deployment_branch_patterns),
                  environment_target = coalesce(\(changes.environmentTargets)::vercel_env_target[], environment_target),
                  auto_deploy = coalesce(\(changes.autoDeploy), auto_deploy),
                  framework = coalesce(\(changes.framework), framework),
                  build_command = coalesce(\(changes.buildCommand), build_command),
                  install_command = coalesce(\(changes.installCommand), install_command),
                  output_directory = coalesce(\(changes.outputDirectory), output_directory),
                  root_directory = coalesce(\(changes.rootDirectory), root_directory),
                  node_version = coalesce(\(changes.nodeVersion), node_version),
                  updated_at = now()
                WHERE project_id = \(projectID)
                RETURNING id, framework, production_branch, auto_deploy, array_to_json(deployment_branch_patterns)::text AS patterns,
                  array_to_json(environment_target)::text AS targets, build_command, install_command, output_directory,
                  root_directory, node_version
                """
            ).first
        else { return nil }
        return Detail(
            settings: try Settings(row),
            buildCommand: row["build_command"], installCommand: row["install_command"],
            outputDirectory: row["output_directory"],
            rootDirectory: row["root_directory"], nodeVersion: row["node_version"])
    }
}
