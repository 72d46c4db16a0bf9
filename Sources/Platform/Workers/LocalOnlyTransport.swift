import Kernel
import Vercel

/// The transport of a worker that serves only routes declared `Reach.local`. Such a route promised
/// never to wait on Vercel, so that a slow Vercel cannot stall it; calling Vercel anyway is a bug in
/// its declaration, which this makes loud: the thread traps, the crash guard answers 500 and
/// replaces the worker, and the log names the fix.
final class LocalOnlyTransport: HTTPTransport {
    func send(_ request: HTTPRequest) throws(HTTPTransportError) -> HTTPResponse {
        preconditionFailure("a route declared Reach.local called Vercel; declare it .upstream")
    }

    func stream(
        _ request: HTTPRequest, onData: ([UInt8]) -> Bool, onTick: () -> Bool
    ) throws(HTTPTransportError) -> HTTPResponse {
        preconditionFailure("a route declared Reach.local called Vercel; declare it .upstream")
    }
}
