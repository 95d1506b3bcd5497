import CloudModel
import ServiceLifecycle
import Synchronization

/// The work a service owns (the deployment engine's runs, rollbacks and approval timers; the
/// release manager's releases), each job a child of one task group held by the service's
/// `run()`: the service ends only once its work has, and cancelling the service cancels its
/// work. A job can be told to stop (`Work.cancel`) and awaited (`Work.finished`).
final class WorkGroup: Sendable {
    private struct Job: Sendable {
        let work: Work
        let body: @Sendable () async -> Void

        /// Runs the body until it ends or its work is told to stop (then cancelled, and awaited).
        func run() async {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await body() }
                group.addTask { await work.untilStopAsked() }
                await group.next()
                group.cancelAll()
            }
            work.end()
        }
    }

    private let jobs = WaitQueue<Job>()

    init() {}

    /// Queues `body` to run as a child of the group, and returns its handle; `accepted` is
    /// called first, before the job can run. Once the group is closed nothing starts: the
    /// handle is returned finished.
    func start(accepted: () -> Void = {}, _ body: @escaping @Sendable () async -> Void) -> Work {
        let work = Work()
        if case .refused = jobs.push(Job(work: work, body: body), accepted: accepted) { work.end() }
        return work
    }

    var isClosed: Bool { jobs.isClosed }

    /// Nothing starts after this; `run()` returns once the jobs started end.
    func close() { jobs.close() }

    /// Runs every job started, each as a child task, until `close()`, and returns once they
    /// all ended. Cancelled, it closes the group; the jobs queued still run (cancelled).
    /// The jobs run on `WorkerThreads` (their tasks, and the default actors they enter, run
    /// there by preference).
    func run() async {
        await withTaskExecutorPreference(WorkerThreads.shared) {
            await withDiscardingTaskGroup { group in
                while case let started = await jobs.next(), !started.isEmpty {
                    for job in started { group.addTask { await job.run() } }
                }
            }
        }
    }
}

extension WorkGroup {
    /// Starts a job handed to it on `clock` (see `DeployClock.handOff`).
    func start(on clock: any DeployClock, _ body: @escaping @Sendable () async -> Void) -> Work {
        start(accepted: { clock.handOff(1) }) {
            clock.takeUp(handedOff: true)
            await body()
            clock.workDone()
        }
    }

    /// Runs the jobs until a graceful shutdown of the service group (or cancellation), then
    /// `drain`, which must close the group; returns once every job ended. When `drain` was
    /// called before (the release manager drains the engine), this still returns only at the
    /// shutdown: a service of a group ends at its turn.
    func runUntilShutdown(drain: @escaping @Sendable (_ cancelled: Bool) async -> Void) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.run() }
            let cancelled = (try? await gracefulShutdown()) == nil
            if !isClosed { await drain(cancelled) }
        }
    }
}

/// One job of a `WorkGroup`.
final class Work: Sendable {
    private struct State {
        var stopAsked = false
        var ended = false
        var stopWaiter: CheckedContinuation<Void, Never>?
        var endWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    var isFinished: Bool { state.withLock { $0.ended } }

    /// Tells the job to stop: its task is cancelled.
    func cancel() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.stopAsked = true
            defer { s.stopWaiter = nil }
            return s.stopWaiter
        }
        waiter?.resume()
    }

    /// Returns once the job ended (at once when it has).
    func finished() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let ended = state.withLock { s -> Bool in
                if !s.ended { s.endWaiters.append(waiter) }
                return s.ended
            }
            if ended { waiter.resume() }
        }
    }

    /// Returns once `cancel()` was called, or the calling task is cancelled.
    fileprivate func untilStopAsked() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                // Cancellation is read once: read twice, a cancellation in between let both this
                // and the cancellation handler (`cancel()`) resume the waiter.
                let asked = state.withLock { s -> Bool in
                    if s.stopAsked || Task.isCancelled { return true }
                    s.stopWaiter = waiter
                    return false
                }
                if asked { waiter.resume() }
            }
        } onCancel: {
            cancel()
        }
    }

    fileprivate func end() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.ended = true
            defer { s.endWaiters = [] }
            return s.endWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

extension DeploymentEngine: Service {}
extension ReleaseManager: Service {}
