import Logging
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension DeployService {
    /// The production branch the guardrail compares with: Vercel's current one, read again once the
    /// stored one is older than `SHEEN_PRODUCTION_BRANCH_TTL_SECONDS`, so a branch renamed in Vercel
    /// blocks nothing for longer than that. When Vercel cannot say now, the stored one stands.
    public func productionBranch(
        of project: LinkedProject, _ credentials: VercelClient.Credentials, logger: Logger
    ) -> String {
        let ttl = Double(services.configuration.deployments.productionBranchTTL.components.seconds)
        if let checked = project.productionBranchCheckedAt, Date().timeIntervalSince(checked) < ttl {
            return project.productionBranch
        }
        do {
            let current = try services.vercel.project(project.vercelProjectID, credentials)
            guard let branch = current.link?.productionBranch, GitRef.isValidBranch(branch) else {
                return project.productionBranch
            }
            try services.projectLinks.productionBranchRead(project.projectID, branch: branch)
            return branch
        } catch {
            logger.warning(
                "production branch not read from Vercel; the stored one stands", metadata: ["error.detail": "\(error)"])
            return project.productionBranch
        }
    }
}
