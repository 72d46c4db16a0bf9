import FastCGI
import Foundation
import Kernel
import Logging

// fastcgi-hello --socket PATH [--workers N]: the Swift host answering a tiny JSON through the same
// pipeline as every group (router, error mapping, crash guard, request id), for
// scripts/bench fastcgi to compare with a plain C libfcgi server.

JSONLogHandler.bootstrap(level: .info)
let logger = Logger(label: "hello")
var arguments = CommandLine.arguments.dropFirst()
var socketPath = "/tmp/fastcgi-hello.sock"
var workers = 4
while let argument = arguments.popFirst() {
    switch argument {
    case "--socket": socketPath = arguments.popFirst() ?? socketPath
    case "--workers": workers = Int(arguments.popFirst() ?? "") ?? workers
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
let fd = try ListenSocket.path(socketPath).open()
let server = FastCGIServer(listenFD: fd, workers: workers, logger: logger)
server.run { _ in HTTPApplication(router: table, context: (), logger: logger) }
exit(server.exitStatus)
