/// The decisions of one release's lifecycle, as a value (see `DeploymentLifecycle`): given its
/// status, whether new entries may start and whether a rollback was asked, what an input
/// changes and what the release manager does next. The manager sets the release's status only
/// from it; this type touches nothing (`ReleaseLifecycleTests`).
struct ReleaseLifecycle: Equatable, Sendable {
    enum Input: Equatable, Sendable {
        /// Planned and recorded: `changes` entries to change.
        case accepted(changes: Int, needsApproval: Bool)
        case approved
        /// Rejected by an approver (`why` is the release's error).
        case rejected(String)
        /// The run waits before it starts: for its start time, or (`window`) for the deploy
        /// windows of its services.
        case held(window: Bool)
        /// The run starts (or resumes).
        case started
        /// A caller asked for a rollback (recorded as the release's error).
        case rollbackRequested
        /// An entry (by index) failed.
        case entryFailed(Int)
        /// Every entry the run could start has settled; `unfinished` when some are left to start
        /// or to finish (the server is stopping), `failed` when one failed.
        case runEnded(unfinished: Bool, failed: Bool)
        /// The entries' rollback settled; `left` when some are not rolled back, `serverStopping`
        /// when the server stops (the rollback then continues at the next start).
        case rollbackEnded(left: Bool, serverStopping: Bool)
        /// The server stopped; the release is held here (waiting for approval, say).
        case serverStopped
        /// Picked up at a start from the store: `changes` entries to change, whether the
        /// manifest had entries at all, whether it needs an approval it has not had.
        case recovered(changes: Int, hasEntries: Bool, awaitingApproval: Bool)
        /// The release could not even be read (a broken manifest from Git): `why`.
        case unreadable(String)
    }

    enum Effect: Equatable, Sendable {
        /// Run the entries on a task of their own.
        case startRun(resumed: Bool)
        /// No new entry starts after the failure of entry `after`; with `rollBackRunning`, the
        /// entries still deploying roll back now.
        case stopStarts(after: Int, rollBackRunning: Bool)
        /// Roll back every changed entry on a task of its own (`why` was recorded as the
        /// release's error); on the task that ran the entries.
        case startRollback, rollBackEntries
        /// Continue a recorded rollback on a task of its own.
        case continueRollback
        /// Ask for approval (again, after a restart).
        case requestApproval
        /// The final outcomes.
        case succeed, fail, reject(String), rolledBack, rollbackIncomplete
        /// Nothing to change (accepted with no changes, or recovered so).
        case nothingToChange
        /// The release ends FAILED before it ran: its manifest could not be read, or the server
        /// stopped before its outcome was recorded (`why`).
        case unreadable(String)
        /// The server stops: leave it to resume at the next start, or end it INTERRUPTED.
        case checkpoint, interrupt
    }

    private(set) var status: DeploymentStatus {
        didSet { ending = status.isTerminal }
    }
    /// No new entry starts: an entry failed under a policy that stops, or a rollback was asked.
    private(set) var stopping: Bool
    /// A rollback was asked while it ran: once its entries settle, everything rolls back.
    private(set) var rollbackAsked: Bool
    private(set) var ending = false
    let onFailure: ReleaseFailurePolicy
    let durable: Bool
    let subject: String

    init(_ record: ReleaseRecord, durable: Bool) {
        status = record.status
        rollbackAsked = record.rollbackRequestedBy != nil || record.events.contains { $0.kind == .rollbackRequested }
        stopping = rollbackAsked || record.events.contains { $0.kind == .releaseStopping }
        onFailure = record.request.onFailure
        self.durable = durable
        subject = "release \(record.id)"
    }

    mutating func handle(_ input: Input) throws -> [Effect] {
        switch input {
        case .accepted(let changes, let needsApproval):
            if changes == 0 {
                status = .succeeded
                return [.nothingToChange]
            }
            if needsApproval {
                status = .pendingApproval
                return [.requestApproval]
            }
            return [.startRun(resumed: false)]
        case .approved:
            guard status == .pendingApproval else { throw notWaiting }
            status = .pending
            return [.startRun(resumed: false)]
        case .rejected(let why):
            guard status == .pendingApproval else { throw notWaiting }
            status = .rejected
            return [.reject(why)]
        case .held(let window):
            guard status == .pending || status == .waitingWindow else { return [] }
            status = window ? .waitingWindow : .pending
            return []
        case .started:
            status = .inProgress
            return []
        case .rollbackRequested:
            return try rollbackRequested()
        case .entryFailed(let index):
            guard onFailure != .continue, !stopping else { return [] }
            stopping = true
            return [.stopStarts(after: index, rollBackRunning: onFailure == .rollback)]
        case .runEnded(let unfinished, let failed):
            if unfinished { return stopped() }
            if (onFailure == .rollback && failed) || rollbackAsked {
                status = .rollingBack
                return [.rollBackEntries]
            }
            status = failed ? .failed : .succeeded
            return [failed ? .fail : .succeed]
        case .rollbackEnded(let left, let serverStopping):
            stopping = false
            if !left {
                status = .rolledBack
                return [.rolledBack]
            }
            if serverStopping { return stopped() }
            status = .failed
            return [.rollbackIncomplete]
        case .serverStopped:
            guard status == .pendingApproval, !durable else { return [] }
            status = .interrupted
            return [.interrupt]
        case .unreadable(let why):
            status = .failed
            return [.unreadable(why)]
        case .recovered(let changes, let hasEntries, let awaitingApproval):
            switch status {
            case .pendingApproval:
                return []
            case .rollingBack:
                return [.continueRollback]
            case .pending where changes == 0:
                // Stopped between acceptance and its outcome, with nothing to run.
                status = hasEntries ? .succeeded : .failed
                return [hasEntries ? .nothingToChange : .unreadable("the server stopped before the outcome of the release was recorded")]
            case .pending where awaitingApproval:
                status = .pendingApproval
                return [.requestApproval]
            default:
                return [.startRun(resumed: true)]
            }
        }
    }

    /// The final status is recorded (its save may still be under way): from now on a rollback
    /// may act on the release.
    mutating func endRecorded() { ending = false }

    /// The server stopped the run.
    private mutating func stopped() -> [Effect] {
        guard durable else {
            status = .interrupted
            return [.interrupt]
        }
        return [.checkpoint]
    }

    private mutating func rollbackRequested() throws -> [Effect] {
        if let refusal = LifecycleRefusals.rollback(subject, status: status, ending: ending) { throw refusal }
        guard status == .pending || status == .inProgress || status == .waitingWindow else {
            // Finished: every entry it changed rolls back, on a task of its own.
            status = .rollingBack
            return [.startRollback]
        }
        // The entries deploying now finish (or fail), none starts, then all roll back.
        stopping = true
        rollbackAsked = true
        return []
    }

    private var notWaiting: EngineError { LifecycleRefusals.notWaiting(subject, status: status) }
}
