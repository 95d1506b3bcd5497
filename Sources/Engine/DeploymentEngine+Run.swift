import CloudModel
import Foundation

extension DeploymentEngine {
    /// Runs a deployment's stages; on failure (or a rollback request) runs its rollback.
    func drive(_ id: String) async {
        guard let record = record(id) else { return }
        let settings: DeploymentSettings
        do {
            settings = try DeploymentSettings.resolve(defaults: defaults, overrides: record.request.config)
        } catch {
            return await finish(id, status: .failed, event: "deployment.failed", error: "\(error)", message: "\(error)")
        }
        let runner = DeploymentRunner(engine: self, cloud: cloud, clock: clock, settings: settings)
        await mutate(id, status: .inProgress, event: "deployment.started", message: "deploying to \(record.request.serviceKey)") { _ in }
        let outcome = await runner.run(id, phase: .forward, deadline: clock.now().adding(settings.timeout))
        switch (takeIntent(id), outcome) {
        case (.rollback(let why), _):
            launchRollback(id, reason: why)
        case (.shutdown, _), (nil, .cancelled):
            await interrupt(id)
        case (nil, .completed):
            await finish(id, status: .succeeded, event: "deployment.succeeded",
                         message: "service \(record.request.serviceKey) is stable on \(self.record(id)?.facts.newTaskDefinition?.arnResourceName ?? "?")")
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
            return await finish(id, status: .failed, event: "deployment.failed", error: reason,
                                message: "\(reason); the service was not changed, so there is nothing to roll back")
        }
        let settings = (try? DeploymentSettings.resolve(defaults: defaults, overrides: record.request.config))
            ?? DeploymentSettings(timeout: defaults.timeout, pollInterval: defaults.pollInterval)
        await mutate(id, status: .rollingBack, event: "rollback.started", message: reason) { r in
            r.error = reason
            r.rollbackStages = plan.map(StageRecord.init)
        }
        let runner = DeploymentRunner(engine: self, cloud: cloud, clock: clock, settings: settings)
        let outcome = await runner.run(id, phase: .rollback, deadline: clock.now().adding(settings.timeout))
        _ = takeIntent(id)
        switch outcome {
        case .completed:
            let previous = self.record(id)?.facts.previousTaskDefinition?.arnResourceName ?? "?"
            await finish(id, status: .rolledBack, event: "deployment.rolled_back", error: reason,
                         message: "rolled back: the service is stable on \(previous)")
        case .failed(let rollbackError):
            let state = await runner.describeServiceState(record.request)
            let error = "\(reason); rollback failed: \(rollbackError); \(state)"
            await finish(id, status: .failed, event: "deployment.failed", error: error, message: error)
        case .cancelled:
            await interrupt(id)
        }
    }

    /// Records that the server stopped while the deployment ran, and where.
    private func interrupt(_ id: String) async {
        guard let record = record(id) else { return }
        let runner = DeploymentRunner(engine: self, cloud: cloud, clock: clock,
                                      settings: DeploymentSettings(timeout: defaults.timeout, pollInterval: defaults.pollInterval))
        let state = await runner.describeServiceState(record.request)
        let message = "the server stopped during stage \(record.currentStage.isEmpty ? "-" : record.currentStage); \(state)"
        await finish(id, status: .interrupted, event: "deployment.interrupted", error: message, message: message)
    }
}
