import Foundation

/// What happened to a deployment. The raw values are the event types on the wire, in the store
/// and in the audit log: they never change (existing records and logs keep reading and
/// verifying); consumers switch over the cases.
public enum DeploymentEventKind: String, Sendable, Codable, CaseIterable {
    case deploymentAccepted = "deployment.accepted"
    case deploymentStarted = "deployment.started"
    case deploymentResumed = "deployment.resumed"
    case deploymentRecovered = "deployment.recovered"
    case deploymentSucceeded = "deployment.succeeded"
    case deploymentFailed = "deployment.failed"
    case deploymentRolledBack = "deployment.rolled_back"
    case deploymentRejected = "deployment.rejected"
    case deploymentInterrupted = "deployment.interrupted"
    case deploymentCheckpointed = "deployment.checkpointed"
    /// Over a limit (`limits:`): it waits, and starts when the limits let it.
    case deploymentQueued = "deployment.queued"
    /// An admin started it outside its deploy windows (with a reason).
    case windowOverridden = "window.overridden"

    case stageStarted = "stage.started"
    case stageProgress = "stage.progress"
    case stageSucceeded = "stage.succeeded"
    case stageFailed = "stage.failed"
    case stageCancelled = "stage.cancelled"
    case stageCheckpointed = "stage.checkpointed"

    case factsRecorded = "facts.recorded"

    case hookSucceeded = "hook.succeeded"
    case hookFailed = "hook.failed"

    case approvalRequested = "approval.requested"
    case approvalRecorded = "approval.recorded"
    case approvalApproved = "approval.approved"
    case approvalRejected = "approval.rejected"
    case approvalExpired = "approval.expired"

    case rollbackRequested = "rollback.requested"
    case rollbackStarted = "rollback.started"

    case preflightWarning = "preflight.warning"

    /// One measurement of a bake's metric analysis: the value, the verdict, the query.
    case analysisMeasured = "analysis.measured"
    /// A bake's metric analysis failed (the stage's failure follows).
    case analysisFailed = "analysis.failed"
    /// A bake's analysis was inconclusive and it waits for a person (`inconclusive: pause`);
    /// then someone let it go on.
    case analysisPaused = "analysis.paused"
    case analysisResumed = "analysis.resumed"
}

extension DeploymentEventKind {
    /// The deployment's own life (`deployment.*`).
    public var isLifecycle: Bool { rawValue.hasPrefix("deployment.") }
}

/// What happened to a release or one of its entries; raw values as for `DeploymentEventKind`.
public enum ReleaseEventKind: String, Sendable, Codable, CaseIterable {
    case releaseAccepted = "release.accepted"
    /// Held before it starts: for its start time or its services' deploy windows.
    case releaseQueued = "release.queued"
    case releaseStarted = "release.started"
    case releaseSucceeded = "release.succeeded"
    case releaseFailed = "release.failed"
    case releaseRejected = "release.rejected"
    case releaseRollingBack = "release.rolling_back"
    case releaseRolledBack = "release.rolled_back"
    case releaseStopping = "release.stopping"
    case releaseCheckpointed = "release.checkpointed"
    case releaseInterrupted = "release.interrupted"
    case releaseRecovered = "release.recovered"

    case approvalRequested = "approval.requested"
    case approvalRecorded = "approval.recorded"
    case approvalApproved = "approval.approved"
    case approvalRejected = "approval.rejected"

    case rollbackRequested = "rollback.requested"

    case preflightWarning = "preflight.warning"

    case entryStarted = "entry.started"
    case entryResumed = "entry.resumed"
    case entryRegistered = "entry.registered"
    case entrySkipped = "entry.skipped"
    case entrySucceeded = "entry.succeeded"
    case entryFailed = "entry.failed"
    case entryNotStarted = "entry.not_started"
    case entryRollingBack = "entry.rolling_back"
    case entryRolledBack = "entry.rolled_back"
    case entryRollbackFailed = "entry.rollback_failed"
}

extension ReleaseEventKind {
    /// The release's own life (`release.*`).
    public var isLifecycle: Bool { rawValue.hasPrefix("release.") }
}
