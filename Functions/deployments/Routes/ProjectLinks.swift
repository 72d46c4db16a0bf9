import FastCGI
import Platform
import PlatformHost
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST /v1/projects/:projectId/vercel/projects/link` and `.../unlink`: a platform project linked
/// to one Vercel project (an existing one, or one created with the framework and build settings
/// detected from the project's files), with its branch patterns and environment targets.
enum ProjectLinks {
    struct LinkInput: Decodable {
        let vercelProjectId: String?
        let createProject: NewProject?
        let framework: String?
        let autoDeployEnabled: Bool?
        let deploymentBranchPatterns: [String]?
        let environmentTargets: [String]?

        struct NewProject: Decodable {
            let name: String
            let framework: String?
        }
    }

    struct Linked: Encodable {
        let linked: Bool
        let mappingId: String
        let webhookUrl: String
        let vercelProjectId: String
        let framework: String?
    }

    private struct AuditDetails: Encodable {
        let vercelProjectId: String
    }

    @Sendable static func link(_ call: PlatformCall<LinkInput>, _ context: WorkerServices) throws -> Response {
        let input = call.input
        guard (input.vercelProjectId == nil) != (input.createProject == nil) else { throw DeploymentsError.invalidLink }
        if let id = input.vercelProjectId, !VercelIdentifier.isValid(id) {
            throw DeploymentsError.invalidVercelProjectID
        }
        if let name = input.createProject?.name, !VercelIdentifier.isValidProjectName(name) {
            throw DeploymentsError.invalidProjectName
        }
        for framework in [input.framework, input.createProject?.framework].compactMap({ $0 }) {
            guard VercelIdentifier.isValid(framework, maxLength: 64) else { throw DeploymentsError.invalidFramework }
        }
        let patterns = input.deploymentBranchPatterns ?? []
        try AutoDeploy.validate(patterns: patterns)
        let targets = input.environmentTargets ?? ["production", "preview"]
        guard !targets.isEmpty, Set(targets).isSubset(of: ["production", "preview", "development"]) else {
            throw DeploymentsError.invalidEnvironmentTargets
        }
        guard call.project?.link == nil else { throw DeploymentsError.projectAlreadyLinked }

        let detected = context.configuration.deployments.projectsRoot.map { root in
            FrameworkDetection.detect(
                in: URL(fileURLWithPath: root).appendingPathComponent(call.projectID.uuidString.lowercased()))
        }
        let framework = input.framework ?? input.createProject?.framework ?? detected?.framework
        let credentials = try context.vercelCredentials(
            for: call, requiring: input.createProject == nil ? .readProject : .writeProject)
        let project: VercelProject
        if let new = input.createProject {
            project = try context.vercel.createProject(
                VercelProjectSettings(
                    name: new.name, framework: framework, buildCommand: detected?.buildCommand,
                    outputDirectory: detected?.outputDirectory,
                    installCommand: detected?.installCommand, devCommand: detected?.devCommand),
                credentials)
        } else {
            project = try context.vercel.project(
                input.vercelProjectId ?? "", credentials)
        }
        let mapping: UUID
        do {
            mapping = try context.projectLinks.insert(
                .init(
                    projectID: call.projectID, connectionID: credentials.connectionID!, vercelProjectID: project.id,
                    vercelProjectName: project.name, framework: framework ?? project.framework,
                    nodeVersion: project.nodeVersion,
                    buildCommand: project.buildCommand ?? detected?.buildCommand,
                    outputDirectory: project.outputDirectory ?? detected?.outputDirectory,
                    installCommand: project.installCommand ?? detected?.installCommand,
                    devCommand: project.devCommand ?? detected?.devCommand,
                    rootDirectory: project.rootDirectory, productionBranch: project.link?.productionBranch ?? "main",
                    repository: project.link.map(LinkedProject.Repository.init),
                    environmentTargets: targets, autoDeploy: input.autoDeployEnabled ?? true, branchPatterns: patterns))
        } catch ProjectLinkStore.Conflict.vercelProjectTaken {
            throw DeploymentsError.vercelProjectAlreadyLinked
        }
        try context.audit.record(
            .vercelProjectLinked, severity: .low, actor: call.caller.userID, project: call.projectID,
            details: AuditDetails(vercelProjectId: project.id))
        return .json(
            Linked(
                linked: true, mappingId: mapping.uuidString.lowercased(),
                webhookUrl: context.configuration.deployments.baseURL + "/v1/webhooks/vercel",
                vercelProjectId: project.id,
                framework: framework ?? project.framework))
    }

    struct Unlinked: Encodable {
        let unlinked: Bool
    }

    @Sendable static func unlink(_ call: PlatformCall<NoInput>, _ context: WorkerServices) throws -> Response {
        // Waits for the deployments being made for this link to be recorded; none starts after.
        let removed = try context.projectLinks.unlink(call.projectID)
        guard let vercelProjectID = removed else { throw PlatformError.projectNotLinked }
        try context.audit.record(
            .vercelProjectUnlinked, severity: .low, actor: call.caller.userID, project: call.projectID,
            details: AuditDetails(vercelProjectId: vercelProjectID))
        return .json(Unlinked(unlinked: true))
    }
}
