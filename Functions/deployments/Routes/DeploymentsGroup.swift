import FastCGI
import Platform
import PlatformHost

/// The `deployments` group: Vercel projects, links, deploys, the deployments' watch, promotion,
/// rollback, cancel and override tokens, and auto-deploy from git: the repository, the rules, the
/// approvals and every delivery's decision.
public let group = FunctionGroup(name: "deployments") { router in
    let project = "/v1/projects/:projectId/vercel"
    router.platform("GET", "\(project)/projects", VercelProjects.list)
    router.platform("POST", "\(project)/projects/link", input: ProjectLinks.LinkInput.self, ProjectLinks.link)
    router.platform("PATCH", "\(project)/projects/link", input: LinkSettings.Input.self, LinkSettings.update)
    router.platform("POST", "\(project)/projects/unlink", ProjectLinks.unlink)
    router.platform("GET", "\(project)/projects/:vercelProjectId", VercelProjects.get)
    router.platform("POST", "\(project)/deploy", input: Deploy.Input.self, Deploy.deploy)
    router.platform("GET", "\(project)/deployments", reach: .local, DeploymentWatch.list)
    router.platform("GET", "\(project)/deployments/:deploymentId", DeploymentWatch.get)
    // A burst of readers subscribing waits in a line of its own, not in front of the project's
    // other requests.
    router.platform(
        "GET", "\(project)/deployments/:deploymentId/logs", line: UpstreamLine.subscriptions, BuildLogs.authorize)
    router.platform(
        "GET", "\(project)/deployments/:deploymentId/runtime-logs", line: UpstreamLine.subscriptions,
        RuntimeLogs.authorize)
    router.platform("GET", "\(project)/deployments/:deploymentId/runtime-errors", RuntimeLogs.errors)
    router.platform(
        "POST", "\(project)/deployments/:deploymentId/promote", input: Promotion.PromoteInput.self, Promotion.promote)
    router.platform("DELETE", "\(project)/deployments/:deploymentId", Cancel.cancel)
    router.platform("POST", "\(project)/deployments/:deploymentId/checks/rerun", DeploymentCheckRerun.rerun)
    router.platform("POST", "\(project)/rollback", input: Promotion.RollbackInput.self, Promotion.rollback)
    router.platform(
        "POST", "\(project)/deployment-override", input: DeploymentOverrides.Input.self, DeploymentOverrides.issue)
    router.platform("GET", "\(project)/auto-deploy/config", reach: .local, AutoDeploy.getConfig)
    router.platform(
        "PUT", "\(project)/auto-deploy/config", input: AutoDeploy.ConfigInput.self, reach: .local, AutoDeploy.putConfig)
    router.platform("GET", "\(project)/auto-deploy/rules", reach: .local, AutoDeploy.listRules)
    router.platform(
        "POST", "\(project)/auto-deploy/rules", input: AutoDeploy.RuleInput.self, reach: .local, AutoDeploy.addRule)
    router.platform("DELETE", "\(project)/auto-deploy/rules/:pattern", reach: .local, AutoDeploy.removeRule)
    router.platform(
        "POST", "\(project)/auto-deploy/test", input: AutoDeploy.TestInput.self, reach: .local, AutoDeploy.test)
    router.platform("GET", "\(project)/auto-deploy/approvals", reach: .local, AutoDeployApprovals.list)
    router.platform("POST", "\(project)/auto-deploy/approvals/:approvalId/approve", AutoDeployApprovals.approve)
    router.platform(
        "POST", "\(project)/auto-deploy/approvals/:approvalId/deny", reach: .local, AutoDeployApprovals.deny)
    router.platform("GET", "\(project)/auto-deploy/events", reach: .local, AutoDeployEvents.list)
    router.platform("GET", "\(project)/checks", reach: .local, SmokeChecks.get)
    router.platform("PUT", "\(project)/checks", input: SmokeChecks.Input.self, reach: .local, SmokeChecks.put)
    router.platform("PUT", "\(project)/git", input: GitRepository.Input.self, GitRepository.put)
    router.platform("GET", "\(project)/git", reach: .local, GitRepository.get)
    router.platform("DELETE", "\(project)/git", reach: .local, GitRepository.delete)
}

extension PlatformCall {
    /// The `limit` query parameter: 1 to 100, 20 when absent.
    func limit() throws -> Int {
        try limit(in: 1...100, otherwise: 20)
    }

    /// The `:deploymentId` of a deployment route.
    func deploymentID() throws -> String {
        guard let id = parameter("deploymentId"), (1...255).contains(id.utf8.count) else {
            throw DeploymentsError.invalidDeploymentID
        }
        return id
    }
}

/// `{"next": cursor or null}`: where a list's next page starts, null on the last page.
struct Pagination<Cursor: Encodable>: Encodable {
    let next: Cursor?

    private enum CodingKeys: String, CodingKey { case next }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(next, forKey: .next)
    }
}
