import FastCGI
import Kernel
import Platform
import PlatformHost
import Vercel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `POST …/env/sync`: the input checked, then `EnvSyncService` (the plan, the dry run and its
/// confirmation, the apply), its outcome answered or refused.
enum EnvSync {
    struct Input: Decodable, Sendable {
        let direction: String
        let target: String
        let gitBranch: String?
        let dryRun: Bool?
        let includePatterns: [String]?
        let excludePatterns: [String]?
        let propagateDeletes: Bool?
        let adopt: Bool?
        let resolutions: [String: String]?
        let confirmationToken: String?
    }

    @Sendable static func sync(_ call: PlatformCall<Input>, _ context: WorkerServices) throws -> Response {
        let link = try call.linkedProject()
        let input = call.input
        guard let direction = EnvPlan.Direction(rawValue: input.direction) else { throw EnvError.invalidDirection }
        guard EnvRules.targets.contains(input.target) else { throw EnvError.invalidTargets }
        if let branch = input.gitBranch {
            guard EnvRules.isValidGitBranch(branch), input.target == "preview" else { throw EnvError.invalidGitBranch }
        }
        for (name, patterns) in [
            ("includePatterns", input.includePatterns), ("excludePatterns", input.excludePatterns),
        ] {
            if let reason = Glob.refusal(list: patterns ?? [], negatable: false) {
                throw EnvError.invalidPatterns("\(name): \(reason)")
            }
        }
        let include = (input.includePatterns ?? []).map(Glob.init)
        let exclude = (input.excludePatterns ?? []).map(Glob.init)
        var resolutions: [String: EnvPlan.Resolution] = [:]
        guard (input.resolutions ?? [:]).count <= 1000 else { throw EnvError.invalidResolutions }
        for (key, side) in input.resolutions ?? [:] {
            guard let resolution = EnvPlan.Resolution(rawValue: side), key.utf8.count <= 256 else {
                throw EnvError.invalidResolutions
            }
            resolutions[key] = resolution
        }
        let options = EnvPlan.Options(
            direction: direction, propagateDeletes: input.propagateDeletes ?? false, adopt: input.adopt ?? false,
            resolutions: resolutions)
        let dryRun = input.dryRun ?? false
        let credentials = try context.vercelCredentials(
            for: call, connection: link.connectionID, requiring: dryRun ? .readEnv : .writeEnv)
        let request = EnvSyncRequest(
            projectID: call.projectID, userID: call.caller.userID, link: link, direction: direction,
            target: input.target, gitBranch: input.gitBranch, include: include, exclude: exclude, options: options,
            dryRun: dryRun, confirmationToken: input.confirmationToken)
        switch try context.envSync.sync(request, credentials: credentials) {
        case .answered(let answer): return .json(answer)
        case .busy: throw EnvError.syncInProgress
        case .confirmationInvalid: throw EnvError.confirmationInvalid
        case .planStale(let answer): throw EnvError.planStale(answer)
        case .confirmationRequired(let answer): throw EnvError.confirmationRequired(answer)
        }
    }
}
