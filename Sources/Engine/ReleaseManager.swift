import CloudModel
import Foundation
import Logging

/// Receives every release event as it is recorded (metrics, logs, audit).
public protocol ReleaseObserver: Sendable {
    func observe(_ event: ReleaseEvent, release: ReleaseRecord)
}

/// Runs releases: many entries from one manifest, one approval, scheduled tasks first, then
/// the services wave by wave, each service through the deployment engine; on failure, the
/// release's policy (roll everything back by default).
public actor ReleaseManager {
    let engine: DeploymentEngine
    let env: EngineEnvironment
    let observers: [any ReleaseObserver]
    var releases: [String: ReleaseRecord] = [:]
    var order: [String] = []
    var streams = EventStreams<ReleaseEvent>()
    var tasks: [String: Task<Void, Never>] = [:]
    /// Releases whose policy has stopped new starts.
    var stopping: Set<String> = []

    public init(engine: DeploymentEngine, environment: EngineEnvironment, observers: [any ReleaseObserver] = []) {
        self.engine = engine
        self.env = environment
        self.observers = observers
    }

    var clock: any DeployClock { env.clock }

    // MARK: Requests

    /// What the release would change, without changing anything.
    public func plan(_ request: ReleaseRequest) async throws -> ReleaseRecord {
        ReleaseRecord(request: request, entries: try await ReleasePlanner(cloud: env.cloud).plan(request), at: clock.now())
    }

    /// Plans and starts a release (or waits for its approval). Idempotent on the id.
    public func submit(_ request: ReleaseRequest) async throws -> (ReleaseRecord, existing: Bool) {
        if let existing = releases[request.id] {
            guard existing.request.entries == request.entries else {
                throw EngineError(.alreadyExists, field: "id", "release id \(request.id) is already used by a different manifest")
            }
            return (existing, true)
        }
        let planned = try await plan(request)
        guard releases[request.id] == nil else { return (releases[request.id]!, true) }
        releases[request.id] = planned
        order.append(request.id)
        let changes = planned.entries.filter(\.needsChange).count
        var record = mutate(request.id, event: "release.accepted",
                            message: "\(changes) of \(planned.entries.count) entries to change") { _ in }
        if changes == 0 {
            finish(request.id, status: .succeeded, event: "release.succeeded", message: "nothing to change: every entry is at its image")
            return (releases[request.id]!, false)
        }
        if request.requireApproval {
            record = mutate(request.id, status: .pendingApproval, event: "approval.requested", message: "waiting for approval") { _ in }
        } else {
            launch(request.id)
        }
        return (record, false)
    }

    /// A release that could not even be read (a broken manifest from Git): recorded as failed.
    public func recordFailure(_ request: ReleaseRequest, error: String) {
        guard releases[request.id] == nil else { return }
        releases[request.id] = ReleaseRecord(request: request, entries: [], at: clock.now())
        order.append(request.id)
        _ = mutate(request.id, event: "release.accepted", message: "manifest of \(request.origin?.commit ?? request.id)") { _ in }
        finish(request.id, status: .failed, event: "release.failed", error: error, message: error)
    }

    public func status(id: String) throws -> ReleaseRecord {
        guard let record = releases[id] else { throw EngineError(.notFound, field: "id", "release \(id) not found") }
        return record
    }

    public func contains(_ id: String) -> Bool { releases[id] != nil }

    /// Newest first.
    public func list() -> [ReleaseRecord] { order.reversed().compactMap { releases[$0] } }

    public func approve(id: String, approver: String, reason: String) throws -> ReleaseRecord {
        try decide(id: id, approved: true, approver: approver, reason: reason)
    }

    public func reject(id: String, approver: String, reason: String) throws -> ReleaseRecord {
        try decide(id: id, approved: false, approver: approver, reason: reason)
    }

    private func decide(id: String, approved: Bool, approver: String, reason: String) throws -> ReleaseRecord {
        let record = try status(id: id)
        guard record.status == .pendingApproval else {
            throw EngineError(.failedPrecondition, "release \(id) is not waiting for approval (status \(record.status.rawValue))")
        }
        let decision = try ApprovalRecord.decision(approved: approved, approver: approver, reason: reason, at: clock.now())
        let because = reason.isEmpty ? "" : ": \(reason)"
        if approved {
            let updated = mutate(id, status: .pending, event: "approval.approved", message: "approved by \(approver)\(because)") {
                $0.approval = decision
            }
            launch(id)
            return updated
        }
        _ = mutate(id, event: "approval.rejected", message: "rejected by \(approver)\(because)") { $0.approval = decision }
        finish(id, status: .rejected, event: "release.rejected", error: "rejected by \(approver)\(because)", message: "nothing was changed")
        return releases[id]!
    }

    /// Rolls back every entry a finished release changed (or, while it runs, stops it and
    /// then rolls back).
    public func rollback(id: String, requestedBy: String, reason: String) throws -> ReleaseRecord {
        let record = try status(id: id)
        let why = "rollback requested" + (requestedBy.isEmpty ? "" : " by \(requestedBy)") + (reason.isEmpty ? "" : ": \(reason)")
        switch record.status {
        case .pendingApproval:
            throw EngineError(.failedPrecondition, "release \(id) is waiting for approval; reject it instead of rolling it back")
        case .rollingBack, .rolledBack:
            throw EngineError(.failedPrecondition, "release \(id) is already \(record.status == .rollingBack ? "rolling back" : "rolled back")")
        case .rejected:
            throw EngineError(.failedPrecondition, "release \(id) was rejected; nothing to roll back")
        case .pending, .inProgress:
            stopping.insert(id)
            return mutate(id, event: "rollback.requested", message: why) { $0.error = why }
        case .succeeded, .failed, .interrupted:
            let updated = mutate(id, status: .rollingBack, event: "rollback.requested", message: why) { $0.error = why }
            tasks[id] = Task { await self.rollBackEntries(id, reason: why) }
            return updated
        }
    }

    public func watch(id: String) throws -> AsyncStream<ReleaseEvent> {
        let record = try status(id: id)
        return streams.subscribe(id, history: record.events, live: !record.status.isTerminal) { [weak self] token in
            Task { await self?.removeStream(id, token) }
        }
    }

    private func removeStream(_ id: String, _ token: UUID) { streams.remove(id, token) }

    // MARK: Bookkeeping

    private func launch(_ id: String) {
        tasks[id] = Task { await self.run(id) }
    }

    @discardableResult
    func mutate(_ id: String, status: DeploymentStatus? = nil, event type: String, entry: String = "", message: String = "",
                _ change: (inout ReleaseRecord) -> Void) -> ReleaseRecord {
        guard var record = releases[id] else { preconditionFailure("release \(id) unknown") }
        let now = clock.now()
        change(&record)
        if let status { record.status = status }
        record.updatedAt = now
        if record.status.isTerminal { record.finishedAt = now }
        let event = ReleaseEvent(releaseID: id, sequence: record.events.count + 1, at: now, type: type, entry: entry,
                                 status: record.status, message: message)
        record.events.append(event)
        releases[id] = record
        for observer in observers { observer.observe(event, release: record) }
        streams.yield(id, event)
        var log = env.logger
        log[metadataKey: "release_id"] = "\(id)"
        log.info("\(type)\(entry.isEmpty ? "" : " [\(entry)]") \(message)")
        return record
    }

    func finish(_ id: String, status: DeploymentStatus, event: String, error: String = "", message: String) {
        mutate(id, status: status, event: event, message: message) { if !error.isEmpty { $0.error = error } }
        stopping.remove(id)
        tasks[id] = nil
        streams.finish(id)
    }

    func updateEntry(_ id: String, _ index: Int, status: EntryStatus, event: String, message: String,
                     _ change: (inout EntryState) -> Void = { _ in }) {
        let label = releases[id]?.entries[index].entry.label ?? ""
        mutate(id, event: event, entry: label, message: message) { record in
            record.entries[index].status = status
            change(&record.entries[index])
        }
    }

    func entry(_ id: String, _ index: Int) -> EntryState? { releases[id]?.entries[index] }
    func isStopping(_ id: String) -> Bool { stopping.contains(id) }
    func stop(_ id: String) { stopping.insert(id) }
}
