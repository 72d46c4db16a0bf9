import Platform

GroupFunction.run(group: "deployments") { router in
    let project = "/v1/projects/:projectId/vercel"
    router.platform("GET", "\(project)/projects", VercelProjects.list)
    router.platform("POST", "\(project)/projects/link", ProjectLinks.link)
    router.platform("POST", "\(project)/projects/unlink", ProjectLinks.unlink)
    router.platform("GET", "\(project)/projects/:vercelProjectId", VercelProjects.get)
    router.platform("POST", "\(project)/deploy", Deploy.deploy)
    router.platform("GET", "\(project)/deployments", DeploymentWatch.list)
    router.platform("GET", "\(project)/deployments/:deploymentId", DeploymentWatch.get)
    router.platform("GET", "\(project)/deployments/:deploymentId/logs", BuildLogs.stream)
    router.platform("POST", "\(project)/deployments/:deploymentId/promote", Promotion.promote)
    router.platform("DELETE", "\(project)/deployments/:deploymentId", Cancel.cancel)
    router.platform("POST", "\(project)/rollback", Promotion.rollback)
    router.platform("POST", "\(project)/deployment-override", DeploymentOverrides.issue)
    router.planned("GET", "\(project)/auto-deploy/config")
    router.planned("PUT", "\(project)/auto-deploy/config")
    router.planned("GET", "\(project)/auto-deploy/rules")
    router.planned("POST", "\(project)/auto-deploy/rules")
    router.planned("DELETE", "\(project)/auto-deploy/rules/:pattern")
    router.planned("POST", "\(project)/auto-deploy/test")
}
