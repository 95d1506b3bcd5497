import CloudModel
import Foundation

/// Stages for the ECS deployment controller, and task definition registration.
extension DeploymentRunner {
    func registerTaskDefinition(_ c: StageContext, _ request: DeploymentRequest, _ facts: DeploymentFacts) async throws -> StageResult {
        if let done = facts.newTaskDefinition { return "already registered \(done.arnResourceName)" }
        let fresh = await engine.takeFreshRead(c.id, maxAge: settings.pollInterval)
        let service = if let fresh { fresh } else { try await describeService(request) }
        let primarySet = service.primaryTaskSet
        let current = primarySet?.taskDefinition ?? service.taskDefinition
        let registered = try await cloud.ecs.registerTaskDefinition(try await TaskDefinitionInput.toRegister(request, service: service,
                                                                                                                ecs: cloud.ecs))
        guard let arn = registered.arn else { throw StageError("RegisterTaskDefinition returned no ARN") }
        let previousTG = primarySet?.loadBalancers.first?.targetGroupArn ?? service.loadBalancers.first?.targetGroupArn
        return StageResult("registered \(arn.arnResourceName)", learned: "previous \(current?.arnResourceName ?? "none"), new \(arn.arnResourceName)") {
            $0.previousTaskDefinition = current
            $0.newTaskDefinition = arn
            $0.desiredCount = service.desiredCount
            $0.previousTaskSet = primarySet?.id
            $0.previousTargetGroup = previousTG
            $0.serviceStrategy = service.deploymentConfiguration?.strategy
            $0.serviceHooks = service.deploymentConfiguration?.lifecycleHooks
        }
    }

    func updateService(_ c: StageContext, _ request: DeploymentRequest, _ revision: Revision) async throws -> StageResult {
        let target = try taskDefinition(revision, try await facts(c.id))
        if revision == .new {
            await setFacts(c.id, "updating the service to \(target.arnResourceName)") { $0.serviceUpdated = true }
        }
        var input = UpdateServiceInput(cluster: request.cluster, service: request.service, taskDefinition: target)
        let facts = try await facts(c.id)
        if request.strategy == .rolling, revision == .new {
            // ECS replaces at most one batch (batch_size percent of the tasks) at a time.
            input.deploymentConfiguration = Self.rollingConfiguration(batchPercent: settings.batchSize, desired: facts.desiredCount)
        }
        if facts.serviceStrategy?.shiftsTraffic == true {
            // The service was left on ECS's blue/green, linear or canary: quicksync and rolling are its rolling update.
            input.deploymentConfiguration = input.deploymentConfiguration ?? DeploymentConfiguration()
            input.deploymentConfiguration?.strategy = .rolling
        }
        _ = try await cloud.ecs.updateService(input)
        return "service updated to \(target.arnResourceName)"
    }

    /// The percentages that let ECS replace one batch at a time: `batchPercent` of `desired`
    /// tasks, at least one. ECS rounds the maximum down and the minimum up, so plain
    /// `100 ± batchPercent` moves nothing when the batch is under one task (3 tasks at 25%:
    /// at most 3 running, at least 3 healthy); these are the percentages of whole tasks.
    static func rollingConfiguration(batchPercent: Int, desired: Int?) -> DeploymentConfiguration {
        guard let desired, desired > 0 else {
            return DeploymentConfiguration(maximumPercent: 100 + batchPercent, minimumHealthyPercent: 100 - batchPercent)
        }
        let batch = min(desired, max(1, desired * batchPercent / 100))
        // The smallest maximum whose floor allows `desired + batch` tasks; the largest minimum
        // whose ceiling leaves `batch` tasks free to stop.
        let maximum = ((desired + batch) * 100 + desired - 1) / desired
        let minimum = (desired - batch) * 100 / desired
        return DeploymentConfiguration(maximumPercent: maximum, minimumHealthyPercent: minimum)
    }

    func waitStable(_ c: StageContext, _ request: DeploymentRequest, target: String) async throws -> StageResult {
        var lastReport = ""
        // A service just updated is not stable yet: the first look waits for a poll tick too,
        // where it joins the other deployments' reads of the cluster.
        try await pollPause(until: c.deadline, waitingFor: "the service to be stable on \(target.arnResourceName)")
        while true {
            let service = try await describeService(request)
            switch ServiceStability.evaluate(service, target: target) {
            case .stable:
                return "stable on \(target.arnResourceName) with \(service.runningCount)/\(service.desiredCount) tasks"
            case .failed(let reason):
                throw StageError(reason)
            case .progressing(let running, let desired):
                let report = "\(running)/\(desired) tasks of \(target.arnResourceName) running"
                if report != lastReport {
                    lastReport = report
                    await progress(c, report, fraction: desired > 0 ? Double(running) / Double(desired) : 0.5)
                }
                try await pollPause(until: c.deadline, waitingFor: "the service to be stable on \(target.arnResourceName) (\(report))")
            }
        }
    }
}

extension TaskDefinitionInput {
    /// The task definition a deployment registers on `service`: the request's, with the
    /// service's current containers (and roles, tags, ...) when the request names no
    /// containers. One place for the pre-flight (which checks its roles) and the registration.
    static func toRegister(_ request: DeploymentRequest, service: ECSService, ecs: any ECSAPI) async throws -> TaskDefinition {
        let given = request.taskDefinitionJSON
        guard (given["containerDefinitions"]?.arrayValue ?? []).isEmpty else { return TaskDefinition(json: given) }
        guard let current = service.primaryTaskSet?.taskDefinition ?? service.taskDefinition else {
            throw StageError("taskdef.containerDefinitions is empty and the service has no task definition to take them from")
        }
        return definitionToRegister(request: given, current: try await ecs.describeTaskDefinition(current))
    }
}
