import FastCGI
import Logging
import Platform
import Synchronization
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET /v1/projects/:projectId/vercel/deployments/:deploymentId/logs`: the deployment's build
/// events as `text/event-stream`, in Vercel's order, each with its place in the stream as `id` (a
/// client that reconnects with `Last-Event-ID` gets only what it missed), and a last `end` event
/// with the state once the deployment is READY, ERROR or CANCELED.
///
/// A stream holds a worker thread for as long as the build runs, so a process serves only a few
/// at once (`SHEEN_MAX_LOG_STREAMS`, default 2); past that the answer is 503 with `Retry-After`.
/// A quiet stream gets a comment every `SHEEN_LOG_HEARTBEAT_SECONDS` (default 15), which keeps
/// proxies from closing it and frees the thread soon after its reader has gone.
enum BuildLogs {
    static let openStreams = Mutex(0)

    @Sendable static func stream(_ call: PlatformCall<NoInput>, _ context: RequestContext) throws -> Response {
        let project = try call.linkedProject()
        guard
            let deployment = try context.deployments(logger: call.logger).find(
                try call.deploymentID(), projectID: call.projectID)
        else {
            throw DeploymentsError.deploymentNotFound
        }
        let credentials = try context.vercelCredentials(
            for: call, connection: project.connectionID, requiring: "deployment:read")
        let resumeAfter = call.request.headers["last-event-id"].flatMap(Int.init) ?? 0
        let settings = context.configuration.deployments
        let configuration = VercelClient.Configuration(apiBaseURL: context.configuration.vercel.apiBaseURL)
        let admitted = openStreams.withLock { open in
            guard open < settings.maxLogStreams else { return false }
            open += 1
            return true
        }
        guard admitted else { throw DeploymentsError.tooManyLogStreams }
        let heartbeat = settings.logHeartbeat
        let makeTransport = context.makeTransport
        let accessToken = credentials.accessToken
        let teamID = credentials.teamID
        let deploymentID = deployment.deploymentID
        let logger = call.logger
        return .eventStream { stream in
            defer { openStreams.withLock { $0 -= 1 } }
            // The stream outlives the handler: it gets a client of its own, without the thread's
            // database (no breaker, no refresh; the token was made fresh just now).
            let client = VercelClient(
                configuration: configuration, transport: makeTransport(), breakers: nil, logger: logger)
            let credentials = VercelClient.Credentials(accessToken: accessToken, teamID: teamID, logger: logger)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var sequence = 0
            var finalState: String?
            var sendFailure: (any Error)?
            var lastSent = ContinuousClock.now
            let keepAlive = { () -> Bool in
                guard ContinuousClock.now - lastSent >= heartbeat else { return true }
                do {
                    try stream.sendHeartbeat()
                    lastSent = ContinuousClock.now
                    return true
                } catch {
                    sendFailure = error
                    return false
                }
            }
            do {
                try client.buildEvents(
                    deploymentID: deploymentID, follow: true, credentials,
                    onTick: keepAlive
                ) { event in
                    sequence += 1
                    if sequence > resumeAfter {
                        do {
                            let data = String(decoding: try encoder.encode(event), as: UTF8.self)
                            try stream.sendEvent(data, event: event.type, id: "\(sequence)")
                            lastSent = ContinuousClock.now
                        } catch {
                            sendFailure = error
                            return false
                        }
                    }
                    if event.type == "deployment-state", let state = event.payload.readyState,
                        ["READY", "ERROR", "CANCELED"].contains(state)
                    {
                        finalState = state
                        return false
                    }
                    return true
                }
            } catch let error as VercelError {
                if let sendFailure { throw sendFailure }
                logger.warning(
                    "build event stream failed",
                    metadata: ["error.code": "\(error.code)", "deployment.id": "\(deploymentID)"])
                try stream.sendEvent(
                    JSONValue.object(["code": .string(error.code), "error": .string(error.message)]).serializedText,
                    event: "error")
                return
            } catch {
                throw error
            }
            if let sendFailure { throw sendFailure }
            if finalState == nil {
                finalState = try? client.deployment(deploymentID, credentials).readyState
            }
            try stream.sendEvent(
                JSONValue.object(["state": finalState.map { .string($0) } ?? .null]).serializedText, event: "end")
        }
    }
}
