import CloudModel
import Foundation

extension ReleaseManager {
    /// Scheduled tasks first, then the services wave by wave, each wave in parallel (bounded
    /// by `maxParallel` and, underneath, by the AWS client's rate limits).
    func run(_ id: String) async {
        guard let record = releases[id] else { return }
        mutate(id, status: .inProgress, event: "release.started",
               message: "\(record.entries.filter(\.needsChange).count) entries to change") { _ in }
        let limit = record.request.maxParallel ?? Int.max
        let pending = record.entries.indices.filter { record.entries[$0].status == .pending }
        let tasksFirst = pending.filter { record.entries[$0].entry.kind == .scheduledTask }
        await forEach(tasksFirst, limit: limit) { index in await self.runScheduledTask(id, index) }
        let services = pending.filter { record.entries[$0].entry.kind == .service }
        for wave in Set(services.map { record.entries[$0].entry.wave }).sorted() {
            let members = services.filter { record.entries[$0].entry.wave == wave }
            await forEach(members, limit: limit) { index in await self.runService(id, index) }
        }
        await conclude(id)
    }

    /// Runs `body` for every index, at most `limit` at a time.
    private func forEach(_ indices: [Int], limit: Int, _ body: @escaping @Sendable (Int) async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for index in indices {
                if running >= limit {
                    await group.next()
                    running -= 1
                }
                group.addTask { await body(index) }
                running += 1
            }
            await group.waitForAll()
        }
    }

    private func startable(_ id: String, _ index: Int) -> Bool {
        guard isStopping(id) else { return true }
        updateEntry(id, index, status: .notStarted, event: "entry.not_started", message: "the release stopped before this entry")
        return false
    }

    /// Registers the new task definition and points the rule's ECS targets at it, keeping
    /// every other field of each target.
    private func runScheduledTask(_ id: String, _ index: Int) async {
        guard startable(id, index), let state = entry(id, index), let json = state.newTaskDefinitionJSON else { return }
        updateEntry(id, index, status: .inProgress, event: "entry.started", message: "\(state.oldImages.joined(separator: ", ")) -> \(state.newImage)")
        do {
            let registered = try await env.cloud.ecs.registerTaskDefinition(TaskDefinition(json: try JSONValue.parse(json)))
            guard let arn = registered.arn else { throw StageError("RegisterTaskDefinition returned no ARN") }
            updateEntry(id, index, status: .inProgress, event: "entry.registered", message: "registered \(arn.arnResourceName)") {
                $0.newTaskDefinition = arn
            }
            let changed = try await repoint(rule: state.entry.ruleName, from: state.previousTaskDefinition, to: arn, only: state.updatedTargets)
            updateEntry(id, index, status: .succeeded, event: "entry.succeeded",
                        message: "rule \(state.entry.ruleName): \(changed.count) target(s) run \(arn.arnResourceName)") { $0.updatedTargets = changed }
        } catch {
            await entryFailed(id, index, "\(error)")
        }
    }

    /// PutTargets with the task definition of each named ECS target replaced.
    func repoint(rule: String, from old: String?, to new: String, only ids: [String]) async throws -> [String] {
        let targets = try await env.cloud.events.listTargetsByRule(rule: rule)
        let chosen = targets.filter { t in ids.contains(t.id ?? "") && (old == nil || t.taskDefinitionArn == old || t.taskDefinitionArn == new) }
        guard !chosen.isEmpty else { throw StageError("rule \(rule) has none of its ECS targets \(ids.joined(separator: ", ")) left") }
        try await env.cloud.events.putTargets(rule: rule, targets: chosen.map { $0.withTaskDefinition(new) })
        return chosen.compactMap(\.id)
    }

    /// Deploys one service through the engine and waits for the outcome.
    private func runService(_ id: String, _ index: Int) async {
        guard startable(id, index), let state = entry(id, index), let json = state.newTaskDefinitionJSON,
              let record = releases[id] else { return }
        let e = state.entry
        let deploymentID = "\(id).\(index + 1)"
        let request = DeploymentRequest(id: deploymentID, cluster: e.cluster, service: e.service, strategy: e.strategy,
                                        taskDefinition: json, config: e.config, requestedBy: "release \(id)")
        do {
            _ = try await engine.submit(request)
            updateEntry(id, index, status: .inProgress, event: "entry.started",
                        message: "deployment \(deploymentID): \(state.oldImages.joined(separator: ", ")) -> \(state.newImage)") {
                $0.deploymentID = deploymentID
            }
            let final = try await engine.waitUntilFinished(id: deploymentID)
            if final.status == .succeeded {
                updateEntry(id, index, status: .succeeded, event: "entry.succeeded", message: "deployment \(deploymentID) succeeded") {
                    $0.newTaskDefinition = final.facts.newTaskDefinition
                }
            } else {
                let rolledBack = final.status == .rolledBack
                await entryFailed(id, index, "deployment \(deploymentID) \(final.status.rawValue): \(final.error)", rolledBack: rolledBack)
            }
        } catch {
            await entryFailed(id, index, "\(error)")
        }
        _ = record
    }

    /// Records the failure and applies the release's policy.
    private func entryFailed(_ id: String, _ index: Int, _ error: String, rolledBack: Bool = false) async {
        updateEntry(id, index, status: rolledBack ? .rolledBack : .failed, event: "entry.failed", message: error) { $0.error = error }
        guard let record = releases[id], record.request.onFailure != .continue, !isStopping(id) else { return }
        stop(id)
        mutate(id, event: "release.stopping", message: "\(record.entries[index].entry.label) failed; no new entries start") {
            if $0.error.isEmpty { $0.error = "\(record.entries[index].entry.label): \(error)" }
        }
        if record.request.onFailure == .rollback {
            // Entries still deploying roll back at once.
            for entry in record.entries where entry.status == .inProgress {
                if let deployment = entry.deploymentID {
                    _ = try? await engine.rollback(id: deployment, requestedBy: "release \(id)", reason: "release rolling back")
                }
            }
        }
    }

    /// The final status once every started entry settled.
    private func conclude(_ id: String) async {
        guard let record = releases[id] else { return }
        let failed = record.entries.filter { $0.status == .failed || $0.status == .rolledBack }
        let rollbackAsked = record.events.contains { $0.type == "rollback.requested" }
        if (record.request.onFailure == .rollback && !failed.isEmpty) || rollbackAsked {
            mutate(id, status: .rollingBack, event: "release.rolling_back",
                   message: "rolling back every entry the release changed") { _ in }
            await rollBackEntries(id, reason: record.error)
            return
        }
        if failed.isEmpty {
            finish(id, status: .succeeded, event: "release.succeeded", message: summary(id))
        } else {
            // With onFailure: continue no failure stopped the release, so none was recorded yet.
            let error = record.error.isEmpty ? failed.map { "\($0.entry.label): \($0.error)" }.joined(separator: "; ") : record.error
            finish(id, status: .failed, event: "release.failed", error: error, message: "\(error); \(summary(id))")
        }
    }

    /// Puts every changed entry back on its previous revision, in parallel.
    func rollBackEntries(_ id: String, reason: String) async {
        guard let record = releases[id] else { return }
        let changed = record.entries.indices.filter { [.succeeded, .inProgress, .failed].contains(record.entries[$0].status) }
        await forEach(changed, limit: record.request.maxParallel ?? Int.max) { index in await self.rollBack(id, index) }
        let left = releases[id]?.entries.filter { $0.status == .failed || $0.status == .rollingBack || $0.status == .succeeded } ?? []
        if left.isEmpty {
            finish(id, status: .rolledBack, event: "release.rolled_back", error: reason, message: "\(reason); \(summary(id))")
        } else {
            let names = left.map(\.entry.label).joined(separator: ", ")
            finish(id, status: .failed, event: "release.failed", error: "\(reason); rollback incomplete for \(names)", message: summary(id))
        }
    }

    private func rollBack(_ id: String, _ index: Int) async {
        guard let state = entry(id, index) else { return }
        updateEntry(id, index, status: .rollingBack, event: "entry.rolling_back", message: "back to \(state.previousTaskDefinition?.arnResourceName ?? "?")")
        do {
            switch state.entry.kind {
            case .scheduledTask:
                if let new = state.newTaskDefinition, let previous = state.previousTaskDefinition {
                    _ = try await repoint(rule: state.entry.ruleName, from: new, to: previous, only: state.updatedTargets)
                }
                updateEntry(id, index, status: .rolledBack, event: "entry.rolled_back", message: "rule \(state.entry.ruleName) runs \(state.previousTaskDefinition?.arnResourceName ?? "?") again")
            case .service:
                guard let deployment = state.deploymentID else {
                    return updateEntry(id, index, status: .rolledBack, event: "entry.rolled_back", message: "nothing was changed")
                }
                var final = try await engine.status(id: deployment)
                if final.status != .rolledBack {
                    if final.status.isTerminal == false || final.status == .succeeded || final.status == .interrupted {
                        _ = try? await engine.rollback(id: deployment, requestedBy: "release \(id)", reason: "release rolling back")
                    }
                    final = try await engine.waitUntilFinished(id: deployment)
                }
                if final.status == .rolledBack {
                    updateEntry(id, index, status: .rolledBack, event: "entry.rolled_back", message: "deployment \(deployment) rolled back")
                } else {
                    updateEntry(id, index, status: .failed, event: "entry.rollback_failed",
                                message: "deployment \(deployment) \(final.status.rawValue): \(final.error)") { $0.error = final.error }
                }
            }
        } catch {
            updateEntry(id, index, status: .failed, event: "entry.rollback_failed", message: "\(error)") { $0.error = "\(error)" }
        }
    }

    private func summary(_ id: String) -> String {
        (releases[id]?.counts ?? [:]).sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    }
}
