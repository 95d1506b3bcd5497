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
    /// Releases submitted or resumed by this process and not finished (the store has every
    /// one): records, lifecycles, running work, watchers.
    var registry = Registry<ReleaseRecord, ReleaseLifecycle>()
    /// What of each held release the store has not been given yet.
    var unsaved: [String: UnsavedRelease] = [:]
    /// The sleeps of releases waiting to start (`waitToStart`), woken by a rollback.
    var startWaits: [String: Work] = [:]
    /// False once the shutdown began: no new release, approval or rollback, and running
    /// releases start no new entry.
    var accepting = true
    /// The shutdown is over: nothing more happens in this process.
    var stopped = false
    /// Where the releases' work runs (the registry's), held by `run()`.
    nonisolated let work: WorkGroup

    /// - Parameter store: where releases are recorded (memory by default; the server's SQLite
    ///   file, so that releases resume after a restart).
    public init(engine: DeploymentEngine, environment: EngineEnvironment, store: any ReleaseStore = InMemoryReleaseStore(),
                observers: [any ReleaseObserver] = []) {
        self.engine = engine
        self.env = environment
        self.store = store
        self.observers = observers
        self.work = registry.work
    }

    /// Timestamps of records (see `EngineEnvironment.wallClock`).
    var wallClock: any DeployClock { env.wallClock }

    static var shuttingDown: EngineError { EngineError(.unavailable, "the server is shutting down; try again later") }

    // MARK: Requests

    /// What the release would change, without changing anything.
    public func plan(_ request: ReleaseRequest) async throws -> ReleaseRecord {
        ReleaseRecord(request: request, entries: try await planner.plan(request), at: wallClock.now())
    }

    /// Plans with the server's settings and prices.
    var planner: ReleasePlanner { ReleasePlanner(cloud: env.cloud, defaults: engine.defaults, pricing: env.pricing) }

    /// Plans and starts a release (or waits for its approval). Idempotent on the id, across
    /// restarts too (a stored release answers for its id).
    public func submit(_ request: ReleaseRequest) async throws -> (ReleaseRecord, existing: Bool) {
        guard accepting else { throw Self.shuttingDown }
        if let existing = try await known(request.id) { return (try sameOrConflict(existing, request), true) }
        if let at = request.startAt, at.timeIntervalSince(wallClock.now()) > 366 * 86400 {
            throw EngineError.invalid("start_at", "'\(at.ISO8601Format())' is more than a year ahead")
        }
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
        let checked = try await planner.check(request)
        // A scheduled release is planned whole now: the plan is what starts then.
        let pipelined = !request.requireApproval && request.startAt == nil && checked.definitions.count > ReleasePlanner.wholePlanLimit
        let entries: [EntryState]
        if pipelined {
            guard checked.problems.isEmpty else { throw ReleasePlanner.refusal(checked.problems) }
            entries = zip(request.entries, checked.entries).map { entry, live in
                guard case .found(let td, _, let targets) = live else { preconditionFailure("checked") }
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
        // The services as the check just read them: an entry that starts within a poll
        // interval is not read again (its deployment's pre-flight and first stage use this).
        let readAt = env.clock.now()
        await engine.offerReads(zip(planned.entries.indices, checked.entries).compactMap { index, live in
            guard case .found(_, let service?, _) = live else { return nil }
            return (planned.entries[index].deploymentID ?? "\(request.id).\(index + 1)", service)
        }, at: readAt)
        let changes = planned.entries.filter(\.needsChange).count
        let record = await mutate(request.id, event: .releaseAccepted,
                                  message: pipelined ? "\(planned.entries.count) entries, each planned as it starts"
                                      : "\(changes) of \(planned.entries.count) entries to change"
                                      + (planned.cost.map { "; cost: \($0.summary)" } ?? ""))
        return (await follow(request.id, .accepted(changes: changes, needsApproval: request.requireApproval)) ?? record, false)
    }

    /// A release that could not even be read (a broken manifest from Git): recorded as failed.
    public func recordFailure(_ request: ReleaseRequest, error: String) async {
        guard (try? await known(request.id)) == nil, registry[request.id] == nil else { return }
        adopt(ReleaseRecord(request: request, entries: [], at: wallClock.now()), stored: false)
        await mutate(request.id, event: .releaseAccepted, message: "manifest of \(request.origin?.commit ?? request.id)")
        await follow(request.id, .unreadable(error))
    }

    /// The release as this process has it, else as stored. A release from Git is also found
    /// by a unique prefix of its commit hash, of 7 characters or more, as git finds a commit.
    public func status(id: String) async throws -> ReleaseRecord {
        if let record = registry[id] { return record }
        if let record = try await store.loadRelease(id: id) { return record }
        if (7..<40).contains(id.count), id.allSatisfy(\.isHexDigit) {
            let stored = try await store.releaseIDs(startingWith: id, limit: 2)
            let here = registry.lifecycles.keys.filter { $0.lowercased().hasPrefix(id.lowercased()) }
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
        if registry[id] != nil { return true }
        return (try? await known(id)) != nil
    }

    /// Newest first, from the store (with this process's latest state of each).
    public func list(limit: Int = Int.max, offset: Int = 0) async throws -> [ReleaseRecord] {
        try await store.listReleases(limit: limit, offset: offset).map { registry[$0.id] ?? $0 }
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
        let effects = try transition(id, .approved)
        let updated = await mutate(id, status: lifecycleStatus(id), event: .approvalApproved, message: tally.message) { $0.record(tally) }
        await perform(id, effects)
        return updated
    }

    /// Rejects the release: one approver's rejection ends it.
    public func reject(id: String, approver: String, reason: String) async throws -> ReleaseRecord {
        _ = try await pendingDecision(id)
        let decision = try ApprovalRecord.decision(approved: false, approver: approver, reason: reason, at: wallClock.now())
        let because = reason.isEmpty ? "" : ": \(reason)"
        let effects = try transition(id, .rejected("rejected by \(approver)\(because)"))
        let rejected = await mutate(id, event: .approvalRejected, message: "rejected by \(approver)\(because)") { $0.approval = decision }
        return await perform(id, effects) ?? rejected
    }

    private func pendingDecision(_ id: String) async throws -> ReleaseRecord {
        let record = try await current(id)
        guard record.status == .pendingApproval, registry[id] != nil else {
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
        if registry[id] == nil {
            // Not running here: a finished release is taken up again for its rollback; one that
            // is not finished is left from a previous run (it resumes at the next start).
            guard record.status.isTerminal else {
                throw EngineError(.failedPrecondition, "release \(id) is not running in this server; it resumes at the next start")
            }
            var lifecycle = ReleaseLifecycle(record, durable: store.isDurable)
            _ = try lifecycle.handle(.rollbackRequested)
            adopt(record, stored: true)
        }
        let effects = try transition(id, .rollbackRequested)
        let updated = await mutate(id, status: lifecycleStatus(id), event: .rollbackRequested, message: why) {
            $0.error = why
            $0.rollbackRequestedBy = requestedBy
        }
        // Waiting to start: it starts nothing now.
        startWaits[id]?.cancel()
        await perform(id, effects)
        return updated
    }

    public func watch(id: String) async throws -> AsyncStream<ReleaseEvent> {
        let record = try await current(id)
        // Live while something here can still change it: its run, or an approval.
        let live = !record.status.isTerminal && !stopped && registry[id] != nil
            && (registry.task(id) != nil || record.status == .pendingApproval)
        return registry.watchers.subscribe(id, history: record.events, live: live)
    }

    // MARK: Bookkeeping

    /// The release of this id, from this process or the store; nil when there is none.
    private func known(_ id: String) async throws -> ReleaseRecord? {
        if let record = registry[id] { return record }
        let stored = try await store.loadRelease(id: id)
        // The load was a suspension point: this process's state, if it has one now, is newer.
        return registry[id] ?? stored
    }

    /// Like `status`, but with this process's state when the store load raced with a change.
    private func current(_ id: String) async throws -> ReleaseRecord {
        let record = try await status(id: id)
        return registry[id] ?? record
    }

    private func sameOrConflict(_ existing: ReleaseRecord, _ request: ReleaseRequest) throws -> ReleaseRecord {
        guard existing.request.entries == request.entries else {
            throw EngineError(.alreadyExists, field: "id", "release id \(request.id) is already used by a different manifest")
        }
        return existing
    }

    @discardableResult
    func transition(_ id: String, _ input: ReleaseLifecycle.Input) throws -> [ReleaseLifecycle.Effect] {
        try registry.transition(id, input)
    }

    func lifecycleStatus(_ id: String) -> DeploymentStatus? { registry.lifecycleStatus(id) }

    /// Feeds an input whose refusal cannot happen here, and performs what the lifecycle
    /// decides. Answers the record as it stands then.
    @discardableResult
    func follow(_ id: String, _ input: ReleaseLifecycle.Input) async -> ReleaseRecord? {
        guard let effects = try? transition(id, input) else { return nil }
        return await perform(id, effects)
    }

    /// Carries out what the lifecycle decided, in order. Answers the record as it stands then
    /// (the final one when the release ended).
    @discardableResult
    func perform(_ id: String, _ effects: [ReleaseLifecycle.Effect]) async -> ReleaseRecord? {
        var final: ReleaseRecord?
        for effect in effects {
            switch effect {
            case .startRun(let resumed):
                await launch(id, ifNotStarted: .runEnded(unfinished: true, failed: false)) { manager in
                    await manager.run(id, resumed: resumed)
                }
            case .stopStarts(let index, let rollBackRunning):
                await stopStarts(id, after: index, rollBackRunning: rollBackRunning)
            case .startRollback, .continueRollback:
                await launch(id, ifNotStarted: .rollbackEnded(left: true, serverStopping: true)) { manager in
                    await manager.rollBackEntries(id)
                }
            case .rollBackEntries:
                await mutate(id, status: lifecycleStatus(id), event: .releaseRollingBack, message: "rolling back every entry the release changed")
                await rollBackEntries(id)
            case .requestApproval:
                await mutate(id, status: lifecycleStatus(id), event: .approvalRequested, message: "waiting for approval")
            case .succeed:
                final = await finish(id, event: .releaseSucceeded, message: summary(id))
            case .fail:
                // With onFailure: continue no failure stopped the release, so none was recorded yet.
                let record = registry[id]
                let failed = record?.entries.filter { $0.status == .failed || $0.status == .rolledBack } ?? []
                let recorded = record?.error ?? ""
                let error = recorded.isEmpty ? failed.map { "\($0.entry.label): \($0.error)" }.joined(separator: "; ") : recorded
                final = await finish(id, event: .releaseFailed, error: error, message: "\(error); \(summary(id))")
            case .reject(let why):
                final = await finish(id, event: .releaseRejected, error: why, message: "nothing was changed")
            case .rolledBack:
                let reason = registry[id]?.error ?? ""
                final = await finish(id, event: .releaseRolledBack, error: reason, message: "\(reason); \(summary(id))")
            case .rollbackIncomplete:
                let reason = registry[id]?.error ?? ""
                let left = registry[id]?.entries.filter { $0.status == .failed || $0.status == .rollingBack || $0.status == .succeeded } ?? []
                let names = left.map(\.entry.label).joined(separator: ", ")
                final = await finish(id, event: .releaseFailed, error: "\(reason); rollback incomplete for \(names)", message: summary(id))
            case .nothingToChange:
                final = await finish(id, event: .releaseSucceeded, message: "nothing to change: every entry is at its image")
            case .unreadable(let error):
                final = await finish(id, event: .releaseFailed, error: error, message: error)
            case .checkpoint:
                await checkpoint(id)
            case .interrupt:
                let message = registry[id]?.status == .pendingApproval
                    ? "the server stopped while the release waited for approval; nothing was changed"
                    : "the server stopped during the release (\(summary(id)))"
                final = await finish(id, event: .releaseInterrupted, error: message, message: message)
            }
        }
        return final ?? registry[id]
    }

    /// Runs the release's work as a job of the manager's work group. Once the shutdown has
    /// drained the manager (a request recorded while it drained) nothing starts: the lifecycle
    /// learns that the work ended at once, unfinished, and the release is checkpointed (or
    /// interrupted) as one stopped by the shutdown.
    private func launch(_ id: String, ifNotStarted: ReleaseLifecycle.Input,
                        _ body: @escaping @Sendable (ReleaseManager) async -> Void) async {
        guard !work.isClosed else {
            await follow(id, ifNotStarted)
            return
        }
        registry.launch(id, clock: env.clock) { await body(self) }
    }

    /// Applies a change to a release of this process, records an event, tells everyone, and
    /// saves the change (before returning, so before the step that depends on it). The
    /// release is changed in place: a change costs what it changes, not the size of the
    /// release. `status` is given only by a transition of the release's lifecycle. `change`
    /// must not touch the entries (see `updateEntry`, which names the entry it changes).
    @discardableResult
    func mutate(_ id: String, status: DeploymentStatus? = nil, event type: ReleaseEventKind, entry index: Int? = nil, message: String = "",
                _ change: (inout ReleaseRecord) -> Void = { _ in }) async -> ReleaseRecord {
        // Every caller holds an id it put there, of a release not finished (a finished one leaves).
        let label = index.flatMap { registry[id]?.entries[$0].entry.label } ?? ""
        // No copy of the record is held across the waits below: another change made meanwhile
        // (the actor is reentrant) then changes it in place instead of copying every entry.
        var shell: ReleaseRecord
        do {
            guard let event = registry.record(id, at: wallClock.now(), status: status, kind: type, subject: label, message: message, change),
                  let record = registry[id] else {
                preconditionFailure("release \(id) is not held")
            }
            if record.status.isTerminal { registry.lifecycles[id]?.endRecorded() }
            for observer in observers { observer.observe(event, release: record) }
            shell = record
        }
        shell.entries = []
        shell.events = []
        var log = env.logger
        log[metadataKey: "release_id"] = "\(id)"
        log.info("\(type)\(label.isEmpty ? "" : " [\(label)]") \(message)")
        await save(id, entry: index)
        for observer in observers { await observer.settle() }
        // Held still (the usual case), else (it left meanwhile) as the store has it.
        if let held = registry[id] { return held }
        return (try? await store.loadRelease(id: id)) ?? shell
    }

    /// Ends a release at the status its lifecycle reached: saved, watchers closed. Answers
    /// the final record.
    @discardableResult
    func finish(_ id: String, event: ReleaseEventKind, error: String = "", message: String) async -> ReleaseRecord {
        let own = registry.task(id)
        let final = await mutate(id, status: lifecycleStatus(id), event: event, message: message) { if !error.isEmpty { $0.error = error } }
        // A rollback may have started while the final state was being saved: it owns the release now.
        guard registry.task(id) === own else { return registry[id] ?? final }
        registry.endWork(id)
        registry.watchers.finish(id)
        // Saved whole: it leaves memory (read from the store from now on; a rollback asked for
        // later adopts it again). Kept while a save failed, for the next one to write it.
        if let pending = unsaved[id], !pending.whole, !pending.saving, pending.waiters.isEmpty, pending.entries.isEmpty {
            registry.drop(id)
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

    func entry(_ id: String, _ index: Int) -> EntryState? { registry[id]?.entries[index] }
    func isStopping(_ id: String) -> Bool { registry.lifecycles[id]?.stopping ?? false }
}
