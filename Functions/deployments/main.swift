import Platform

GroupFunction.run(group: "deployments") { router in
    let project = "/v1/projects/:projectId/vercel"
    router.platform("GET", "\(project)/projects", VercelProjects.list)
    router.platform("POST", "\(project)/projects/link", ProjectLinks.link)
    router.platform("POST", "\(project)/projects/unlink", ProjectLinks.unlink)
    router.platform("GET", "\(project)/projects/:vercelProjectId", VercelProjects.get)
    router.planned("POST", "\(project)/deploy")
    router.planned("GET", "\(project)/deployments")
    router.planned("GET", "\(project)/deployments/:deploymentId")
    router.planned("GET", "\(project)/deployments/:deploymentId/logs")
    router.planned("POST", "\(project)/deployments/:deploymentId/promote")
    router.planned("DELETE", "\(project)/deployments/:deploymentId")
    router.planned("POST", "\(project)/rollback")
    router.planned("POST", "\(project)/deployment-override")
    router.planned("GET", "\(project)/auto-deploy/config")
    router.planned("PUT", "\(project)/auto-deploy/config")
    router.planned("GET", "\(project)/auto-deploy/rules")
    router.planned("POST", "\(project)/auto-deploy/rules")
    router.planned("DELETE", "\(project)/auto-deploy/rules/:pattern")
    router.planned("POST", "\(project)/auto-deploy/test")
}
