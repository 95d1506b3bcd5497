import CloudModel
import Foundation

extension ReleaseManager {
    /// Scheduled tasks first, then the services wave by wave, each wave in parallel (bounded
    /// by `maxParallel` and, underneath, by the AWS client's rate limits).
    ///
    /// - Parameter resumed: the release was picked up after a restart: entries in progress are
    ///   continued (their deployments awaited, not started again) along with those not started.
    func run(_ id: String, resumed: Bool = false) async {
        guard var record = registry[id] else { return }
        if record.status != .inProgress {
            guard await waitToStart(id), let current = registry[id] else { return }
            record = current
            _ = try? transition(id, .started)
            await mutate(id, status: lifecycleStatus(id), event: .releaseStarted,
                         message: "\(record.entries.filter(\.needsChange).count) entries to change")
        }
        let limit = record.request.maxParallel ?? Int.max
        let open: Set<EntryStatus> = resumed ? [.pending, .inProgress] : [.pending]
        let todo = record.entries.indices.filter { open.contains(record.entries[$0].status) }
        let tasksFirst = todo.filter { record.entries[$0].entry.kind == .scheduledTask }
        await forEach(tasksFirst, limit: limit) { index in await self.runScheduledTask(id, index) }
        let services = todo.filter { record.entries[$0].entry.kind == .service }
        for wave in Set(services.map { record.entries[$0].entry.wave }).sorted() {
            let members = services.filter { record.entries[$0].entry.wave == wave }
            await forEach(members, limit: limit) { index in await self.runService(id, index, resumed: resumed) }
        }
        await conclude(id)
    }

    /// Holds a release that may not start yet: before its start time (`-at`, `schedule`), and
    /// while a deploy window of one of its services is closed (WAITING_WINDOW), all the
    /// services' windows being open at once when it starts. Returns false when the server
    /// stops meanwhile (it waits again at the next start); a rollback asked meanwhile cancels
    /// it (the run goes on, starts nothing and ends ROLLED_BACK).
    func waitToStart(_ id: String) async -> Bool {
        while let record = registry[id], accepting {
            if isStopping(id) { return true }
            let now = wallClock.now()
            let services = record.entries.filter { $0.needsChange && $0.entry.kind == .service }.map(\.entry)
            let windows = services.map { engine.windows.applying(cluster: $0.cluster, service: $0.service) }
            let message: String
            let until: Date?
            let window: Bool
            if let at = record.request.startAt, at > now {
                (message, until, window) = ("scheduled: starts at \(at.ISO8601Format())", at, false)
            } else if let closed = zip(services, windows).first(where: { DeployWindows.closed($0.1, at: now) != nil }) {
                let opening = DeployWindows.nextOpening(allOf: windows, from: now)
                message = "waiting for a deploy window: \(closed.0.label): \(DeployWindows.closed(closed.1, at: now) ?? ""); "
                    + (opening.map { "starts at \($0.ISO8601Format())" } ?? "no window opens for all its services within 35 days")
                (until, window) = (opening, true)
            } else {
                return true
            }
            _ = try? transition(id, .held(window: window))
            if record.events.last?.message != message || record.status != lifecycleStatus(id) {
                await mutate(id, status: lifecycleStatus(id), event: .releaseQueued, message: message)
            }
            // Looked at again then, or in an hour when no time is known (the config may not
            // change, but a window's hour passes).
            let delay = Duration.seconds(max(1, min(until?.timeIntervalSince(now) ?? 3600, 366 * 86400)))
            let clock = env.clock
            let wait = ParentWait(clock: clock)
            let sleeper = work.start(on: clock) {
                _ = try? await clock.sleep(for: delay)
                wait.childEnds()
            }
            startWaits[id] = sleeper
            wait.waits()
            await sleeper.finished()
            wait.resumes()
            startWaits[id] = nil
        }
        return false
    }

