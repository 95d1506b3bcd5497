import CloudModel
import Foundation

/// Hooks: before the first traffic shift and after each (a failure rolls back), and after
/// success or rollback (reported only).
extension DeploymentRunner {
    func runHook(_ point: HookPoint, _ c: StageContext, _ record: DeploymentRecord) async throws -> StageResult {
        guard let target = settings.hooks[point] else { return "no \(point.rawValue) hook configured" }
        try await env.hooks.run(target, payload: payload(point, record), timeout: settings.hookTimeout)
        return "\(point.rawValue) hook \(Self.display(target)) succeeded"
    }

    /// Runs a hook whose failure does not change the deployment's outcome; records what happened.
    func reportingHook(_ point: HookPoint, id: String) async {
        guard let target = settings.hooks[point], let record = await engine.record(id) else { return }
        do {
            try await env.hooks.run(target, payload: payload(point, record), timeout: settings.hookTimeout)
            await engine.mutate(id, event: .hookSucceeded, message: "\(point.rawValue) hook \(Self.display(target)) succeeded") { _ in }
        } catch {
            await engine.mutate(id, event: .hookFailed,
                                message: "\(point.rawValue) hook \(Self.display(target)) failed: \(CredentialRedaction.redact("\(error)"))") { _ in }
        }
    }

    private func payload(_ point: HookPoint, _ record: DeploymentRecord) -> HookPayload {
        HookPayload(hook: point.rawValue, deploymentID: record.id, cluster: record.request.cluster, service: record.request.service,
                    strategy: record.request.strategy.rawValue, status: record.status.rawValue, stage: record.currentStage,
                    trafficPercent: record.facts.trafficPercent, taskDefinition: record.facts.newTaskDefinition,
                    previousTaskDefinition: record.facts.previousTaskDefinition, error: record.error.isEmpty ? nil : record.error)
    }

    /// A hook target for messages: URLs without their query (which may hold tokens).
    static func display(_ target: String) -> String {
        if target.hasPrefix("exec:") { return target }
        guard var parts = URLComponents(string: target) else { return target }
        parts.query = nil
        parts.user = nil
        parts.password = nil
        return parts.string ?? target
    }
}
