import CloudModel
import Foundation

/// ECS service and task operations.
extension SimulatorState {
    mutating func describeServices(cluster reference: String, services names: [String], now: Date) throws -> [ECSService] {
        guard names.count <= 10 else {
            throw CloudError(code: CloudError.invalidParameter, message: "services can have at most 10 items.")
        }
        let cluster = try cluster(reference)
        var found: [ECSService] = []
        for name in names {
            if let svc = service(cluster: cluster, name) {
                advance(svc, to: now)
                found.append(svc.snapshot(at: now))
            } else if settings.autoCreate, let svc = try? service(cluster: cluster, name, now: now, create: true) {
                found.append(svc.snapshot(at: now))
            }
        }
        return found
    }

    mutating func listServices(cluster reference: String, nextToken: String?) throws -> ServicePage {
        let cluster = try cluster(reference)
        let names = clusters[cluster]?.serviceNames ?? []
        let start: Int
        if let nextToken {
            guard let offset = Int(nextToken), offset >= 0, offset <= names.count else {
                throw CloudError(code: CloudError.invalidParameter, message: "Invalid nextToken.")
            }
            start = offset
        } else {
            start = 0
        }
        let end = min(names.count, start + 10)
        let arns = names[start..<end].map { ARN.service(cluster: cluster, name: $0) }
        return ServicePage(serviceArns: arns, nextToken: end < names.count ? String(end) : nil)
    }

    mutating func updateService(_ input: UpdateServiceInput, now: Date) throws -> ECSService {
        let svc = try service(cluster: input.cluster, input.service, now: now, create: true)
        if let desired = input.desiredCount, desired < 0 {
            throw CloudError(code: CloudError.invalidParameter, message: "desiredCount must be at least 0.")
        }
        // AWS's quota of tasks per service (a request on the local endpoint may ask anything).
        if let desired = input.desiredCount, desired > 5000 {
            throw CloudError(code: CloudError.invalidParameter, message: "desiredCount must be at most 5000 (tasks per service).")
        }
        let definition = try input.taskDefinition.map { try resolveTaskDefinition($0).arn ?? $0 }
        if svc.controller != .ecs, definition != nil || input.forceNewDeployment {
            throw CloudError(code: CloudError.invalidParameter,
                             message: "Unable to update task definition or force a new deployment on a service using the \(svc.controller.rawValue) deployment controller. Use a task set instead.")
        }
        if let config = input.deploymentConfiguration {
            try Self.validateNative(config)
            if config.strategy?.shiftsTraffic == true, svc.controller != .ecs || svc.advancedLoadBalancer == nil {
                throw CloudError(code: CloudError.invalidParameter,
                                 message: "The \(config.strategy!.rawValue) deployment strategy requires the ECS deployment controller and "
                                     + "a load balancer with advancedConfiguration (alternateTargetGroupArn, productionListenerRule).")
            }
        }
        if let config = input.deploymentConfiguration {
            if let value = config.maximumPercent { svc.configuration.maximumPercent = value }
            if let value = config.minimumHealthyPercent { svc.configuration.minimumHealthyPercent = value }
            if let value = config.circuitBreaker { svc.configuration.circuitBreaker = value }
            if let value = config.strategy { svc.configuration.strategy = value }
            if let value = config.bakeTimeInMinutes { svc.configuration.bakeTimeInMinutes = value }
            if let value = config.canaryConfiguration { svc.configuration.canaryConfiguration = value }
            if let value = config.linearConfiguration { svc.configuration.linearConfiguration = value }
            if let value = config.lifecycleHooks { svc.configuration.lifecycleHooks = value }
            if let value = config.alarms { svc.configuration.alarms = value }
        }
        if let desired = input.desiredCount { svc.desiredCount = desired }
        if svc.controller == .ecs, let p = svc.primaryIndex {
            let current = svc.deployments[p].taskDefinition
            let target = definition ?? current
            if target != current || input.forceNewDeployment, svc.configuration.strategy?.shiftsTraffic == true {
                try startNativeDeployment(svc, taskDefinition: target, now: now)
            } else if target != current || input.forceNewDeployment {
                svc.deployments[p].status = "ACTIVE"
                svc.deployments[p].updatedAt = now
                let id = ids.deploymentID()
                svc.deployments.append(DeploymentRecord(
                    id: id, taskDefinition: target, reason: "ECS deployment \(id) in progress.", at: now))
            }
        }
        reconcile(svc)
        return svc.snapshot(at: now)
    }

