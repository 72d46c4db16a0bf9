import FastCGI
import Platform
import PlatformHost
import Vercel

/// `PATCH /v1/projects/:projectId/vercel/projects/link`: the link's settings after linking. Branch
/// patterns, environment targets and auto-deploy are this service's; the build settings
/// (`framework`, `buildCommand`, `installCommand`, `outputDirectory`, `rootDirectory`,
/// `nodeVersion`) are written to the Vercel project first, then recorded. The production branch is
/// Vercel's (its API has no call to change it): it is taken as given for a project without a git
/// connection, and for a connected one it must be what Vercel has (change it in Vercel, where the
/// guardrail reads it from).
enum LinkSettings {
    struct Input: Decodable {
        let productionBranch: String?
        let deploymentBranchPatterns: [String]?
        let environmentTargets: [String]?
        let autoDeployEnabled: Bool?
        let framework: String?
        let buildCommand: String?
        let installCommand: String?
        let outputDirectory: String?
        let rootDirectory: String?
        let nodeVersion: String?

        var changesBuildSettings: Bool {
            [framework, buildCommand, installCommand, outputDirectory, rootDirectory, nodeVersion].contains {
                $0 != nil
            }
        }

        func validate() throws {
            if let branch = productionBranch, !GitRef.isValidBranch(branch) {
                throw DeploymentsError.invalidProductionBranch
            }
            if let patterns = deploymentBranchPatterns { try AutoDeploy.validate(patterns: patterns) }
            if let targets = environmentTargets {
                guard !targets.isEmpty, Set(targets).isSubset(of: ["production", "preview", "development"]) else {
                    throw DeploymentsError.invalidEnvironmentTargets
                }
            }
            if let framework, !VercelIdentifier.isValid(framework, maxLength: 64) {
                throw DeploymentsError.invalidFramework
            }
            for (name, command) in [("buildCommand", buildCommand), ("installCommand", installCommand)] {
                guard let command else { continue }
                guard command.utf8.count <= 256, command.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7f }) else {
                    throw DeploymentsError.invalidBuildSetting(name)
                }
            }
            for (name, directory) in [("outputDirectory", outputDirectory), ("rootDirectory", rootDirectory)] {
                guard let directory else { continue }
                guard directory.utf8.count <= 255, !directory.hasPrefix("/"),
                    !directory.split(separator: "/").contains(".."),
                    directory.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7f && $0 != UInt8(ascii: "\\") })
                else { throw DeploymentsError.invalidBuildSetting(name) }
            }
            if let version = nodeVersion, !["18.x", "20.x", "22.x"].contains(version) {
                throw DeploymentsError.invalidBuildSetting("nodeVersion")
            }
        }
    }

    struct Updated: Encodable {
        let mapping: ProjectLinkStore.Detail
    }

    private struct AuditDetails: Encodable {
        let changed: [String]
    }

    @Sendable static func update(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        let input = call.input
        try input.validate()
        let link = try call.linkedProject()
        var changes = ProjectLinkStore.Changes()
        changes.branchPatterns = input.deploymentBranchPatterns
        changes.environmentTargets = input.environmentTargets
        changes.autoDeploy = input.autoDeployEnabled
        if input.changesBuildSettings || input.productionBranch != nil {
            let credentials = try context.vercelCredentials(
                for: call, connection: link.connectionID,
                requiring: input.changesBuildSettings ? .writeProject : .readProject)
            let project =
                input.changesBuildSettings
                ? try context.vercel.updateProject(
                    link.vercelProjectID,
                    VercelProjectSettings(
                        framework: input.framework, buildCommand: input.buildCommand,
                        outputDirectory: input.outputDirectory,
                        installCommand: input.installCommand, rootDirectory: input.rootDirectory,
                        nodeVersion: input.nodeVersion),
                    credentials)
                : try context.vercel.project(link.vercelProjectID, credentials)
            if let wanted = input.productionBranch {
                if let vercels = project.link?.productionBranch, vercels != wanted {
                    throw DeploymentsError.productionBranchIsVercels(current: vercels)
                }
                changes.productionBranch = wanted
            }
            // What Vercel kept of each setting asked for (it may normalize one).
            func kept(_ asked: String?, _ reported: String?) -> String? { asked == nil ? nil : reported ?? asked }
            changes.framework = kept(input.framework, project.framework)
            changes.buildCommand = kept(input.buildCommand, project.buildCommand)
            changes.installCommand = kept(input.installCommand, project.installCommand)
            changes.outputDirectory = kept(input.outputDirectory, project.outputDirectory)
            changes.rootDirectory = kept(input.rootDirectory, project.rootDirectory)
            changes.nodeVersion = kept(input.nodeVersion, project.nodeVersion)
        }
        guard let detail = try context.projectLinks.update(call.projectID, changes) else {
            throw PlatformError.projectNotLinked
        }
        let changed = [
            ("productionBranch", input.productionBranch != nil),
            ("deploymentBranchPatterns", input.deploymentBranchPatterns != nil),
            ("environmentTargets", input.environmentTargets != nil),
            ("autoDeployEnabled", input.autoDeployEnabled != nil),
            ("framework", input.framework != nil), ("buildCommand", input.buildCommand != nil),
            ("installCommand", input.installCommand != nil), ("outputDirectory", input.outputDirectory != nil),
            ("rootDirectory", input.rootDirectory != nil), ("nodeVersion", input.nodeVersion != nil),
        ].filter(\.1).map(\.0)
        try context.audit.record(
            .vercelProjectSettingsChanged, severity: .low, actor: call.caller.userID, project: call.projectID,
            details: AuditDetails(changed: changed))
        return .json(Updated(mapping: detail))
    }
}
