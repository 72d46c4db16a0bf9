import Postgres

/// Appends to `vercel_security_audit_log` (append-only). Details never hold a secret.
public enum SecurityAudit {
    public static func record(
        _ action: String, severity: String, actor: PlatformCaller? = nil, actorID: String? = nil, connectionID: String? = nil,
        projectID: String? = nil, details: String = "{}", correlationID: String, database: PostgresConnection
    ) throws {
        try database.execute(
            """
            INSERT INTO vercel_security_audit_log (action, severity, actor_user_id, connection_id, project_id, details, correlation_id)
            VALUES (\(action), \(severity), \((actor?.userID.uuidString.lowercased()) ?? actorID)::uuid, \(connectionID)::uuid,
              \(projectID)::uuid, \(details)::jsonb, \(correlationID))
            """)
    }
}
