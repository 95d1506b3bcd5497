/// The decisions of one deployment's lifecycle, as a value: given its status and why its run
/// was told to stop, what an input (a request, the end of a run) changes and what the engine
/// does next. The engine keeps one per deployment it holds, sets the record's status only from
/// it, and carries out the effects (which touch the cloud, the clock and the store); this type
/// touches nothing, so every transition is tested on its own (`DeploymentLifecycleTests`).
struct DeploymentLifecycle: Equatable, Sendable {
    /// Why the running stages were told to stop.
    enum Stop: Equatable, Sendable {
        case rollback(String)
        case shutdown
    }

    enum Input: Equatable, Sendable {
        /// Accepted: it waits for approval, or runs.
        case accepted(needsApproval: Bool)
        /// The approvals are complete.
        case approved
        /// The forward stages start (or resume).
        case started
        /// It may not start yet: outside its deploy window; then a window opened.
        case windowClosed, windowOpened
        /// Rejected by an approver, or not approved in time (`why` is the record's error).
        case rejected(String)
        /// A rollback asked by a caller (`why` is recorded).
        case rollbackRequested(String)
        /// The server stops: the running stages stop where they are.
        case shutdown
        /// The forward stages ended.
        case forwardEnded(DeploymentRunner.Outcome)
        /// The rollback's stages start.
        case rollbackStarted
        /// The rollback ended (after the check that the service settled back); `reason` is why
        /// it ran.
        case rollbackEnded(DeploymentRunner.Outcome, reason: String)
        /// Picked up at a start from the store.
        case recovered(RecoveryPolicy)
        /// The server has stopped; the deployment is still held here (waiting for approval).
        case serverStopped
    }

    enum Effect: Equatable, Sendable {
        /// Start the forward stages on a task of their own.
        case startRun(resumed: Bool)
        /// Arm the approval timeout; disarm it.
        case armApprovalTimer, disarmApprovalTimer
        /// Tell the running stages to stop (the run then ends with `stop`).
        case cancelRun
        /// Roll back on a task of its own (the one that ran the stages was cancelled).
        case startRollback(String)
        /// Roll back on the task that ran the stages.
        case rollBack(String)
        /// Continue a recorded rollback on a task of its own.
        case continueRollback
        /// The final outcomes: succeeded; rejected (why); rolled back (why); the rollback failed
        /// (why it ran, what failed).
        case succeed
        case reject(String)
        case rolledBack(String)
        case rollbackFailed(reason: String, error: String)
        /// The server stops: leave it to resume at the next start (a durable store), or end it
        /// INTERRUPTED.
        case checkpoint, interrupt
    }

    private(set) var status: DeploymentStatus {
        didSet { ending = status.isTerminal }
    }
    private(set) var stop: Stop?
    /// It reached its final status here and is being recorded (a hook may run first): not yet
    /// a finished deployment that a rollback could act on.
    private(set) var ending = false
    /// Whether the records outlive the process (a stop by shutdown is then a checkpoint).
    let durable: Bool
    /// "deployment <id>", for the messages of refusals.
    let subject: String

    init(_ record: DeploymentRecord, durable: Bool) {
        self.status = record.status
        self.durable = durable
        self.subject = "deployment \(record.id)"
    }

    mutating func handle(_ input: Input) throws -> [Effect] {
        switch input {
        case .accepted(let needsApproval):
            if needsApproval {
                status = .pendingApproval
                return [.armApprovalTimer]
            }
            return [.startRun(resumed: false)]
        case .approved:
            guard status == .pendingApproval else { throw notWaiting }
            status = .pending
            return [.disarmApprovalTimer, .startRun(resumed: false)]
        case .started:
            if stop == nil { status = .inProgress }
            return []
        case .windowClosed:
            if status == .pending { status = .waitingWindow }
            return []
        case .windowOpened:
            if status == .waitingWindow { status = .pending }
            return []
        case .rejected(let why):
            guard status == .pendingApproval else { throw notWaiting }
            status = .rejected
            return [.disarmApprovalTimer, .reject(why)]
        case .rollbackRequested(let why):
            return try rollbackRequested(why)
        case .shutdown:
            guard [.pending, .waitingWindow, .inProgress, .rollingBack].contains(status) else { return [] }
            stop = .shutdown
            return [.cancelRun]
        case .forwardEnded(let outcome):
            let stop = self.stop
            self.stop = nil
            switch (stop, outcome) {
            case (.rollback(let why), _):
                return [.startRollback(why)]
            case (.shutdown, _), (nil, .cancelled):
                return stopped()
            case (nil, .completed):
                status = .succeeded
                return [.succeed]
            case (nil, .failed(let reason)):
                return [.rollBack(reason)]
            }
        case .rollbackStarted:
            status = .rollingBack
            return []
        case .rollbackEnded(let outcome, let reason):
            stop = nil
            switch outcome {
            case .completed:
                status = .rolledBack
                return [.rolledBack(reason)]
            case .failed(let error):
                status = .failed
                return [.rollbackFailed(reason: reason, error: error)]
            case .cancelled:
                return stopped()
            }
        case .serverStopped:
            guard status == .pendingApproval, !durable else { return [] }
            status = .interrupted
            return [.interrupt]
        case .recovered(let policy):
            switch status {
            case .pendingApproval:
                return [.armApprovalTimer]
            case .rollingBack:
                return [.continueRollback]
            default:
                return policy == .rollback ? [.startRollback(Self.recoveryRollback)] : [.startRun(resumed: true)]
            }
        }
    }

    /// The run was stopped (by the shutdown, or its task was cancelled).
    private mutating func stopped() -> [Effect] {
        guard durable else {
            status = .interrupted
            return [.interrupt]
        }
        return [.checkpoint]
    }

    private mutating func rollbackRequested(_ why: String) throws -> [Effect] {
        if let refusal = LifecycleRefusals.rollback(subject, status: status, ending: ending) { throw refusal }
        guard status == .pending || status == .waitingWindow || status == .inProgress else {
            // Finished: the rollback runs on a task of its own.
            status = .rollingBack
            return [.startRollback(why)]
        }
        guard stop == nil else {
            throw stop == .shutdown ? EngineError(.unavailable, "the server is shutting down; try again later")
                : EngineError(.failedPrecondition, "\(subject) is already rolling back")
        }
        stop = .rollback(why)
        status = .rollingBack
        return [.cancelRun]
    }

    static let recoveryRollback = "the server restarted during the deployment (recovery: rollback)"

    private var notWaiting: EngineError { LifecycleRefusals.notWaiting(subject, status: status) }
}
