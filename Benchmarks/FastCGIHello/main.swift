import FastCGI
import Foundation
import Kernel
import Logging

// fastcgi-hello --socket PATH [--workers N] [--bare]: the Swift host answering a tiny JSON through the
// same pipeline as every group (router, error mapping, crash guard, request id), for
// scripts/bench fastcgi to compare with a plain C libfcgi server. With --bare, the host's accept loop
// and libfcgi only: each worker writes the same answer straight to its exchange, no application
// (no routing, request, headers, request id, log line or metrics), so the benchmark can tell what
// the loop costs from what the application costs.

JSONLogHandler.bootstrap(level: .info)
let logger = Logger(label: "hello")
var arguments = CommandLine.arguments.dropFirst()
var socketPath = "/tmp/fastcgi-hello.sock"
var workers = 4
var bare = false
while let argument = arguments.popFirst() {
    switch argument {
    case "--socket": socketPath = arguments.popFirst() ?? socketPath
    case "--workers": workers = Int(arguments.popFirst() ?? "") ?? workers
    case "--bare": bare = true
    default: break
    }
}

// The body is made once, as the C server's is: the benchmark measures the host, not an encoder.
let hello = JSONValue.object(["hello": "world"]).serialized()
var router = Router<Void>()
router.add("GET", "/hello") { _, _ in
    Response(status: 200, headers: [("Content-Type", "application/json")], body: .bytes(hello))
}
let table = router
let bareOnly = bare
let fd = try ListenSocket.path(socketPath).open()
let server = FastCGIServer(listenFD: fd, workers: workers, logger: logger)
/// The same answer written straight to the exchange.
final class BareHello: ExchangeHandler {
    func handle(_ exchange: FastCGIExchange) {
        exchange.writeHead(status: 200, headers: [("Content-Type", "application/json")])
        exchange.writeBody(hello)
    }
    func placement(of exchange: FastCGIExchange) -> Placement { .local }
    func refuseBusy(_ exchange: FastCGIExchange) { handle(exchange) }
}
server.run { _ -> any ExchangeHandler in
    bareOnly ? BareHello() : HTTPApplication(router: table, context: (), logger: logger)
}
exit(server.exitStatus)
