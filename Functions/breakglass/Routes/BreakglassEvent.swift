import Platform
import PlatformHost

/// What every break-glass step leaves behind, in the step's transaction: a high-severity row of the
/// security audit log and a critical `breakglass.<alert>` alert, both with `details` (never a token,
/// a share or a key).
enum BreakglassEvent {
    static func record<Input, Details: Encodable>(
        _ action: AuditAction, alert: String, _ details: Details, _ call: PlatformCall<Input>,
        _ context: WorkerServices
    ) throws {
        try context.audit.record(action, severity: .high, actor: call.caller.userID, details: details)
        try context.alerts.enqueue(
            "breakglass.\(alert)", severity: .critical, userID: call.caller.userID, data: details)
    }
}