    /// Runs `body` for every index, at most `limit` at a time.
    private func forEach(_ indices: [Int], limit: Int, _ body: @escaping @Sendable (Int) async -> Void) async {
        let clock = env.clock
        // While it waits for an entry, this task's work is the entries'.
        let wait = ParentWait(clock: clock)
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for index in indices {
                if running >= limit {
                    wait.waits()
                    await group.next()
                    wait.resumes()
                    running -= 1
                }
                clock.handOff(1)
                group.addTask {
                    clock.takeUp(handedOff: true)
                    await body(index)
                    wait.childEnds()
                    clock.workDone()
                }
                running += 1
            }
            while running > 0 {
                wait.waits()
                await group.next()
                wait.resumes()
                running -= 1
            }
        }
    }

    /// Whether a pending entry may start. While the server stops it stays pending (it starts
    /// at the next start); once the release's policy stopped new starts it is NOT_STARTED.
    func startable(_ id: String, _ index: Int) async -> Bool {
        guard accepting else { return false }
        guard isStopping(id) else { return true }
        await updateEntry(id, index, status: .notStarted, event: .entryNotStarted, message: "the release stopped before this entry")
        return false
    }

    /// Whether a deployment's outcome only says that the server is stopping: the engine
    /// checkpointed it (it resumes at the next start) or, without a durable store, interrupted
    /// it. Not a failure of the entry.
    func stoppedByShutdown(_ deployment: DeploymentRecord) -> Bool {
        !deployment.status.isTerminal || (!accepting && deployment.status == .interrupted)
    }

    /// Deploys one service through the engine and waits for the outcome. Resumed, a
    /// deployment that the previous run started (and the engine resumed) is awaited instead.
    private func runService(_ id: String, _ index: Int, resumed: Bool) async {
        guard var state = entry(id, index) else { return }
        let e = state.entry
        let deploymentID = state.deploymentID ?? "\(id).\(index + 1)"
        let existing = resumed ? try? await engine.status(id: deploymentID) : nil
        if existing != nil {
            guard accepting else { return }
            await updateEntry(id, index, status: .inProgress, event: .entryResumed,
                              message: "deployment \(deploymentID): \(state.oldImages.joined(separator: ", ")) -> \(state.newImage)") {
                $0.deploymentID = deploymentID
            }
        } else {
            // The cost from the plan, or the live definition the entry was just planned from.
            var known = state.cost.map(KnownCost.cost)
            if state.status == .pending {
                guard await startable(id, index) else { return }
                if state.newTaskDefinitionJSON == nil {
                    // Reading the task definition may have waited: the release may have stopped.
                    guard let (planned, live) = await planEntry(id, index), await startable(id, index) else { return }
                    state = planned
                    known = .liveDefinition(live)
                }
            } else {
                guard accepting else { return }
            }
            guard let json = state.newTaskDefinitionJSON else { return }
            let request = DeploymentRequest(id: deploymentID, cluster: e.cluster, service: e.service, strategy: e.strategy,
                                            taskDefinition: json, config: e.config, requestedBy: "release \(id)")
            do {
                // Over a limit, an entry waits its turn rather than fail the release.
                state.cost = try await engine.submit(request, queueWhenLimited: true, known: known).0.cost ?? state.cost
            } catch {
                // Refused because the server is stopping: the entry starts at the next start.
                if !accepting { return }
                return await entryFailed(id, index, "\(error)")
            }
            let plan = state
            await updateEntry(id, index, status: .inProgress, event: .entryStarted,
                              message: "deployment \(deploymentID): \(state.oldImages.joined(separator: ", ")) -> \(state.newImage)") {
                $0.deploymentID = deploymentID
                $0.oldImages = plan.oldImages
                $0.newTaskDefinitionJSON = plan.newTaskDefinitionJSON
                $0.cost = plan.cost
            }
        }
        do {
            let final = try await engine.waitUntilFinished(id: deploymentID)
            if final.status == .succeeded {
                await updateEntry(id, index, status: .succeeded, event: .entrySucceeded, message: "deployment \(deploymentID) succeeded") {
                    $0.newTaskDefinition = final.facts.newTaskDefinition
                }
            } else if stoppedByShutdown(final) {
                // The entry stays in progress; its deployment and the release resume together.
                return
            } else {
                let rolledBack = final.status == .rolledBack
                await entryFailed(id, index, "deployment \(deploymentID) \(final.status.rawValue): \(final.error)", rolledBack: rolledBack)
            }
        } catch {
            await entryFailed(id, index, "\(error)")
        }
    }

    /// Plans an entry of a pipelined release just before it starts (see `submit`); the plan
    /// is recorded with the entry's start (a deployment started but not recorded is found by
    /// its id when the release resumes). Nil when there is nothing to start: the entry is at
    /// its image already (SKIPPED) or could not be planned (FAILED, and the policy applies).
    func planEntry(_ id: String, _ index: Int) async -> (EntryState, live: TaskDefinition)? {
        guard let state = entry(id, index), let live = state.previousTaskDefinition else { return nil }
        do {
            let (planned, definition) = try await planner.plan(state.entry, live: live, targets: state.updatedTargets)
            let change = "\(planned.oldImages.joined(separator: ", ")) -> \(planned.newImage)"
            if planned.status == .skipped {
                await updateEntry(id, index, status: .skipped, event: .entrySkipped, message: "already at its image: \(change)") { $0 = planned }
                return nil
            }
            return (planned, definition)
        } catch {
            await entryFailed(id, index, "the entry cannot be planned: " + ReleasePlanner.problem(state.entry, error))
            return nil
        }
    }

    /// Records the failure and applies the release's policy.
    func entryFailed(_ id: String, _ index: Int, _ error: String, rolledBack: Bool = false) async {
        await updateEntry(id, index, status: rolledBack ? .rolledBack : .failed, event: .entryFailed, message: error) { $0.error = error }
        await follow(id, .entryFailed(index))
    }

    /// An entry failed under a policy that stops the release: no new entry starts, and with
    /// `rollBackRunning` the entries still deploying roll back at once.
    func stopStarts(_ id: String, after index: Int, rollBackRunning: Bool) async {
        guard let record = registry[id] else { return }
        let failed = record.entries[index]
        await mutate(id, event: .releaseStopping, message: "\(failed.entry.label) failed; no new entries start") {
            if $0.error.isEmpty { $0.error = "\(failed.entry.label): \(failed.error)" }
        }
        guard rollBackRunning else { return }
        for entry in record.entries where entry.status == .inProgress {
            if let deployment = entry.deploymentID {
                _ = try? await engine.rollback(id: deployment, requestedBy: "release \(id)", reason: "release rolling back")
            }
        }
    }

    /// Once every started entry settled, the lifecycle decides the outcome: an entry left to
    /// start or to finish means the server is stopping.
    private func conclude(_ id: String) async {
        guard let record = registry[id] else { return }
        let unfinished = record.entries.contains { $0.status == .pending || $0.status == .inProgress }
        let failed = record.entries.contains { $0.status == .failed || $0.status == .rolledBack }
        await follow(id, .runEnded(unfinished: unfinished, failed: failed))
    }

    /// Puts every changed entry back on its previous revision, in parallel. Resumed, it
    /// continues with the entries not rolled back yet.
    func rollBackEntries(_ id: String) async {
        guard let record = registry[id] else { return }
        let changed = record.entries.indices.filter {
            [.succeeded, .inProgress, .failed, .rollingBack].contains(record.entries[$0].status)
        }
        await forEach(changed, limit: record.request.maxParallel ?? Int.max) { index in await self.rollBack(id, index) }
        let left = registry[id]?.entries.contains { $0.status == .failed || $0.status == .rollingBack || $0.status == .succeeded } ?? false
        await follow(id, .rollbackEnded(left: left, serverStopping: !accepting))
    }

    /// Rolls one entry back. While the server stops it leaves the entry as it is (the
    /// rollback of a release continues at the next start).
    private func rollBack(_ id: String, _ index: Int) async {
        guard accepting, let state = entry(id, index) else { return }
        if state.status != .rollingBack {
            await updateEntry(id, index, status: .rollingBack, event: .entryRollingBack,
                              message: "back to \(state.previousTaskDefinition?.arnResourceName ?? "?")")
        }
        do {
            switch state.entry.kind {
            case .scheduledTask:
                if let new = state.newTaskDefinition, let previous = state.previousTaskDefinition {
                    _ = try await repoint(rule: state.entry.ruleName, from: new, to: previous, only: state.updatedTargets)
                }
                await updateEntry(id, index, status: .rolledBack, event: .entryRolledBack,
                                  message: "rule \(state.entry.ruleName) runs \(state.previousTaskDefinition?.arnResourceName ?? "?") again")
            case .service:
                guard let deployment = state.deploymentID else {
                    return await updateEntry(id, index, status: .rolledBack, event: .entryRolledBack, message: "nothing was changed")
                }
                var final = try await engine.status(id: deployment)
                if final.status != .rolledBack {
                    if final.status.isTerminal == false || final.status == .succeeded || final.status == .interrupted {
                        _ = try? await engine.rollback(id: deployment, requestedBy: "release \(id)", reason: "release rolling back")
                    }
                    final = try await engine.waitUntilFinished(id: deployment)
                }
                if final.status == .rolledBack {
                    await updateEntry(id, index, status: .rolledBack, event: .entryRolledBack, message: "deployment \(deployment) rolled back")
                } else if !final.status.isTerminal || (!accepting && final.status != .failed) {
                    // Checkpointed by the shutdown, or not rolled back because the server stops.
                    return
                } else {
                    await updateEntry(id, index, status: .failed, event: .entryRollbackFailed,
                                      message: "deployment \(deployment) \(final.status.rawValue): \(final.error)") { $0.error = final.error }
                }
            }
        } catch {
            if !accepting { return }
            await updateEntry(id, index, status: .failed, event: .entryRollbackFailed, message: "\(error)") { $0.error = "\(error)" }
        }
    }

    func summary(_ id: String) -> String {
        (registry[id]?.counts ?? [:]).sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    }
}
