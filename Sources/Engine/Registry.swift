import CloudModel
import Foundation

/// A record kept through a lifecycle: a status, its times, and the log of its events. A
/// deployment and a release are both one.
protocol LifecycleRecord: Sendable {
    associatedtype Event: Sendable
    associatedtype EventKind: Sendable
    /// "deployment", "release": for messages.
    static var noun: String { get }
    var id: String { get }
    var status: DeploymentStatus { get set }
    var updatedAt: Date { get set }
    var finishedAt: Date? { get set }
    var events: [Event] { get set }
    /// The record's next event, as the record stands after the change it records. `subject`
    /// names the stage or the entry it is about (empty: the record's own).
    func nextEvent(_ kind: EventKind, subject: String, at: Date, message: String) -> Event
}

extension DeploymentRecord: LifecycleRecord {
    static var noun: String { "deployment" }
    func nextEvent(_ kind: DeploymentEventKind, subject: String, at: Date, message: String) -> DeploymentEvent {
        DeploymentEvent(deploymentID: id, sequence: events.count + 1, at: at, kind: kind,
                        stage: subject.isEmpty ? currentStage : subject, status: status, progress: progress, message: message)
    }
}

extension ReleaseRecord: LifecycleRecord {
    static var noun: String { "release" }
    func nextEvent(_ kind: ReleaseEventKind, subject: String, at: Date, message: String) -> ReleaseEvent {
        ReleaseEvent(releaseID: id, sequence: events.count + 1, at: at, kind: kind, entry: subject, status: status, message: message)
    }
}

/// The decisions of a record's lifecycle, as a value (`DeploymentLifecycle`, `ReleaseLifecycle`).
protocol Lifecycle: Sendable {
    associatedtype Input
    associatedtype Effect
    var status: DeploymentStatus { get }
    mutating func handle(_ input: Input) throws -> [Effect]
}

extension DeploymentLifecycle: Lifecycle {}
extension ReleaseLifecycle: Lifecycle {}

/// The bookkeeping that deployments and releases share, owned by one actor (the deployment
/// engine, the release manager): the records this process holds (readable without entering
/// the actor), each one's lifecycle, the work running for each, and the live subscribers to
/// their events. The store has every record; this has the ones not finished here.
struct Registry<Record: LifecycleRecord, RecordLifecycle: Lifecycle> {
    let live = LiveRecords<Record>()
    /// The decisions of each held record's lifecycle.
    var lifecycles: [String: RecordLifecycle] = [:]
    /// Where the records' work runs: a task group held by the owner's `run()` (see `WorkGroup`).
    let work = WorkGroup()
    /// The work running now for a record (its run or its rollback).
    private(set) var tasks: [String: Work] = [:] {
        didSet { tasksChanged?.yield() }
    }
    /// Told of every change of `tasks` while someone waits for the running work to end.
    private var tasksChanged: AsyncStream<Void>.Continuation?
    let watchers = EventStreams<Record.Event>()

    subscript(id: String) -> Record? { live[id] }

    /// Starts holding a record (new, or read from the store) with its lifecycle.
    mutating func hold(_ record: Record, _ lifecycle: RecordLifecycle) {
        live[record.id] = record
        lifecycles[record.id] = lifecycle
    }

    /// Feeds the record's lifecycle an input: its new state is kept, its effects returned (to
    /// be performed once the transition is recorded).
    @discardableResult
    mutating func transition(_ id: String, _ input: RecordLifecycle.Input) throws -> [RecordLifecycle.Effect] {
        guard var lifecycle = lifecycles[id] else {
            throw EngineError(.failedPrecondition, "\(Record.noun) \(id) is not running in this server")
        }
        let effects = try lifecycle.handle(input)
        lifecycles[id] = lifecycle
        return effects
    }

    /// The status the record's lifecycle is at (recorded with the transition's event).
    func lifecycleStatus(_ id: String) -> DeploymentStatus? { lifecycles[id]?.status }

    /// Applies a change to a held record in place, with its status and times, appends the event
    /// that records it, and hands the event to the watchers. Nil when the record is not held.
    func record(_ id: String, at now: Date, status: DeploymentStatus?, kind: Record.EventKind, subject: String = "",
                message: String, _ change: (inout Record) -> Void) -> Record.Event? {
        let event = live.modify(id) { record -> Record.Event in
            change(&record)
            if let status { record.status = status }
            record.updatedAt = now
            if record.status.isTerminal { record.finishedAt = now }
            let event = record.nextEvent(kind, subject: subject, at: now, message: message)
            record.events.append(event)
            return event
        }
        if let event { watchers.yield(id, event) }
        return event
    }

    // MARK: Work

    /// Runs the record's work as a job of `work`, handed to it on `clock` (see
    /// `DeployClock.handOff`).
    mutating func launch(_ id: String, clock: any DeployClock, _ body: @escaping @Sendable () async -> Void) {
        tasks[id] = work.start(on: clock, body)
    }

    func task(_ id: String) -> Work? { tasks[id] }
    var runningCount: Int { tasks.count }
    /// The work running now, as it is now.
    var allTasks: [Work] { Array(tasks.values) }

    /// The work of `id` is over (when `own` is given: only if it is still that job).
    mutating func endWork(_ id: String, own: Work? = nil) {
        if own == nil || tasks[id] === own { tasks[id] = nil }
    }

    /// Stops holding a record: its work, its lifecycle, its watchers (it stays in the store).
    mutating func drop(_ id: String) {
        live[id] = nil
        lifecycles[id] = nil
        tasks[id] = nil
        watchers.finish(id)
    }

    /// A stream told of each change of the running work, for `waitUntilNoneRuns`; `stopTelling`
    /// ends it.
    mutating func tellChanges() -> AsyncStream<Void> {
        let (changes, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        tasksChanged = continuation
        continuation.yield()
        return changes
    }

    mutating func stopTelling() {
        tasksChanged?.finish()
        tasksChanged = nil
    }

    /// Returns once `idle` (nothing runs) holds after a change of `changes`, or at `deadline`
    /// (wall time), whichever comes first: woken by the work's ends, not by polling.
    static func waitUntilNoneRuns(_ changes: AsyncStream<Void>, until deadline: ContinuousClock.Instant,
                              idle: @escaping @Sendable () async -> Bool) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in changes where await idle() { return }
            }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }
}
