import Kernel
import Postgres

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET …/optimization/recommendations`: rules over the project's builds, each with the figures
/// and deployments it rests on and the gain it expects. No rule guesses: a rule without enough
/// data says nothing, and a rule the service has no data for is listed as not evaluated.
public enum BuildRecommendations {
    struct Recommendation: Encodable {
        let rule: String
        let title: String
        let evidence: [String: JSONValue]
        let expectedGain: String
    }

    struct NotEvaluated: Encodable {
        let rule: String
        let reason: String
    }

    public struct Answer: Encodable, Sendable {
        let recommendations: [Recommendation]
        let notEvaluated: [NotEvaluated]
    }

    /// Node.js release lines past their end of life, with the date (nodejs.org's schedule).
    static let nodeEndOfLife = [
        "12.x": "2022-04-30", "14.x": "2023-04-30", "16.x": "2023-09-11", "18.x": "2025-04-30",
    ]

    /// The rules over `project`'s builds; `linked` when it is linked to a Vercel project (whose
    /// Node.js version is then known).
    static func answer(_ project: UUID, linked: Bool, _ database: PostgresConnection) throws -> Answer {
        var found: [Recommendation] = []
        if let regression = try regression(project, database) { found.append(regression) }
        found += try failureClusters(project, database)
        if let cache = try cacheBypass(project, database) { found.append(cache) }
        if linked, let node = try nodeVersion(project, database), let eol = nodeEndOfLife[node] {
            found.append(
                Recommendation(
                    rule: "node_end_of_life", title: "Node.js \(node) is past its end of life",
                    evidence: ["nodeVersion": .string(node), "endOfLife": .string(eol)],
                    expectedGain:
                        "security fixes again, and builds that keep working when Vercel stops building \(node)"))
        }
        var notEvaluated: [NotEvaluated] = []
        switch try unneededUploads(project, database) {
        case .some(.some(let recommendation)): found.append(recommendation)
        case .some(.none): break
        case .none:
            notEvaluated.append(
                NotEvaluated(
                    rule: "unneeded_uploads",
                    reason: "no deployment from the platform's files in 30 days: deployments from git upload nothing"))
        }
        return Answer(recommendations: found, notEvaluated: notEvaluated)
    }

    /// A lasting rise of the READY builds' time, by change-point detection over the last 200.
    static func regression(_ project: UUID, _ database: PostgresConnection) throws -> Recommendation? {
        let rows = try database.query(
            """
            SELECT deployment_id, build_duration_ms FROM (
              SELECT deployment_id, build_duration_ms, recorded_at, id FROM vercel_build_metrics
              WHERE project_id = \(project) AND outcome = 'READY' AND build_duration_ms IS NOT NULL
              ORDER BY recorded_at DESC, id DESC LIMIT 200) b
            ORDER BY recorded_at, id
            """)
        let series = try rows.map { Double(try $0.decode("build_duration_ms", as: Int.self)) }
        guard let change = ChangePoint.detect(series, permutations: 99), change.medianAfter > change.medianBefore * 1.1
        else {
            return nil
        }
        let lastBefore: String = try rows[change.index - 1].decode("deployment_id")
        let firstAfter: String = try rows[change.index].decode("deployment_id")
        // The two commits around the change, read only now (each through its partition key).
        var commits: [String: String] = [:]
        for row in try database.query(
            """
            SELECT v.deployment_id, v.git_source->>'commitSha' AS sha
            FROM vercel_deployment_keys k
            JOIN vercel_deployments v ON v.deployment_id = k.deployment_id AND v.created_at = k.created_at
            WHERE k.deployment_id IN (\(lastBefore), \(firstAfter))
            """)
        {
            if let sha = row["sha"] { commits[try row.decode("deployment_id")] = sha }
        }
        let gain = Int(change.medianAfter - change.medianBefore)
        return Recommendation(
            rule: "build_time_regression",
            title: "Builds became slower from one deployment on, and stayed slower",
            evidence: [
                "medianBeforeMs": .integer(Int(change.medianBefore)),
                "medianAfterMs": .integer(Int(change.medianAfter)),
                "buildsBefore": .integer(change.index), "buildsAfter": .integer(series.count - change.index),
                "pValue": .number(change.pValue),
                "lastDeploymentBefore": .string(lastBefore), "firstDeploymentAfter": .string(firstAfter),
                "commitRange": .object([
                    "from": commits[lastBefore].map { .string($0) } ?? .null,
                    "to": commits[firstAfter].map { .string($0) } ?? .null,
                ]),
                "method": "E-divisive means, permutation test (99 shuffles)",
            ],
            expectedGain: "about \(gain) ms per build if what changed between those commits is undone")
    }

    /// The same error at the same step, three times or more in 30 days.
    static func failureClusters(_ project: UUID, _ database: PostgresConnection) throws -> [Recommendation] {
        try database.query(
            """
            SELECT error_code, error_step, count(*) AS n, min(recorded_at) AS first_seen, max(recorded_at) AS last_seen,
                   array_to_json((array_agg(deployment_id ORDER BY recorded_at DESC))[1:10])::text AS deployments,
                   coalesce(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY build_duration_ms))::int, 0) AS wasted_ms
            FROM vercel_build_metrics
            WHERE project_id = \(project) AND outcome = 'ERROR' AND recorded_at > now() - interval '30 days'
            GROUP BY error_code, error_step HAVING count(*) >= 3 ORDER BY n DESC LIMIT 5
            """
        ).map { row in
            let code: String = try row.decodeIfPresent("error_code") ?? "unknown"
            let step: String = try row.decodeIfPresent("error_step") ?? "unknown"
            let count: Int = try row.decode("n")
            let deployments = try JSONDecoder().decode(
                [String].self, from: Data(try row.decode("deployments", as: String.self).utf8))
            return Recommendation(
                rule: "repeated_failure", title: "\(count) builds failed with \(code) at \(step) in 30 days",
                evidence: [
                    "errorCode": .string(code), "errorStep": .string(step), "count": .integer(count),
                    "firstSeen": .string(ISO8601.format(try row.decode("first_seen", as: Date.self))),
                    "lastSeen": .string(ISO8601.format(try row.decode("last_seen", as: Date.self))),
                    "deployments": .array(deployments.map { .string($0) }),
                ],
                expectedGain:
                    "\(count) failed builds a month (about \(try row.decode("wasted_ms", as: Int.self)) ms of build time each) once the cause is fixed"
            )
        }
    }

    /// Most READY builds in 30 days missed the build cache.
    static func cacheBypass(_ project: UUID, _ database: PostgresConnection) throws -> Recommendation? {
        let row = try database.query(
            """
            SELECT count(*) AS known, count(*) FILTER (WHERE NOT cache_hit) AS misses,
                   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY build_duration_ms) FILTER (WHERE NOT cache_hit))::int AS miss_ms,
                   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY build_duration_ms) FILTER (WHERE cache_hit))::int AS hit_ms
            FROM vercel_build_metrics
            WHERE project_id = \(project) AND outcome = 'READY' AND cache_hit IS NOT NULL
              AND recorded_at > now() - interval '30 days'
            """)[0]
        let known: Int = try row.decode("known")
        let misses: Int = try row.decode("misses")
        guard known >= 5, misses * 2 >= known else { return nil }
        let missMs: Int? = try row.decodeIfPresent("miss_ms")
        let hitMs: Int? = try row.decodeIfPresent("hit_ms")
        var evidence: [String: JSONValue] = ["builds": .integer(known), "cacheMisses": .integer(misses)]
        if let missMs { evidence["medianMissMs"] = .integer(missMs) }
        if let hitMs { evidence["medianHitMs"] = .integer(hitMs) }
        return Recommendation(
            rule: "build_cache_bypassed", title: "\(misses) of \(known) builds in 30 days did not use the build cache",
            evidence: evidence,
            expectedGain: missMs.flatMap { miss in hitMs.map { "about \(miss - $0) ms per build that uses the cache" } }
                ?? "the cache's saving on each build (no cached build to compare with yet)")
    }

    /// The latest deployment from the platform's files carried at least 1 MiB, or a tenth of its
    /// bytes, that no build needs (`UploadAudit`). Nil when there was no such deployment in 30
    /// days (the rule cannot be evaluated); `.some(nil)` when the uploads are lean.
    static func unneededUploads(_ project: UUID, _ database: PostgresConnection) throws -> Recommendation?? {
        let rows = try database.query(
            """
            SELECT deployment_id, metadata->'uploadAudit' AS audit FROM vercel_deployments
            WHERE project_id = \(project) AND created_at > now() - interval '30 days' AND metadata ? 'uploadAudit'
            ORDER BY created_at DESC LIMIT 10
            """)
        guard !rows.isEmpty else { return nil }
        let decoder = JSONDecoder()
        let audits = try rows.map {
            (
                id: try $0.decode("deployment_id", as: String.self),
                summary: try decoder.decode(
                    UploadAudit.Summary.self, from: Data(try $0.decode("audit", as: String.self).utf8))
            )
        }
        let summary = audits[0].summary
        guard summary.unneededFiles > 0,
            summary.unneededBytes >= 1 << 20 || summary.unneededBytes * 10 >= summary.bytes
        else { return .some(nil) }
        let categories = UploadAudit.Category.allCases.filter { summary.byCategory[$0.rawValue] != nil }
        let percent =
            summary.bytes == 0 ? 0 : Int((Double(summary.unneededBytes) * 100 / Double(summary.bytes)).rounded())
        return .some(
            Recommendation(
                rule: "unneeded_uploads",
                title:
                    "The last deployment from the platform's files carried \(summary.unneededFiles) files no build needs",
                evidence: [
                    "deployment": .string(audits[0].id), "files": .integer(summary.files),
                    "bytes": .integer(summary.bytes), "unneededFiles": .integer(summary.unneededFiles),
                    "unneededBytes": .integer(summary.unneededBytes),
                    "bytesByCategory": .object(summary.byCategory.mapValues { .integer($0) }),
                    "examples": .array(summary.examples.map { .string($0) }),
                    "deploymentsCarryingThem": .array(
                        audits.filter { $0.summary.unneededFiles > 0 }.map { .string($0.id) }),
                    "vercelignore": .array(categories.flatMap(\.ignorePatterns).map { .string($0) }),
                ],
                expectedGain:
                    "about \(summary.unneededBytes / 1024) KiB (\(percent) %) less to hash and upload on every deploy, with these lines in .vercelignore"
            ))
    }

    static func nodeVersion(_ project: UUID, _ database: PostgresConnection) throws -> String? {
        try database.query("SELECT node_version FROM vercel_project_mappings WHERE project_id = \(project)").first?[
            "node_version"]
    }
}
