import CloudModel
import Foundation

/// ECS answers (AWS JSON) as CloudModel values, and CloudModel inputs as ECS JSON.
struct ECSDecoding: Sendable {
    let read: ResponseReader

    init(call: String) { read = ResponseReader(call: call) }

    func service(_ v: JSONValue) throws -> ECSService {
        let ctx = "service"
        let controller = v["deploymentController"]?["type"]?.stringValue.flatMap(DeploymentController.init(rawValue:)) ?? .ecs
        return ECSService(
            serviceArn: try read.string(v, "serviceArn", in: ctx),
            serviceName: try read.string(v, "serviceName", in: ctx),
            clusterArn: try read.string(v, "clusterArn", in: ctx),
            status: try read.string(v, "status", in: ctx),
            desiredCount: read.int(v, "desiredCount") ?? 0,
            runningCount: read.int(v, "runningCount") ?? 0,
            pendingCount: read.int(v, "pendingCount") ?? 0,
            taskDefinition: v["taskDefinition"]?.stringValue,
            deploymentController: controller,
            deploymentConfiguration: v["deploymentConfiguration"].map(deploymentConfiguration),
            deployments: try read.array(v, "deployments").map(deployment),
            taskSets: try read.array(v, "taskSets").map(taskSet),
            loadBalancers: read.array(v, "loadBalancers").compactMap(loadBalancer),
            launchSettings: Self.launchSettings(of: v),
            createdAt: read.date(v, "createdAt"))
    }

    func deployment(_ v: JSONValue) throws -> ServiceDeployment {
        let ctx = "deployment"
        return ServiceDeployment(
            id: try read.string(v, "id", in: ctx),
            status: try read.string(v, "status", in: ctx),
            taskDefinition: try read.string(v, "taskDefinition", in: ctx),
            desiredCount: read.int(v, "desiredCount") ?? 0,
            pendingCount: read.int(v, "pendingCount") ?? 0,
            runningCount: read.int(v, "runningCount") ?? 0,
            failedTasks: read.int(v, "failedTasks") ?? 0,
            rolloutState: v["rolloutState"]?.stringValue,
            rolloutStateReason: v["rolloutStateReason"]?.stringValue,
            createdAt: read.date(v, "createdAt"),
            updatedAt: read.date(v, "updatedAt"))
    }

    func taskSet(_ v: JSONValue) throws -> TaskSet {
        let ctx = "taskSet"
        guard let scale = v["scale"], let value = read.double(scale, "value") else { throw read.missing("\(ctx).scale.value") }
        return TaskSet(
            id: try read.string(v, "id", in: ctx),
            taskSetArn: try read.string(v, "taskSetArn", in: ctx),
            serviceArn: try read.string(v, "serviceArn", in: ctx),
            clusterArn: try read.string(v, "clusterArn", in: ctx),
            status: try read.string(v, "status", in: ctx),
            taskDefinition: try read.string(v, "taskDefinition", in: ctx),
            externalId: v["externalId"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            computedDesiredCount: read.int(v, "computedDesiredCount"),
            pendingCount: read.int(v, "pendingCount") ?? 0,
            runningCount: read.int(v, "runningCount") ?? 0,
            scale: Scale(value: value, unit: scale["unit"]?.stringValue ?? "PERCENT"),
            stabilityStatus: try read.string(v, "stabilityStatus", in: ctx),
            loadBalancers: read.array(v, "loadBalancers").compactMap(loadBalancer),
            launchSettings: Self.launchSettings(of: v),
            createdAt: read.date(v, "createdAt"),
            updatedAt: read.date(v, "updatedAt"))
    }

    /// The launch fields of a service or task set as AWS described them (nil when it gave none).
    static func launchSettings(of v: JSONValue) -> JSONValue? {
        var out: [String: JSONValue] = [:]
        for key in TaskSet.launchSettingKeys {
            if let value = v[key], value != .null, value != .array([]) { out[key] = value }
        }
        return out.isEmpty ? nil : .object(out)
    }

    func task(_ v: JSONValue) throws -> ECSTask {
        let ctx = "task"
        return ECSTask(
            taskArn: try read.string(v, "taskArn", in: ctx),
            clusterArn: try read.string(v, "clusterArn", in: ctx),
            taskDefinitionArn: try read.string(v, "taskDefinitionArn", in: ctx),
            lastStatus: try read.string(v, "lastStatus", in: ctx),
            desiredStatus: try read.string(v, "desiredStatus", in: ctx),
            healthStatus: v["healthStatus"]?.stringValue ?? "UNKNOWN",
            startedBy: v["startedBy"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            group: v["group"]?.stringValue,
            stoppedReason: v["stoppedReason"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            createdAt: read.date(v, "createdAt"),
            startedAt: read.date(v, "startedAt"),
            stoppedAt: read.date(v, "stoppedAt"))
    }

    func loadBalancer(_ v: JSONValue) -> LoadBalancerRef? {
        guard let arn = v["targetGroupArn"]?.stringValue else { return nil }
        return LoadBalancerRef(targetGroupArn: arn, containerName: v["containerName"]?.stringValue,
                               containerPort: read.int(v, "containerPort"),
                               advancedConfiguration: v["advancedConfiguration"].flatMap(advancedConfiguration))
    }

    func deploymentConfiguration(_ v: JSONValue) -> DeploymentConfiguration {
        var breaker: CircuitBreaker?
        if let b = v["deploymentCircuitBreaker"] {
            breaker = CircuitBreaker(enable: b["enable"]?.boolValue ?? false, rollback: b["rollback"]?.boolValue ?? false)
        }
        var configuration = DeploymentConfiguration(maximumPercent: read.int(v, "maximumPercent"),
                                                    minimumHealthyPercent: read.int(v, "minimumHealthyPercent"),
                                                    circuitBreaker: breaker)
        strategyMembers(v, into: &configuration)
        return configuration
    }

    // MARK: Inputs

    static func json(_ c: DeploymentConfiguration) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        if let m = c.maximumPercent { fields["maximumPercent"] = .number(Double(m)) }
        if let m = c.minimumHealthyPercent { fields["minimumHealthyPercent"] = .number(Double(m)) }
        if let b = c.circuitBreaker {
            fields["deploymentCircuitBreaker"] = .object(["enable": .bool(b.enable), "rollback": .bool(b.rollback)])
        }
        strategyMembers(c, into: &fields)
        return .object(fields)
    }

    static func json(_ l: LoadBalancerRef) -> JSONValue {
        var fields: [String: JSONValue] = ["targetGroupArn": .string(l.targetGroupArn)]
        if let n = l.containerName { fields["containerName"] = .string(n) }
        if let p = l.containerPort { fields["containerPort"] = .number(Double(p)) }
        if let a = l.advancedConfiguration { fields["advancedConfiguration"] = json(a) }
        return .object(fields)
    }

    static func json(_ s: Scale) -> JSONValue {
        .object(["value": .number(s.value), "unit": .string(s.unit)])
    }
}
