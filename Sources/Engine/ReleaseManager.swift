import CloudModel
import Foundation
import Logging

/// Receives every release event as it is recorded (metrics, logs, audit).
public protocol ReleaseObserver: Sendable {
    func observe(_ event: ReleaseEvent, release: ReleaseRecord)
    /// Returns once what was observed so far is durable (see `DeploymentObserver.settle`).
    func settle() async
    /// The store refused a save of the release (the next save writes it whole).
    func saveFailed(_ release: ReleaseRecord, error: any Error)
}

extension ReleaseObserver {
    public func settle() async {}
    public func saveFailed(_ release: ReleaseRecord, error: any Error) {}
}

/// Runs releases: many entries from one manifest, one approval, scheduled tasks first, then
/// the services wave by wave, each service through the deployment engine; on failure, the
/// release's policy (roll everything back by default).
///
/// Every change of a release is saved to its `ReleaseStore` before the next step; a release a
/// previous run left unfinished is picked up by `recover()`.
public actor ReleaseManager {
    let engine: DeploymentEngine
    let env: EngineEnvironment
    let store: any ReleaseStore
    let observers: [any ReleaseObserver]
    /// Releases submitted or resumed by this process and not finished (the store has every one).
    var releases: [String: ReleaseRecord] = [:]
    /// What of each release in `releases` the store has not been given yet.
    var unsaved: [String: UnsavedRelease] = [:]
    var streams = EventStreams<ReleaseEvent>()
    var tasks: [String: Task<Void, Never>] = [:]
    /// Releases whose policy has stopped new starts.
    var stopping: Set<String> = []
    /// False once the shutdown began: no new release, approval or rollback, and running
    /// releases start no new entry.
    var accepting = true
    /// The shutdown is over: nothing more happens in this process.
    var stopped = false

    /// - Parameter store: where releases are recorded (memory by default; the server's SQLite
    ///   file, so that releases resume after a restart).
    public init(engine: DeploymentEngine, environment: EngineEnvironment, store: any ReleaseStore = InMemoryReleaseStore(),
                observers: [any ReleaseObserver] = []) {
        self.engine = engine
        self.env = environment
        self.store = store
        self.observers = observers
    }

    /// Timestamps of records (see `EngineEnvironment.wallClock`).
    var wallClock: any DeployClock { env.wallClock }

    static var shuttingDown: EngineError { EngineError(.unavailable, "the server is shutting down; try again later") }

    // MARK: Requests

    /// What the release would change, without changing anything.
    public func plan(_ request: ReleaseRequest) async throws -> ReleaseRecord {
        ReleaseRecord(request: request, entries: try await ReleasePlanner(cloud: env.cloud).plan(request), at: wallClock.now())
    }

    /// Plans and starts a release (or waits for its approval). Idempotent on the id, across
    /// restarts too (a stored release answers for its id).
    public func submit(_ request: ReleaseRequest) async throws -> (ReleaseRecord, existing: Bool) {
        guard accepting else { throw Self.shuttingDown }
        if let existing = try await known(request.id) { return (try sameOrConflict(existing, request), true) }
        // Pipelining. A release is checked whole before anything changes: every service and
        // rule it names exists (reads of 10 services a call). Reading every live task
        // definition first as well would hold back every deployment behind DescribeTaskDefinition's
        // bucket (20/s: 47.5 s for 1000 services) while RegisterTaskDefinition's (1/s) is the
        // bottleneck and must not sit idle. So a release without approval that reads more task
        // definitions than the bucket's burst starts at once, and each entry reads its task
        // definition just before it starts (scheduled tasks still first, waves still in order):
        // a problem found there (a container not found) fails that entry, and the release's
        // policy applies, instead of refusing the release. Smaller releases, and those that
        // wait for an approval (whose plan is what is approved), are planned whole first.
        let planner = ReleasePlanner(cloud: env.cloud)
        let checked = try await planner.check(request)
        let pipelined = !request.requireApproval && checked.definitions.count > ReleasePlanner.wholePlanLimit
        let entries: [EntryState]
        if pipelined {
            guard checked.problems.isEmpty else { throw ReleasePlanner.refusal(checked.problems) }
            entries = zip(request.entries, checked.entries).map { entry, live in
                guard case .found(let td, let targets) = live else { preconditionFailure("checked") }
                return ReleasePlanner.unplanned(entry, live: td, targets: targets)
            }
        } else {
            entries = try await planner.plan(request, checked: checked)
        }
        let planned = ReleaseRecord(request: request, entries: entries, at: wallClock.now())
        guard accepting else { throw Self.shuttingDown }
        // Planning took a while: the id may have been taken meanwhile.
        if let existing = try await known(request.id) { return (try sameOrConflict(existing, request), true) }
        adopt(planned, stored: false)
        let changes = planned.entries.filter(\.needsChange).count
        var record = await mutate(request.id, event: .releaseAccepted,
                                  message: pipelined ? "\(planned.entries.count) entries, each planned as it starts"
                                      : "\(changes) of \(planned.entries.count) entries to change")
        if changes == 0 {
            return (await finish(request.id, status: .succeeded, event: .releaseSucceeded,
                                 message: "nothing to change: every entry is at its image"), false)
        }
        if request.requireApproval {
            record = await mutate(request.id, status: .pendingApproval, event: .approvalRequested, message: "waiting for approval")
        } else {
            launch(request.id)
        }
        return (record, false)
    }

    /// A release that could not even be read (a broken manifest from Git): recorded as failed.
    public func recordFailure(_ request: ReleaseRequest, error: String) async {
        guard (try? await known(request.id)) == nil, releases[request.id] == nil else { return }
        adopt(ReleaseRecord(request: request, entries: [], at: wallClock.now()), stored: false)
        await mutate(request.id, event: .releaseAccepted, message: "manifest of \(request.origin?.commit ?? request.id)")
        await finish(request.id, status: .failed, event: .releaseFailed, error: error, message: error)
    }

    /// The release as this process has it, else as stored. A release from Git is also found
    /// by a unique prefix of its commit hash, of 7 characters or more, as git finds a commit.
    public func status(id: String) async throws -> ReleaseRecord {
        if let record = releases[id] { return record }
        if let record = try await store.loadRelease(id: id) { return record }
        if (7..<40).contains(id.count), id.allSatisfy(\.isHexDigit) {
            let stored = try await store.releaseIDs(startingWith: id, limit: 2)
            let here = releases.keys.filter { $0.lowercased().hasPrefix(id.lowercased()) }
            let matches = Set(stored + here).sorted()
            if matches.count > 1 {
                throw EngineError(.invalidArgument, field: "id",
                                  "commit prefix \(id) is ambiguous: it starts \(matches.prefix(3).joined(separator: ", ")); give more characters")
            }
            if let full = matches.first, let record = try await known(full) { return record }
        }
        throw EngineError(.notFound, field: "id", "release \(id) not found")
    }

    /// Whether a release has this id (in this process or in the store).
    public func contains(_ id: String) async -> Bool {
        if releases[id] != nil { return true }
        return (try? await known(id)) != nil
    }

    /// Newest first, from the store (with this process's latest state of each).
    public func list(limit: Int = Int.max, offset: Int = 0) async throws -> [ReleaseRecord] {
        try await store.listReleases(limit: limit, offset: offset).map { releases[$0.id] ?? $0 }
    }

    /// Records `approver`'s approval; the release starts once `required` distinct approvers
    /// (never its requester) have approved it.
    public func approve(id: String, approver: String, reason: String, required: Int = 1) async throws -> ReleaseRecord {
        let record = try await pendingDecision(id)
        // An approval starts work that this process would not finish; a stored release still
        // waits for it after the restart.
        if !accepting { throw Self.shuttingDown }
        let tally = try ApprovalRecord.tally(record.approvals ?? [], adding: approver, reason: reason, at: wallClock.now(),
                                             required: required, requester: record.request.requestedBy,
                                             subject: "release \(id)")
        guard tally.complete else {
            return await mutate(id, event: .approvalRecorded, message: tally.message) { $0.record(tally) }
        }
        let updated = await mutate(id, status: .pending, event: .approvalApproved, message: tally.message) { $0.record(tally) }
        launch(id)
        return updated
    }

    /// Rejects the release: one approver's rejection ends it.
    public func reject(id: String, approver: String, reason: String) async throws -> ReleaseRecord {
        _ = try await pendingDecision(id)
        let decision = try ApprovalRecord.decision(approved: false, approver: approver, reason: reason, at: wallClock.now())
        let because = reason.isEmpty ? "" : ": \(reason)"
        await mutate(id, event: .approvalRejected, message: "rejected by \(approver)\(because)") { $0.approval = decision }
        return await finish(id, status: .rejected, event: .releaseRejected, error: "rejected by \(approver)\(because)", message: "nothing was changed")
    }

    private func pendingDecision(_ id: String) async throws -> ReleaseRecord {
        let record = try await current(id)
        guard record.status == .pendingApproval, releases[id] != nil else {
            throw EngineError(.failedPrecondition, "release \(id) is not waiting for approval (status \(record.status.rawValue))")
        }
        return record
    }

    /// Rolls back every entry a finished release changed (or, while it runs, stops it and
    /// then rolls back).
    public func rollback(id: String, requestedBy: String, reason: String) async throws -> ReleaseRecord {
        guard accepting else { throw Self.shuttingDown }
        let record = try await current(id)
        let why = "rollback requested" + (requestedBy.isEmpty ? "" : " by \(requestedBy)") + (reason.isEmpty ? "" : ": \(reason)")
        switch record.status {
        case .pendingApproval:
            throw EngineError(.failedPrecondition, "release \(id) is waiting for approval; reject it instead of rolling it back")
        case .rollingBack, .rolledBack:
            throw EngineError(.failedPrecondition, "release \(id) is already \(record.status == .rollingBack ? "rolling back" : "rolled back")")
        case .rejected:
            throw EngineError(.failedPrecondition, "release \(id) was rejected; nothing to roll back")
        case .pending, .inProgress:
            guard releases[id] != nil else {
                throw EngineError(.failedPrecondition, "release \(id) is not running in this server; it resumes at the next start")
            }
            stopping.insert(id)
            return await mutate(id, event: .rollbackRequested, message: why) {
                $0.error = why
                $0.rollbackRequestedBy = requestedBy
            }
        case .succeeded, .failed, .interrupted:
            if releases[id] == nil { adopt(record, stored: true) }
            let updated = await mutate(id, status: .rollingBack, event: .rollbackRequested, message: why) {
                $0.error = why
                $0.rollbackRequestedBy = requestedBy
            }
            tasks[id] = Task { await self.rollBackEntries(id, reason: why) }
            return updated
        }
    }

    public func watch(id: String) async throws -> AsyncStream<ReleaseEvent> {
        let record = try await current(id)
        // Live while something here can still change it: its run, or an approval.
        let live = !record.status.isTerminal && !stopped && releases[id] != nil
            && (tasks[id] != nil || record.status == .pendingApproval)
        return streams.subscribe(id, history: record.events, live: live) { [weak self] token in
            Task { await self?.removeStream(id, token) }
        }
    }

    private func removeStream(_ id: String, _ token: UUID) { streams.remove(id, token) }

    // MARK: Bookkeeping

    /// The release of this id, from this process or the store; nil when there is none.
    private func known(_ id: String) async throws -> ReleaseRecord? {
        if let record = releases[id] { return record }
        let stored = try await store.loadRelease(id: id)
        // The load was a suspension point: this process's state, if it has one now, is newer.
        return releases[id] ?? stored
    }

    /// Like `status`, but with this process's state when the store load raced with a change.
    private func current(_ id: String) async throws -> ReleaseRecord {
        let record = try await status(id: id)
        return releases[id] ?? record
    }

    private func sameOrConflict(_ existing: ReleaseRecord, _ request: ReleaseRequest) throws -> ReleaseRecord {
        guard existing.request.entries == request.entries else {
            throw EngineError(.alreadyExists, field: "id", "release id \(request.id) is already used by a different manifest")
        }
        return existing
    }

    func launch(_ id: String, resumed: Bool = false) {
        tasks[id] = Task { await self.run(id, resumed: resumed) }
    }

    /// Applies a change to a release of this process, records an event, tells everyone, and
    /// saves the change (before returning, so before the step that depends on it). The
    /// release is changed in place and no copy of it outlives the call: a change costs what
    /// it changes, not the size of the release. `change` must not touch the entries (see
    /// `updateEntry`, which names the entry it changes).
    @discardableResult
    func mutate(_ id: String, status: DeploymentStatus? = nil, event type: ReleaseEventKind, entry index: Int? = nil, message: String = "",
                _ change: (inout ReleaseRecord) -> Void = { _ in }) async -> ReleaseRecord {
        // Every caller holds an id it put there, of a release not finished (a finished one leaves).
        guard releases[id] != nil else { preconditionFailure("release \(id) unknown") }
        let label = index.map { releases[id]!.entries[$0].entry.label } ?? ""
        let event = Self.apply(to: &releases[id]!, at: wallClock.now(), status: status, type: type, entry: label, message: message, change)
        tell(event)
        await save(id, entry: index)
        for observer in observers { await observer.settle() }
        return releases[id]!
    }

    private static func apply(to record: inout ReleaseRecord, at now: Date, status: DeploymentStatus?, type: ReleaseEventKind, entry: String,
                              message: String, _ change: (inout ReleaseRecord) -> Void) -> ReleaseEvent {
        change(&record)
        if let status { record.status = status }
        record.updatedAt = now
        if record.status.isTerminal { record.finishedAt = now }
        let event = ReleaseEvent(releaseID: record.id, sequence: record.events.count + 1, at: now, kind: type, entry: entry,
                                 status: record.status, message: message)
        record.events.append(event)
        return event
    }

    /// Observers, watchers and the log hear of the event.
    private func tell(_ event: ReleaseEvent) {
        if let record = releases[event.releaseID] {
            for observer in observers { observer.observe(event, release: record) }
        }
        streams.yield(event.releaseID, event)
        var log = env.logger
        log[metadataKey: "release_id"] = "\(event.releaseID)"
        log.info("\(event.type)\(event.entry.isEmpty ? "" : " [\(event.entry)]") \(event.message)")
    }

    /// Ends a release: final status, saved, watchers closed. Answers the final record.
    @discardableResult
    func finish(_ id: String, status: DeploymentStatus, event: ReleaseEventKind, error: String = "", message: String) async -> ReleaseRecord {
        let own = tasks[id]
        stopping.remove(id)
        let final = await mutate(id, status: status, event: event, message: message) { if !error.isEmpty { $0.error = error } }
        // A rollback may have started while the final state was being saved: it owns the release now.
        guard tasks[id] == own else { return releases[id] ?? final }
        tasks[id] = nil
        streams.finish(id)
        // Saved whole: it leaves memory (read from the store from now on; a rollback asked for
        // later adopts it again). Kept while a save failed, for the next one to write it.
        if let pending = unsaved[id], !pending.whole, !pending.saving, pending.waiters.isEmpty, pending.entries.isEmpty {
            releases[id] = nil
            unsaved[id] = nil
        }
        return final
    }

    func updateEntry(_ id: String, _ index: Int, status: EntryStatus, event: ReleaseEventKind, message: String,
                     _ change: (inout EntryState) -> Void = { _ in }) async {
        await mutate(id, event: event, entry: index, message: message) { record in
            record.entries[index].status = status
            change(&record.entries[index])
        }
    }

    func entry(_ id: String, _ index: Int) -> EntryState? { releases[id]?.entries[index] }
    func isStopping(_ id: String) -> Bool { stopping.contains(id) }
    func stop(_ id: String) { stopping.insert(id) }
}