    /// The tasks ECS wants running plus recently stopped ones (the AWS default filter); with
    /// `desiredStatus` RUNNING (or PENDING) only the former, with STOPPED the tasks asked to stop
    /// (kept for `stoppedTaskRetention`).
    mutating func listTasks(cluster reference: String, serviceName: String?, startedBy: String?, desiredStatus: String?,
                            now: Date) throws -> [String] {
        let cluster = try cluster(reference)
        let owners: [ServiceRecord]
        if let serviceName {
            guard let svc = service(cluster: cluster, serviceName) else {
                throw CloudError(code: CloudError.serviceNotFound, message: "Service not found.")
            }
            owners = [svc]
        } else {
            owners = (clusters[cluster]?.serviceNames ?? []).compactMap { service(cluster: cluster, $0) }
        }
        let recent = now.addingTimeInterval(-settings.recentlyStoppedListing)
        var arns: [String] = []
        var groups = owners.map { svc in
            advance(svc, to: now)
            return svc.allTasks
        }
        if serviceName == nil { groups.append(clusterTasks(cluster, now: now)) }
        for tasks in groups {
            for task in tasks where startedBy == nil || task.owner == startedBy {
                let listed = switch desiredStatus {
                case "STOPPED": !task.isLive
                case nil: task.isLive || (task.stoppedAt.map { $0 >= recent } ?? true)
                default: task.isLive
                }
                if listed { arns.append(task.arn) }
            }
        }
        return arns
    }

    mutating func describeTasks(cluster reference: String, tasks references: [String], now: Date) throws -> [ECSTask] {
        guard references.count <= 100 else {
            throw CloudError(code: CloudError.invalidParameter, message: "tasks can have at most 100 items.")
        }
        let cluster = try cluster(reference)
        var found: [ECSTask] = []
        let own = clusterTasks(cluster, now: now)
        for reference in references {
            let id = reference.arnResourceName
            if let task = own.first(where: { $0.id == id }) {
                found.append(task.snapshot(at: now))
                continue
            }
            guard let key = taskOwners[id], let svc = services[key], svc.cluster == cluster else { continue }
            advance(svc, to: now)
            if let task = svc.tasks.first(where: { $0.id == id }) ?? svc.stoppedTasks.first(where: { $0.id == id }) {
                found.append(task.snapshot(at: now))
            }
        }
        return found
    }

    /// ECS's bounds on the native strategies' parameters.
    static func validateNative(_ c: DeploymentConfiguration) throws {
        func invalid(_ text: String) -> CloudError { CloudError(code: CloudError.invalidParameter, message: text) }
        if let p = c.canaryConfiguration?.canaryPercent, !(0.1...100).contains(p) {
            throw invalid("canaryConfiguration.canaryPercent must be from 0.1 to 100.0.")
        }
        if let p = c.linearConfiguration?.stepPercent, !(3...100).contains(p) {
            throw invalid("linearConfiguration.stepPercent must be from 3.0 to 100.0.")
        }
        for minutes in [c.bakeTimeInMinutes, c.canaryConfiguration?.canaryBakeTimeInMinutes, c.linearConfiguration?.stepBakeTimeInMinutes]
        where minutes.map({ !(0...1440).contains($0) }) ?? false {
            throw invalid("Bake times must be from 0 to 1440 minutes.")
        }
        for hook in c.lifecycleHooks ?? [] {
            if let unknown = hook.lifecycleStages.first(where: { !DeploymentLifecycleHook.hookStages.contains($0) }) {
                throw invalid("lifecycleHooks.lifecycleStages: \(unknown.prefix(64)) is not a lifecycle stage.")
            }
            if let minutes = hook.timeoutInMinutes, !(1...20160).contains(minutes) {
                throw invalid("lifecycleHooks.timeoutConfiguration.timeoutInMinutes must be from 1 to 20160.")
            }
            if hook.targetType != "PAUSE", hook.hookTargetArn == nil {
                throw invalid("lifecycleHooks.hookTargetArn is required for an AWS_LAMBDA hook.")
            }
        }
    }
}
