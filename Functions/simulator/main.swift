import FastCGI
import Foundation
import Kernel
import Logging
import Settings

// vercel-simulator --socket PATH [--workers N]: a local Vercel (REST API subset, OAuth, webhooks)
// for `scripts/dev up` and the end-to-end tests.

JSONLogHandler.bootstrap(level: (try? LogLevel.parse()) ?? .info)
let logger = Logger(label: "simulator")
Release.answerVersion(program: "vercel-simulator")
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
CheckRoutes.add(to: &router)
SiteRoutes.add(to: &router)
RuntimeLogRoutes.add(to: &router)
EventRoutes.add(to: &router)
GitHostRoutes.add(to: &router)
let configuration = SimulatorConfiguration.fromEnvironment()
OAuthRoutes.add(to: &router, settings: .init(configuration))
let table = router
let sender = WebhookSender(defaultURL: configuration.webhookURL, defaultSecret: configuration.clientSecret)
sender.start()
let state = SimulatorState(webhooks: sender)
let server = FastCGIServer(listenFD: try socket.open(), workers: workers, logger: logger)
server.run { _ in HTTPApplication(router: table, context: state, logger: logger) }
// `_exit`: see GroupServer.run; no exit-time destructors under live threads.
_exit(server.exitStatus)
