/// The refusals the deployment's and the release's lifecycles share, worded once.
enum LifecycleRefusals {
    /// Why a rollback cannot be asked of `subject` at `status`; nil when it can. `ending`: its
    /// final status is being recorded (a rollback waits until it has ended).
    static func rollback(_ subject: String, status: DeploymentStatus, ending: Bool) -> EngineError? {
        switch status {
        case .pendingApproval:
            EngineError(.failedPrecondition, "\(subject) is waiting for approval; reject it instead of rolling it back")
        case .rollingBack:
            EngineError(.failedPrecondition, "\(subject) is already rolling back")
        case .rolledBack:
            EngineError(.failedPrecondition, "\(subject) is already rolled back")
        case .rejected:
            EngineError(.failedPrecondition, "\(subject) was rejected; nothing to roll back")
        case .succeeded, .failed, .interrupted:
            ending ? EngineError(.failedPrecondition, "\(subject) is ending (\(status.rawValue)); roll it back once it has ended") : nil
        case .pending, .inProgress, .waitingWindow:
            nil
        }
    }

    /// An approval or a rejection of `subject`, which is not waiting for one.
    static func notWaiting(_ subject: String, status: DeploymentStatus) -> EngineError {
        EngineError(.failedPrecondition, "\(subject) is not waiting for approval (status \(status.rawValue))")
    }
}
