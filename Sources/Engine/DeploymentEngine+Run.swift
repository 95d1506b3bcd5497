import CloudModel
import Foundation

extension DeploymentEngine {
    func runner(for record: DeploymentRecord) -> DeploymentRunner {
        DeploymentRunner(engine: self, env: env, settings: record.settings)
    }

    /// Runs a deployment's stages; on failure (or a rollback request) runs its rollback.
    func drive(_ id: String, resumed: Bool = false) async {
        guard let record = record(id) else { return }
        let runner = runner(for: record)
        await mutate(id, status: .inProgress, event: resumed ? .deploymentResumed : .deploymentStarted,
                     message: "\(resumed ? "resuming" : "deploying") to \(record.request.serviceKey)") { _ in }
        let outcome = await runner.run(id, phase: .forward)
        switch (takeIntent(id), outcome) {
        case (.rollback(let why), _):
            launchRollback(id, reason: why)
        case (.shutdown, _), (nil, .cancelled):
            await interrupt(id)
        case (nil, .completed):
            let target = self.record(id)?.facts.newTaskDefinition?.arnResourceName ?? "?"
            await runner.reportingHook(.postSuccess, id: id)
            await finish(id, status: .succeeded, event: .deploymentSucceeded,
                         message: "service \(record.request.serviceKey) runs \(target)")
        case (nil, .failed(let reason)):
            await runRollback(id, reason: reason)
        }
    }

    /// Starts the rollback on a fresh task (the current one was cancelled to stop the stages).
    private func launchRollback(_ id: String, reason: String) {
        tasks[id] = Task { await self.runRollback(id, reason: reason) }
    }

    /// Undoes what the facts say the deployment did, then checks the service settled back.
    func runRollback(_ id: String, reason: String) async {
        guard let record = record(id) else { return }
        let plan = Plan.rollbackStages(facts: record.facts)
        guard !plan.isEmpty else {
            // Nothing was changed: the service is where it was, as after a rollback. For the
            // user the deployment was rolled back all the same, so the post_rollback hook runs.
            await runner(for: record).reportingHook(.postRollback, id: id)
            return await finish(id, status: .rolledBack, event: .deploymentRolledBack, error: reason,
                                message: "\(reason); nothing to undo: the service was not changed")
        }
        await mutate(id, status: .rollingBack, event: .rollbackStarted, message: reason) { r in
            r.error = reason
            r.rollbackStages = plan.map(StageRecord.init)
        }
        await continueRollback(id, reason: reason)
    }

    /// Runs the recorded rollback stages still to run, checks the service settled back
    /// (`RollbackCheck`), then records the outcome: ROLLED_BACK, or FAILED with what was
    /// left in the cloud.
    func continueRollback(_ id: String, reason: String) async {
        guard let record = record(id) else { return }
        let runner = runner(for: record)
        var outcome = await runner.run(id, phase: .rollback)
        _ = takeIntent(id)
        if outcome == .completed, let facts = self.record(id)?.facts {
            do {
                if let leftover = try await runner.rollbackLeftovers(record.request, facts: facts) { outcome = .failed(leftover) }
            } catch {
                outcome = .cancelled
            }
        }
        switch outcome {
        case .completed:
            let previous = self.record(id)?.facts.previousTaskDefinition?.arnResourceName ?? "?"
            await runner.reportingHook(.postRollback, id: id)
            await finish(id, status: .rolledBack, event: .deploymentRolledBack, error: reason,
                         message: "\(reason); rolled back: the service runs \(previous)")
        case .failed(let rollbackError):
            let state = await runner.describeServiceState(record.request)
            let error = "\(reason); rollback failed: \(rollbackError); \(state)"
            await runner.reportingHook(.postRollback, id: id)
            await finish(id, status: .failed, event: .deploymentFailed, error: error, message: error)
        case .cancelled:
            await interrupt(id)
        }
    }

    /// Records that the server stopped while the deployment ran, and where. With a durable
    /// store the deployment is left as it is, to resume at the next start.
    private func interrupt(_ id: String) async {
        guard let record = record(id) else { return }
        if store.isDurable {
            await mutate(id, event: .deploymentCheckpointed,
                         message: "the server stopped during stage \(record.currentStage); it resumes at the next start") { _ in }
            return forget(id)
        }
        let state = await runner(for: record).describeServiceState(record.request)
        let message = "the server stopped during stage \(record.currentStage.isEmpty ? "-" : record.currentStage); \(state)"
        await finish(id, status: .interrupted, event: .deploymentInterrupted, error: message, message: message)
    }
}

/// What to do, at start, with deployments a previous run left unfinished.
public enum RecoveryPolicy: String, Sendable {
    /// Continue from the last completed stage (a stage that was running runs again).
    case resume
    /// Roll back from the recorded facts.
    case rollback
}

extension DeploymentEngine {
    /// Picks up every deployment the store has unfinished. Returns how many.
    @discardableResult
    public func recover(_ policy: RecoveryPolicy) async throws -> Int {
        let records = try await store.unfinished().sorted { $0.createdAt < $1.createdAt }
        for record in records {
            let id = record.id
            guard active[id] == nil else { continue }
            active[id] = record
            locks[record.request.serviceKey] = id
            switch record.status {
            case .pendingApproval:
                await mutate(id, event: .deploymentRecovered, message: "still waiting for approval") { _ in }
                if let timeout = record.settings.approvalTimeout {
                    let asked = record.events.last(where: { $0.kind == .approvalRequested })?.at ?? record.createdAt
                    armApprovalTimer(id, after: max(.zero, timeout - .seconds(wallClock.now().timeIntervalSince(asked))), timeout: timeout)
                }
            case .rollingBack:
                await mutate(id, event: .deploymentRecovered, message: "continuing the rollback") { _ in }
                tasks[id] = Task { await self.continueRollback(id, reason: record.error) }
            default:
                if policy == .rollback {
                    let why = "the server restarted during the deployment (recovery: rollback)"
                    await mutate(id, event: .deploymentRecovered, message: why) { _ in }
                    tasks[id] = Task { await self.runRollback(id, reason: why) }
                } else {
                    await mutate(id, event: .deploymentRecovered, message: "resuming at \(record.currentStage.isEmpty ? "the start" : record.currentStage)") { _ in }
                    tasks[id] = Task { await self.drive(id, resumed: true) }
                }
            }
        }
        return records.count
    }
}
