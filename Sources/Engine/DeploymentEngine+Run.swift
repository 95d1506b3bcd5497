import CloudModel
import Foundation

extension DeploymentEngine {
    func runner(for record: DeploymentRecord) -> DeploymentRunner {
        DeploymentRunner(engine: self, env: env, settings: record.settings)
    }

    /// Runs a deployment's stages; its lifecycle decides what follows their end.
    func drive(_ id: String, resumed: Bool = false) async {
        guard let record = record(id) else { return }
        _ = try? transition(id, .started)
        // Saved with the first stage's end: after a restart, a start not saved yet starts again
        // (its first stage, registering the task definition, is safe to repeat).
        await mutate(id, status: lifecycleStatus(id), event: resumed ? .deploymentResumed : .deploymentStarted,
                     message: "\(resumed ? "resuming" : "deploying") to \(record.request.serviceKey)", durable: false) { _ in }
        let outcome = await runner(for: record).run(id, phase: .forward)
        await follow(id, .forwardEnded(outcome))
    }

    /// Feeds an input whose refusal cannot happen here to the lifecycle, and performs what it
    /// decides.
    func follow(_ id: String, _ input: DeploymentLifecycle.Input) async {
        guard let effects = try? transition(id, input) else { return }
        await perform(id, effects)
    }

    /// Runs the post-success hook, then records SUCCEEDED.
    func succeed(_ id: String) async {
        guard let record = record(id) else { return }
        await runner(for: record).reportingHook(.postSuccess, id: id)
        let target = self.record(id)?.facts.newTaskDefinition?.arnResourceName ?? "?"
        await finish(id, event: .deploymentSucceeded, message: "service \(record.request.serviceKey) runs \(target)")
    }

    /// Undoes what the facts say the deployment did, then checks the service settled back.
    func runRollback(_ id: String, reason: String) async {
        guard let record = record(id) else { return }
        let plan = Plan.rollbackStages(facts: record.facts)
        guard !plan.isEmpty else {
            // Nothing was changed: the service is where it was, as after a rollback.
            return await follow(id, .rollbackEnded(.completed, reason: reason))
        }
        _ = try? transition(id, .rollbackStarted)
        await mutate(id, status: lifecycleStatus(id), event: .rollbackStarted, message: reason) { r in
            r.error = reason
            r.rollbackStages = plan.map(StageRecord.init)
        }
        await continueRollback(id, reason: reason)
    }

    /// Runs the recorded rollback stages still to run and checks the service settled back
    /// (`RollbackCheck`); the lifecycle decides the outcome.
    func continueRollback(_ id: String, reason: String) async {
        guard let record = record(id) else { return }
        let runner = runner(for: record)
        var outcome = await runner.run(id, phase: .rollback)
        if outcome == .completed, let facts = self.record(id)?.facts {
            do {
                if let leftover = try await runner.rollbackLeftovers(record.request, facts: facts) { outcome = .failed(leftover) }
            } catch {
                outcome = .cancelled
            }
        }
        await follow(id, .rollbackEnded(outcome, reason: reason))
    }

    /// Records ROLLED_BACK (after the post-rollback hook, which runs whether or not there was
    /// anything to undo: for the user the deployment was rolled back all the same).
    func rolledBack(_ id: String, reason: String) async {
        guard let record = record(id) else { return }
        await runner(for: record).reportingHook(.postRollback, id: id)
        let message: String
        if record.rollbackStages.isEmpty {
            message = "\(reason); nothing to undo: the service was not changed"
        } else {
            message = "\(reason); rolled back: the service runs \(self.record(id)?.facts.previousTaskDefinition?.arnResourceName ?? "?")"
        }
        await finish(id, event: .deploymentRolledBack, error: reason, message: message)
    }

    /// Records FAILED with what the rollback left in the cloud.
    func rollbackFailed(_ id: String, reason: String, error rollbackError: String) async {
        guard let record = record(id) else { return }
        let runner = runner(for: record)
        let state = await runner.describeServiceState(record.request)
        let error = "\(reason); rollback failed: \(rollbackError); \(state)"
        await runner.reportingHook(.postRollback, id: id)
        await finish(id, event: .deploymentFailed, error: error, message: error)
    }

    /// The server stopped while the deployment ran, and its record outlives the process: it is
    /// left as it is, to resume at the next start.
    func checkpoint(_ id: String) async {
        guard let record = record(id) else { return }
        await mutate(id, event: .deploymentCheckpointed,
                     message: "the server stopped during stage \(record.currentStage); it resumes at the next start") { _ in }
        forget(id)
    }

    /// The server stopped while the deployment ran (or waited for approval), and its record
    /// does not outlive the process: INTERRUPTED, with where it stopped.
    func interrupt(_ id: String) async {
        guard let record = record(id) else { return }
        if record.status == .pendingApproval {
            let message = "the server stopped while the deployment waited for approval; nothing was changed"
            return await finish(id, event: .deploymentInterrupted, error: message, message: message)
        }
        let state = await runner(for: record).describeServiceState(record.request)
        let message = "the server stopped during stage \(record.currentStage.isEmpty ? "-" : record.currentStage); \(state)"
        await finish(id, event: .deploymentInterrupted, error: message, message: message)
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
        // Those that ran come back first, so that the limits count them before one that never
        // started asks to; then in the order they were accepted.
        let records = try await store.unfinished().map { record in
            (record, ran: record.events.contains { $0.kind == .deploymentStarted })
        }.sorted { a, b in
            a.ran != b.ran ? a.ran : (a.0.createdAt, a.0.id) < (b.0.createdAt, b.0.id)
        }.map(\.0)
        for record in records {
            let id = record.id
            guard active[id] == nil else { continue }
            hold(record)
            locks[record.request.serviceKey] = id
            guard let effects = try? transition(id, .recovered(policy)) else { continue }
            let message = switch effects.first {
            case .armApprovalTimer?: "still waiting for approval"
            case .continueRollback?: "continuing the rollback"
            case .startRollback(let why)?: why
            default: "resuming at \(record.currentStage.isEmpty ? "the start" : record.currentStage)"
            }
            await mutate(id, event: .deploymentRecovered, message: message) { _ in }
            await perform(id, effects)
        }
        return records.count
    }
}
