import Platform
import PlatformHost

// vercel-job-partitions: monthly partitions of vercel_deployments three months ahead, and the
// partitions older than six months dropped (both functions name tables with format('%I')).
enum PartitionsJob {
    static func main() -> Never {
        OneShotJob.run(name: "vercel-job-partitions") { database, _ in
            let created =
                try database.query("SELECT vercel_ensure_deployment_partitions(3) AS created")[0]["created"] ?? "0"
            let dropped =
                try database.query("SELECT vercel_drop_old_deployment_partitions(6) AS dropped")[0]["dropped"] ?? "0"
            return [
                "partitions.created": .stringConvertible(Int(created) ?? 0),
                "partitions.dropped": .stringConvertible(Int(dropped) ?? 0),
            ]
        }
    }
}
