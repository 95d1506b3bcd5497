import Audit
import Foundation
import Logging
import Synchronization

/// Writes refused calls and policy overrides to the audit log and the server log. Refusals are
/// rate-limited (20 lines a second at most; `ecs_auth_failures_total` counts every one), so a
/// flood of bad calls cannot flood the log.
final class SecurityAuditor: Sendable {
    let audit: AuditLog?
    let logger: Logger
    static let perSecond = 20
    private let window = Mutex<(second: Int, count: Int, dropped: Int)>((0, 0, 0))

    init(audit: AuditLog?, logger: Logger) {
        self.audit = audit
        self.logger = logger
    }

    func record(_ event: AccessControl.SecurityEvent) {
        let refusal = event.type != "policy.override"
        var dropped = 0
        if refusal {
            let second = Int(Date().timeIntervalSince1970)
            let allowed = window.withLock { w in
                if w.second != second { (w.second, w.count, dropped, w.dropped) = (second, 0, w.dropped, 0) }
                w.count += 1
                if w.count > Self.perSecond { w.dropped += 1 }
                return w.count <= Self.perSecond
            }
            guard allowed else { return }
        }
        // The scope comes from a request: bounded before it reaches a log line.
        let scope = String(event.scope.prefix(256))
        let parts = scope.split(separator: "/", maxSplits: 1).map(String.init)
        var metadata = ["detail": String(event.detail.prefix(512))]
        if dropped > 0 { metadata["refusals_not_logged"] = String(dropped) }
        let entry = AuditEntry(timestamp: Date(), eventType: event.type, user: event.principal,
                               cluster: parts.first ?? "", service: parts.count > 1 ? parts[1] : "", metadata: metadata)
        if refusal {
            logger.notice("\(event.type): \(event.principal) \(event.detail.prefix(512))\(scope.isEmpty ? "" : " on \(scope)")")
        } else {
            logger.warning("\(event.type): \(event.principal) \(event.detail.prefix(512)) on \(scope)")
        }
        do { try audit?.append(entry) } catch { logger.error("audit log write failed: \(error)") }
    }
}
