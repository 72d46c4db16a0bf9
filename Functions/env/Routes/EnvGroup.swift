import FastCGI
import Platform
import PlatformHost

/// The `env` group: the platform's environment variables and Vercel's, kept in step.
public let group = FunctionGroup(name: "env") { router in
    let env = "/v1/projects/:projectId/vercel/env"
    router.platform("GET", env, EnvVariables.list)
    router.platform("POST", "\(env)/sync", input: EnvSync.Input.self, EnvSync.sync)
    router.platform("PUT", "\(env)/:key", input: EnvVariables.SetInput.self, bodyLimit: 160 * 1024, EnvVariables.set)
    router.platform("DELETE", "\(env)/:key", EnvVariables.delete)
}
