import CloudModel
import Foundation

extension DeploymentEngine {
    func runner(for record: DeploymentRecord) -> DeploymentRunner {
        DeploymentRunner(engine: self, env: env, settings: record.settings)
    }

    /// Runs a deployment's stages; on failure (or a rollback request) runs its rollback.
    func drive(_ id: String) async {
        guard let record = record(id) else { return }
        let runner = runner(for: record)
        await mutate(id, status: .inProgress, event: "deployment.started", message: "deploying to \(record.request.serviceKey)") { _ in }
        let outcome = await runner.run(id, phase: .forward)
        switch (takeIntent(id), outcome) {
        case (.rollback(let why), _):
            launchRollback(id, reason: why)
        case (.shutdown, _), (nil, .cancelled):
            await interrupt(id)
        case (nil, .completed):
            let target = self.record(id)?.facts.newTaskDefinition?.arnResourceName ?? "?"
            await runner.reportingHook(.postSuccess, id: id)
            await finish(id, status: .succeeded, event: "deployment.succeeded",
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
            // Nothing was changed: the service is where it was, as after a rollback.
            return await finish(id, status: .rolledBack, event: "deployment.rolled_back", error: reason,
                                message: "nothing to undo: the service was not changed")
        }
        await mutate(id, status: .rollingBack, event: "rollback.started", message: reason) { r in
            r.error = reason
            r.rollbackStages = plan.map(StageRecord.init)
        }
        let runner = runner(for: record)
        let outcome = await runner.run(id, phase: .rollback)
        _ = takeIntent(id)
        switch outcome {
        case .completed:
            let previous = self.record(id)?.facts.previousTaskDefinition?.arnResourceName ?? "?"
            await runner.reportingHook(.postRollback, id: id)
            await finish(id, status: .rolledBack, event: "deployment.rolled_back", error: reason,
                         message: "rolled back: the service runs \(previous)")
        case .failed(let rollbackError):
            let state = await runner.describeServiceState(record.request)
            let error = "\(reason); rollback failed: \(rollbackError); \(state)"
            await runner.reportingHook(.postRollback, id: id)
            await finish(id, status: .failed, event: "deployment.failed", error: error, message: error)
        case .cancelled:
            await interrupt(id)
        }
    }

    /// Records that the server stopped while the deployment ran, and where.
    private func interrupt(_ id: String) async {
        guard let record = record(id) else { return }
        let state = await runner(for: record).describeServiceState(record.request)
        let message = "the server stopped during stage \(record.currentStage.isEmpty ? "-" : record.currentStage); \(state)"
        await finish(id, status: .interrupted, event: "deployment.interrupted", error: message, message: message)
    }
}
