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
        for record in records where releases[record.id] == nil {
            let id = record.id
            adopt(record, stored: true)
            picked += 1
            // The policy's stop, or a rollback asked while it ran, holds after the restart.
            if record.events.contains(where: { $0.kind == .releaseStopping || $0.kind == .rollbackRequested }) {
                stopping.insert(id)
            }
            switch record.status {
            case .pendingApproval:
                await mutate(id, event: .releaseRecovered, message: "still waiting for approval")
            case .rollingBack:
                await mutate(id, event: .releaseRecovered, message: "continuing the rollback")
                tasks[id] = Task { await self.rollBackEntries(id, reason: record.error) }
            case .pending where !record.entries.contains(where: \.needsChange):
                // Stopped between acceptance and its outcome, with nothing to run.
                if record.request.entries.isEmpty {
                    let error = "the server stopped before the outcome of the release was recorded"
                    await finish(id, status: .failed, event: .releaseFailed, error: error, message: error)
                } else {
                    await finish(id, status: .succeeded, event: .releaseSucceeded, message: "nothing to change: every entry is at its image")
                }
            case .pending where record.request.requireApproval && record.approval == nil:
                await mutate(id, status: .pendingApproval, event: .approvalRequested, message: "waiting for approval")
            default:
                await mutate(id, event: .releaseRecovered, message: "resuming (\(summary(id)))")
                launch(id, resumed: true)
            }
        }
        return picked
    }

    /// Stops releases and deployments, for a graceful shutdown: no new release, approval or
    /// rollback; running releases start no new entry; the engine lets running deployments
    /// finish within `timeout` and checkpoints (or interrupts) the rest
    /// (`DeploymentEngine.shutdown`); then each running release is checkpointed to resume at
    /// the next start (with a durable store) or ends INTERRUPTED.
    public func shutdown(timeout: Duration) async {
        accepting = false
        await engine.shutdown(timeout: timeout)
        // Each release task ends once its deployments have ended or been checkpointed.
        for task in Array(tasks.values) { await task.value }
        if !store.isDurable {
            let why = "the server stopped while the release waited for approval; nothing was changed"
            for (id, record) in releases where record.status == .pendingApproval {
                await finish(id, status: .interrupted, event: .releaseInterrupted, error: why, message: why)
            }
        }
        stopped = true
        streams.finishAll()
    }

    /// The server stops while the release runs: with a durable store the release is left
    /// unfinished, to resume at the next start; otherwise it ends INTERRUPTED.
    func checkpoint(_ id: String) async {
        guard store.isDurable else {
            let message = "the server stopped during the release (\(summary(id)))"
            await finish(id, status: .interrupted, event: .releaseInterrupted, error: message, message: message)
            return
        }
        let own = tasks[id]
        await mutate(id, event: .releaseCheckpointed,
                     message: "the server stopped during the release (\(summary(id))); it resumes at the next start")
        if tasks[id] == own { tasks[id] = nil }
        streams.finish(id)
    }

    /// Deletes finished releases older than `date` from the store.
    public func purge(finishedBefore date: Date) async throws -> Int {
        try await store.purgeReleases(finishedBefore: date)
    }

    /// Releases running now (forward or rollback).
    public var runningCount: Int { tasks.count }
}
