import Foundation

extension ReleaseManager {
    /// Picks up every release the store has unfinished, after `DeploymentEngine.recover` (so
    /// that the deployments of its entries are running again). A release waiting for approval
    /// still waits and can be approved; a running release continues: entries whose deployment
    /// exists are awaited through the engine, entries not started are started; a release that
    /// was rolling back continues its rollback. Returns how many were picked up.
    @discardableResult
    public func recover() async throws -> Int {
        let records = try await store.unfinishedReleases()
        var picked = 0
        for record in records where registry[record.id] == nil {
            let id = record.id
            adopt(record, stored: true)
            picked += 1
            let input = ReleaseLifecycle.Input.recovered(changes: record.entries.filter(\.needsChange).count,
                                                         hasEntries: !record.request.entries.isEmpty,
                                                         awaitingApproval: record.request.requireApproval && record.approval == nil)
            guard let effects = try? transition(id, input) else { continue }
            switch effects.first {
            case nil:
                await mutate(id, event: .releaseRecovered, message: "still waiting for approval")
            case .continueRollback?:
                await mutate(id, event: .releaseRecovered, message: "continuing the rollback")
            case .startRun?:
                await mutate(id, event: .releaseRecovered, message: "resuming (\(summary(id)))")
            default:
                break
            }
            await perform(id, effects)
        }
        return picked
    }

    /// Runs the releases' work (a service of the server's lifecycle group, stopped before the
    /// engine's) until a graceful shutdown, then drains it and the engine's within the
    /// engine's `drainTimeout` (see `shutdown`); returns once the work ended.
    public nonisolated func run() async {
        await work.runUntilShutdown { cancelled in
            await self.shutdown(timeout: cancelled ? .zero : self.engine.drainTimeout)
        }
    }

    /// Stops releases and deployments, for a graceful shutdown: no new release, approval or
    /// rollback; running releases start no new entry; the engine lets running deployments
    /// finish within `timeout` and checkpoints (or interrupts) the rest
    /// (`DeploymentEngine.shutdown`); then each running release is checkpointed to resume at
    /// the next start (with a durable store) or ends INTERRUPTED.
    public func shutdown(timeout: Duration) async {
        accepting = false
        // Releases waiting to start wait again at the next start.
        for sleeper in startWaits.values { sleeper.cancel() }
        await engine.shutdown(timeout: timeout)
        // Each release task ends once its deployments have ended or been checkpointed.
        // Including work started while this waits.
        while let running = registry.allTasks.first(where: { !$0.isFinished }) { await running.finished() }
        for id in Array(registry.lifecycles.keys) { await follow(id, .serverStopped) }
        stopped = true
        registry.watchers.finishAll()
        work.close()
    }

    /// The server stopped while the release ran, and its record outlives the process: it is
    /// left unfinished, to resume at the next start.
    func checkpoint(_ id: String) async {
        let own = registry.task(id)
        await mutate(id, event: .releaseCheckpointed,
                     message: "the server stopped during the release (\(summary(id))); it resumes at the next start")
        registry.endWork(id, own: own)
        registry.watchers.finish(id)
    }

    /// Deletes finished releases older than `date` from the store.
    public func purge(finishedBefore date: Date) async throws -> Int {
        try await store.purgeReleases(finishedBefore: date)
    }

    /// Releases running now (forward or rollback).
    public var runningCount: Int { registry.runningCount }
}
