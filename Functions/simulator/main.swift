import FastCGI
import Foundation
import Logging

// vercel-simulator --socket PATH [--workers N]: a local Vercel (REST API subset, OAuth, webhooks)
// for `scripts/dev up` and the end-to-end tests.

JSONLogHandler.bootstrap()
let logger = Logger(label: "simulator")
var arguments = CommandLine.arguments.dropFirst()
var socket = ListenSocket.inherited
var workers = 4
while let argument = arguments.popFirst() {
    switch argument {
    case "--socket": socket = .path(arguments.popFirst() ?? "")
    case "--workers": workers = Int(arguments.popFirst() ?? "") ?? workers
    default:
        logger.critical("bad arguments", metadata: ["usage": "[--socket PATH] [--workers N]"])
        exit(64)
    }
}

var router = Router<SimulatorState>()
AdminRoutes.add(to: &router)
ProjectRoutes.add(to: &router)
DeploymentRoutes.add(to: &router)
EnvRoutes.add(to: &router)
DomainRoutes.add(to: &router)
PromotionRoutes.add(to: &router)
EventRoutes.add(to: &router)
OAuthRoutes.add(to: &router, settings: .fromEnvironment())
let table = router
let environment = ProcessInfo.processInfo.environment
let sender = WebhookSender(
    defaultURL: environment["SIM_WEBHOOK_URL"].flatMap { $0.isEmpty ? nil : $0 },
    defaultSecret: environment["VERCEL_OAUTH_CLIENT_SECRET"] ?? "simulated-client-secret")
sender.start()
let state = SimulatorState(webhooks: sender)
let server = FastCGIServer(listenFD: try socket.open(), workers: workers, logger: logger)
server.run { HTTPApplication(router: table, context: state, logger: logger) }
exit(server.exitStatus)
