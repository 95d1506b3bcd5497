import CloudModel
import Foundation

extension ReleaseManager {
    /// Starts a scheduled-task entry, then runs its steps (`ScheduledTaskSteps`) through the
    /// same loop as a deployment's stages. Resumed, it goes on from what the entry records.
    func runScheduledTask(_ id: String, _ index: Int) async {
        guard var state = entry(id, index) else { return }
        if state.status == .pending {
            guard await startable(id, index) else { return }
            if state.newTaskDefinitionJSON == nil {
                // Reading the task definition may have waited: the release may have stopped.
                guard let (planned, _) = await planEntry(id, index), await startable(id, index) else { return }
                state = planned
            }
            let plan = state
            await updateEntry(id, index, status: .inProgress, event: .entryStarted,
                              message: "\(state.oldImages.joined(separator: ", ")) -> \(state.newImage)") {
                $0.oldImages = plan.oldImages
                $0.newTaskDefinitionJSON = plan.newTaskDefinitionJSON
            }
        } else {
            guard accepting else { return }
        }
        guard let json = state.newTaskDefinitionJSON else { return }
        _ = await ScheduledTaskSteps(manager: self, id: id, index: index, json: json).runSteps()
    }

    /// PutTargets with the task definition of each named ECS target replaced, keeping every
    /// other field of each target.
    func repoint(rule: String, from old: String?, to new: String, only ids: [String]) async throws -> [String] {
        let targets = try await env.cloud.events.listTargetsByRule(rule: rule)
        let chosen = targets.filter { t in ids.contains(t.id ?? "") && (old == nil || t.taskDefinitionArn == old || t.taskDefinitionArn == new) }
        guard !chosen.isEmpty else { throw StageError("rule \(rule) has none of its ECS targets \(ids.joined(separator: ", ")) left") }
        try await env.cloud.events.putTargets(rule: rule, targets: chosen.map { $0.withTaskDefinition(new) })
        return chosen.compactMap(\.id)
    }
}

/// A scheduled-task entry's steps: register the new task definition (after the pre-flight of
/// the roles it needs), then point the rule's ECS targets at it. Which step is next follows
/// from the entry: registered (`newTaskDefinition`), then SUCCEEDED. A failure fails the entry
/// (and the release's policy applies); a step stopped by the shutdown leaves the entry in
/// progress, to go on at the next start.
struct ScheduledTaskSteps: StepHost {
    enum Step: Sendable { case register, repoint }

    let manager: ReleaseManager
    let id: String
    let index: Int
    /// The task definition to register (the live one with the new image).
    let json: String

    var cloud: Cloud { manager.env.cloud }

    func nextStep() async -> NextStep<Step> {
        guard let state = await manager.entry(id, index) else { return .gone }
        guard state.status == .inProgress else { return .done }
        return state.newTaskDefinition == nil ? .step(0, .register) : .step(1, .repoint)
    }

    func stepStarted(_ index: Int, _ step: Step) async {}

    func execute(_ step: Step, index _: Int) async throws -> StepResult<EntryState> {
        guard let state = await manager.entry(id, index) else { throw CancellationError() }
        switch step {
        case .register:
            try await preflight(state)
            let registered = try await cloud.ecs.registerTaskDefinition(TaskDefinition(json: try JSONValue.parse(json)))
            guard let arn = registered.arn else { throw StageError("RegisterTaskDefinition returned no ARN") }
            return StepResult("registered \(arn.arnResourceName)", learned: arn) { $0.newTaskDefinition = arn }
        case .repoint:
            guard let arn = state.newTaskDefinition else { throw StageError("no task definition registered") }
            let rule = state.entry.ruleName
            let changed = try await manager.repoint(rule: rule, from: state.previousTaskDefinition, to: arn, only: state.updatedTargets)
            return StepResult("rule \(rule): \(changed.count) target(s) run \(arn.arnResourceName)", learned: rule) {
                $0.updatedTargets = changed
            }
        }
    }

    func stepSucceeded(_ index: Int, _ step: Step, _ result: StepResult<EntryState>) async {
        let (status, event): (EntryStatus, ReleaseEventKind) = step == .register ? (.inProgress, .entryRegistered) : (.succeeded, .entrySucceeded)
        await manager.updateEntry(id, self.index, status: status, event: event, message: result.message) { entry in
            result.learned?.change(&entry)
        }
    }

    func stepFailed(_ index: Int, _ step: Step, _ error: any Error) async -> String {
        await manager.entryFailed(id, self.index, "\(error)")
        return "\(error)"
    }

    func stepStopped(_ index: Int, _ step: Step) async {}

    /// The pre-flight (real AWS) before anything is registered: the definition's roles and the
    /// roles the rule's targets pass (PutTargets needs iam:PassRole on each). Its warnings are
    /// recorded on the entry.
    private func preflight(_ state: EntryState) async throws {
        guard let preflight = manager.env.preflight else { return }
        let rule = state.entry.ruleName
        let targets = try await cloud.events.listTargetsByRule(rule: rule).filter { state.updatedTargets.contains($0.id ?? "") }
        var roles: [String] = []
        for role in targets.compactMap({ $0.json["RoleArn"]?.stringValue }) where !role.isEmpty && !roles.contains(role) {
            roles.append(role)
        }
        let warnings = try await preflight.checkScheduledTask(rule: rule, taskDefinition: try JSONValue.parse(json), targetRoles: roles)
        for warning in warnings {
            await manager.updateEntry(id, index, status: .inProgress, event: .preflightWarning, message: warning)
        }
    }
}
