import CloudModel
import Foundation

/// Executes stages against the cloud. The only code that awaits the cloud; every decision
/// it makes is a pure function of what the cloud answered (see `ServiceStability`).
struct DeploymentRunner: Sendable {
    enum Phase { case forward, rollback }
    enum Outcome: Equatable { case completed, failed(String), cancelled }

    let engine: DeploymentEngine
    let cloud: Cloud
    let clock: any DeployClock
    let settings: DeploymentSettings

    /// Runs the phase's pending stages in order until all succeed, one fails, or the task
    /// is cancelled.
    func run(_ id: String, phase: Phase, deadline: Date) async -> Outcome {
        while true {
            if Task.isCancelled { return .cancelled }
            guard let record = await engine.record(id) else { return .cancelled }
            let stages = phase == .forward ? record.stages : record.rollbackStages
            guard let index = stages.firstIndex(where: { $0.status == .pending || $0.status == .running }) else {
                return .completed
            }
            let stage = stages[index].stage
            await update(id, phase, index, status: .running, event: "stage.started") { $0.startedAt = clock.now() }
            do {
                let message = try await execute(stage, id: id, phase: phase, index: index, deadline: deadline)
                await update(id, phase, index, status: .succeeded, event: "stage.succeeded", message: message) {
                    $0.finishedAt = clock.now()
                    $0.fraction = 1
                }
            } catch is CancellationError {
                await update(id, phase, index, status: .failed, event: "stage.cancelled", message: "stopped") {
                    $0.finishedAt = clock.now()
                }
                return .cancelled
            } catch {
                await update(id, phase, index, status: .failed, event: "stage.failed", message: "\(error)") {
                    $0.finishedAt = clock.now()
                }
                return .failed("\(stage.name): \(error)")
            }
        }
    }

    private func update(_ id: String, _ phase: Phase, _ index: Int, status: StageStatus, event: String,
                        message: String = "", _ change: @Sendable (inout StageRecord) -> Void = { _ in }) async {
        await engine.mutate(id, event: event, stage: "", message: message) { record in
            func apply(_ s: inout StageRecord) {
                s.status = status
                if !message.isEmpty { s.message = message }
                change(&s)
            }
            if phase == .forward { apply(&record.stages[index]) } else { apply(&record.rollbackStages[index]) }
        }
    }

    private func setFacts(_ id: String, event: String, message: String, _ change: @Sendable (inout DeploymentFacts) -> Void) async {
        await engine.mutate(id, event: event, message: message) { change(&$0.facts) }
    }

    // MARK: Stages

    private func execute(_ stage: Stage, id: String, phase: Phase, index: Int, deadline: Date) async throws -> String {
        guard let record = await engine.record(id) else { throw CancellationError() }
        let request = record.request
        switch stage {
        case .registerTaskDefinition:
            if let done = record.facts.newTaskDefinition { return "already registered \(done.arnResourceName)" }
            let service = try await describeService(request)
            let current = try await currentDefinitionIfNeeded(request, service: service)
            let definition = TaskDefinitionInput.definitionToRegister(request: try JSONValue.parse(request.taskDefinition),
                                                                      current: current)
            let registered = try await cloud.ecs.registerTaskDefinition(definition)
            guard let arn = registered.arn else { throw StageError("RegisterTaskDefinition returned no ARN") }
            await setFacts(id, event: "facts.recorded", message: "previous \(service.taskDefinition?.arnResourceName ?? "none"), new \(arn.arnResourceName)") {
                $0.previousTaskDefinition = service.taskDefinition
                $0.newTaskDefinition = arn
                $0.desiredCount = service.desiredCount
            }
            return "registered \(arn.arnResourceName)"
        case .updateService(let revision):
            let target = try taskDefinition(revision, record.facts)
            if revision == .new {
                await setFacts(id, event: "facts.recorded", message: "updating the service to \(target.arnResourceName)") {
                    $0.serviceUpdated = true
                }
            }
            _ = try await cloud.ecs.updateService(UpdateServiceInput(cluster: request.cluster, service: request.service,
                                                                     taskDefinition: target))
            return "service updated to \(target.arnResourceName)"
        case .waitStable(let revision):
            let target = try taskDefinition(revision, record.facts)
            return try await waitStable(id, request, target: target, phase: phase, index: index, deadline: deadline)
        }
    }

    private func taskDefinition(_ revision: Revision, _ facts: DeploymentFacts) throws -> String {
        let arn = revision == .new ? facts.newTaskDefinition : facts.previousTaskDefinition
        guard let arn else { throw StageError("no \(revision.rawValue) task definition recorded") }
        return arn
    }

    private func currentDefinitionIfNeeded(_ request: DeploymentRequest, service: ECSService) async throws -> TaskDefinition? {
        let given = try JSONValue.parse(request.taskDefinition)
        guard (given["containerDefinitions"]?.arrayValue ?? []).isEmpty else { return nil }
        guard let current = service.taskDefinition else {
            throw StageError("taskdef.containerDefinitions is empty and the service has no task definition to take them from")
        }
        return try await cloud.ecs.describeTaskDefinition(current)
    }

    private func describeService(_ request: DeploymentRequest) async throws -> ECSService {
        let found = try await cloud.ecs.describeServices(cluster: request.cluster, services: [request.service])
        guard let service = found.first else { throw StageError("service \(request.serviceKey) not found") }
        return service
    }

    private func waitStable(_ id: String, _ request: DeploymentRequest, target: String, phase: Phase, index: Int,
                            deadline: Date) async throws -> String {
        var lastReport = ""
        while true {
            let service = try await describeService(request)
            let verdict = ServiceStability.evaluate(service, target: target)
            switch verdict {
            case .stable:
                return "stable on \(target.arnResourceName) with \(service.runningCount)/\(service.desiredCount) tasks"
            case .failed(let reason):
                throw StageError(reason)
            case .progressing(let running, let desired):
                let report = "\(running)/\(desired) tasks of \(target.arnResourceName) running"
                if clock.now() >= deadline {
                    throw StageError("timed out waiting for the service to be stable on \(target.arnResourceName) (\(report))")
                }
                if report != lastReport {
                    lastReport = report
                    let fraction = desired > 0 ? min(0.99, Double(running) / Double(desired)) : 0.5
                    await update(id, phase, index, status: .running, event: "stage.progress", message: report) {
                        $0.fraction = fraction
                    }
                }
            }
            try await clock.sleep(for: settings.pollInterval)
        }
    }

    /// One line describing where the service is now, for failure and interruption records.
    func describeServiceState(_ request: DeploymentRequest) async -> String {
        guard let service = try? await describeService(request) else { return "the service's state could not be read" }
        let deployments = service.deployments.map {
            "\($0.status) \($0.taskDefinition.arnResourceName) \($0.runningCount)/\($0.desiredCount) \($0.rolloutState ?? "")"
        }
        return "service left on \(service.taskDefinition?.arnResourceName ?? "?") (deployments: \(deployments.joined(separator: "; ")))"
    }
}

struct StageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
