import CloudModel
import Engine
import Foundation

extension AuditLog: ReleaseObserver {
    /// A line per state change of a release or of one of its entries (see `ReleaseAuditEntries`),
    /// flushed by `settle` as a deployment's are (the release manager settles before the change
    /// is reported: the lines of many releases' and deployments' changes share one fsync).
    public func observe(_ event: ReleaseEvent, release: ReleaseRecord) {
        guard let entry = ReleaseAuditEntries.entry(for: event, release: release) else { return }
        writeReportingErrors(entry)
    }
}

/// Which release events the audit log keeps, and what it writes for them. Every line's
/// `event_type` starts with `release.`; `deployment_id` is the release id (the deployments of
/// its service entries have lines of their own).
enum ReleaseAuditEntries {
    /// The audit event type of a release event, nil when the event is not a state change.
    ///
    /// release.accepted, release.started, release.stopping, release.rolling_back,
    /// release.queued, release.succeeded, release.failed, release.rolled_back, release.rejected,
    /// release.interrupted, release.checkpointed, release.recovered as they are;
    /// approval.requested -> release.approval_requested, approval.approved -> release.approved,
    /// rollback.requested -> release.rollback_requested, preflight.warning ->
    /// release.preflight_warning, entry.X -> release.entry_X.
    /// Not kept: approval.rejected (the release.rejected that follows says it, with the
    /// approver), and the steps entry.registered and entry.resumed.
    static func eventType(_ kind: ReleaseEventKind) -> String? {
        switch kind {
        case .approvalRequested: "release.approval_requested"
        case .approvalApproved: "release.approved"
        case .approvalRecorded: "release.approval_recorded"
        case .rollbackRequested: "release.rollback_requested"
        case .preflightWarning: "release.preflight_warning"
        case .approvalRejected, .entryRegistered, .entryResumed: nil
        case .releaseAccepted, .releaseQueued, .releaseStarted, .releaseSucceeded, .releaseFailed, .releaseRejected, .releaseRollingBack,
             .releaseRolledBack, .releaseStopping, .releaseCheckpointed, .releaseInterrupted, .releaseRecovered:
            kind.rawValue
        case .entryStarted, .entrySkipped, .entrySucceeded, .entryFailed, .entryNotStarted, .entryRollingBack,
             .entryRolledBack, .entryRollbackFailed:
            "release.entry_" + kind.rawValue.dropFirst("entry.".count)
        }
    }

    static func entry(for event: ReleaseEvent, release: ReleaseRecord) -> AuditEntry? {
        guard let type = eventType(event.kind) else { return nil }
        let request = release.request
        var metadata: [String: String] = [
            "kind": "release", "release_id": release.id, "status": event.status.rawValue, "event_sequence": String(event.sequence),
        ]
        metadata["release_name"] = nonEmpty(request.name)
        metadata["message"] = nonEmpty(event.message)
        metadata["error"] = release.status.isTerminal ? nonEmpty(release.error) : nil
        metadata["commit"] = request.origin?.commit
        if event.kind == .releaseAccepted { metadata["cost"] = release.cost?.summary }
        var user = request.requestedBy
        var (cluster, service, strategy) = ("", "", "")
        if !event.entry.isEmpty, let state = release.entries.first(where: { $0.entry.label == event.entry }) {
            metadata["entry"] = event.entry
            metadata["entry_kind"] = state.entry.kind.rawValue
            metadata["entry_status"] = state.status.rawValue
            metadata["image"] = nonEmpty(state.newImage)
            metadata["previous_task_definition"] = state.previousTaskDefinition
            metadata["task_definition"] = state.newTaskDefinition
            metadata["entry_deployment_id"] = state.deploymentID
            metadata["entry_error"] = nonEmpty(state.error)
            switch state.entry.kind {
            case .service:
                (cluster, service, strategy) = (state.entry.cluster.arnResourceName, state.entry.service.arnResourceName,
                                                state.entry.strategy.rawValue)
            case .scheduledTask:
                metadata["rule"] = state.entry.ruleName
            }
        } else {
            metadata["entries"] = release.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }
        if type == "rollback.requested" || type == "release.rollback_requested", let by = release.rollbackRequestedBy {
            user = by
        }
        if type == "release.approval_recorded" || type == "release.approved", let last = release.approvals?.last {
            user = last.approver
            metadata["approved"] = "true"
            metadata["approvers"] = release.approvals?.map(\.approver).joined(separator: ", ")
            metadata["reason"] = nonEmpty(last.reason)
            metadata["requested_by"] = nonEmpty(request.requestedBy)
        } else if type == "release.approved" || type == "release.rejected", let approval = release.approval {
            user = approval.approver
            metadata["approved"] = String(approval.approved)
            metadata["reason"] = nonEmpty(approval.reason)
            metadata["requested_by"] = nonEmpty(request.requestedBy)
        }
        return AuditEntry(timestamp: event.at, eventType: type, deploymentID: release.id, user: user, cluster: cluster,
                          service: service, strategy: strategy, metadata: metadata)
    }

    private static func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
}
