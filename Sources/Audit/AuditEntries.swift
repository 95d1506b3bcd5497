import CloudModel
import Engine
import Foundation

/// Which engine events the audit log keeps, and what it writes for them.
enum AuditEntries {
    /// State changes: deployment.*, approval.*, rollback.*, failed stages and analyses, and
    /// skipped checks.
    /// Not progress, and not the stage steps of a run that goes well.
    static func isAudited(_ kind: DeploymentEventKind) -> Bool {
        switch kind {
        case .deploymentAccepted, .deploymentStarted, .deploymentResumed, .deploymentRecovered, .deploymentSucceeded,
             .deploymentFailed, .deploymentRolledBack, .deploymentRejected, .deploymentInterrupted, .deploymentCheckpointed,
             .deploymentQueued, .windowOverridden,
             .approvalRequested, .approvalRecorded, .approvalApproved, .approvalRejected, .approvalExpired,
             .rollbackRequested, .rollbackStarted, .stageFailed, .preflightWarning, .analysisFailed,
             .analysisPaused, .analysisResumed:
            true
        case .stageStarted, .stageProgress, .stageSucceeded, .stageCancelled, .stageCheckpointed, .factsRecorded,
             .hookSucceeded, .hookFailed, .analysisMeasured:
            false
        }
    }

    static func entry(for event: DeploymentEvent, record: DeploymentRecord) -> AuditEntry? {
        guard isAudited(event.kind) else { return nil }
        let request = record.request
        var metadata: [String: String] = ["status": event.status.rawValue, "event_sequence": String(event.sequence)]
        metadata["stage"] = nonEmpty(event.stage)
        metadata["message"] = nonEmpty(event.message)
        metadata["error"] = record.status.isTerminal ? nonEmpty(record.error) : nil
        metadata["task_definition"] = record.facts.newTaskDefinition ?? request.taskDefinitionJSON["family"]?.stringValue
        metadata["previous_task_definition"] = record.facts.previousTaskDefinition
        if [.deploymentAccepted, .approvalRequested].contains(event.kind) { metadata["cost"] = record.cost?.summary }
        var user = request.requestedBy
        if [.rollbackRequested, .rollbackStarted].contains(event.kind), let by = record.rollbackRequestedBy, !by.isEmpty {
            user = by
        }
        if [.approvalRecorded, .approvalApproved].contains(event.kind), let last = record.approvals?.last {
            user = last.approver
            metadata["approved"] = "true"
            metadata["approvers"] = record.approvals?.map(\.approver).joined(separator: ", ")
            metadata["reason"] = nonEmpty(last.reason)
            metadata["requested_by"] = nonEmpty(request.requestedBy)
        } else if [.approvalApproved, .approvalRejected].contains(event.kind), let approval = record.approval {
            user = approval.approver
            metadata["approved"] = String(approval.approved)
            metadata["reason"] = nonEmpty(approval.reason)
            metadata["requested_by"] = nonEmpty(request.requestedBy)
        }
        return AuditEntry(timestamp: event.at, eventType: event.type, deploymentID: record.id, user: user,
                          cluster: request.cluster.arnResourceName, service: request.service.arnResourceName,
                          strategy: request.strategy.rawValue, metadata: metadata)
    }

    /// `drift.detected` when the service differs from its last deployment, else `drift.checked`.
    static func entry(for report: DriftReport, at date: Date) -> AuditEntry {
        var metadata = ["summary": report.summary, "items": String(report.items.count)]
        metadata["baseline_deployment"] = report.baselineDeployment
        for item in report.items {
            metadata["drift." + item.field] = "expected \(item.expected), found \(item.actual)"
        }
        return AuditEntry(timestamp: date, eventType: report.items.isEmpty ? "drift.checked" : "drift.detected",
                          deploymentID: report.baselineDeployment ?? "", cluster: report.cluster, service: report.service,
                          metadata: metadata)
    }

    private static func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
}
