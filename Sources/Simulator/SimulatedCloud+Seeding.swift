import CloudModel
import Foundation

/// Setting the world up (no fault injection, no counting, no throttling), and looking at it.
extension SimulatedCloud {
    /// Creates a cluster (no-op when it exists); returns its ARN.
    @discardableResult
    public func createCluster(_ name: String) -> String {
        state.withLock { $0.createCluster(name) }
    }

    /// Registers a task definition, as RegisterTaskDefinition does.
    @discardableResult
    public func seedTaskDefinition(_ definition: TaskDefinition) throws -> TaskDefinition {
        try withState(nil) { s, now in try s.register(definition, now: now) }
    }

    /// Registers a one-container task definition (`TaskDefinition.fargate`).
    @discardableResult
    public func seedTaskDefinition(family: String, image: String, containerName: String = "app") throws -> TaskDefinition {
        try seedTaskDefinition(.fargate(family: family, image: image, containerName: containerName))
    }

    /// Creates a service in steady state: every task RUNNING and HEALTHY now; with the ECS
    /// controller one COMPLETED PRIMARY deployment, with EXTERNAL one PRIMARY task set at 100%
    /// in STEADY_STATE (routing to `loadBalancers`). Creates the cluster if needed.
    /// `taskDefinition` is `family`, `family:revision` or an ARN of a registered definition.
    @discardableResult
    public func createService(cluster: String, name: String, taskDefinition: String, desiredCount: Int = 3,
                              controller: DeploymentController = .ecs, loadBalancers: [LoadBalancerRef] = [],
                              circuitBreaker: CircuitBreaker? = CircuitBreaker(enable: true, rollback: false),
                              launchType: String = "FARGATE") throws -> ECSService {
        try withState(nil) { s, now in
            let service = try s.createService(cluster: cluster, name: name, taskDefinition: taskDefinition, desiredCount: desiredCount,
                                              controller: controller, loadBalancers: loadBalancers, circuitBreaker: circuitBreaker,
                                              now: now)
            service.launchType = launchType
            return service.snapshot(at: now)
        }
    }

    /// A service with the ECS controller set up for ECS's own blue/green, linear and canary:
    /// its load balancer's production and test listener rules, blue and green target groups
    /// (`SimulatorState.nativeLoadBalancer`), circuit breaker with rollback.
    @discardableResult
    public func createNativeService(cluster: String, name: String, taskDefinition: String, desiredCount: Int = 3) throws -> ECSService {
        try withState(nil) { s, now in
            let lb = try s.nativeLoadBalancer(for: name)
            return try s.createService(cluster: cluster, name: name, taskDefinition: taskDefinition, desiredCount: desiredCount,
                                       controller: .ecs, loadBalancers: [lb], circuitBreaker: CircuitBreaker(enable: true, rollback: true),
                                       now: now).snapshot(at: now)
        }
    }

    /// A listener rule as ELB has it now (ECS's traffic shifts included).
    public func rule(_ arn: String) -> ListenerRule? { state.withLock { $0.rules[arn] } }

    public func createLoadBalancer(name: String) -> LoadBalancer {
        state.withLock { $0.createLoadBalancer(name: name) }
    }

    public func createTargetGroup(name: String, loadBalancerArn: String? = nil, port: Int? = 80,
                                  protocolName: String? = "HTTP") throws -> TargetGroup {
        try withState(nil) { s, _ in
            try s.createTargetGroup(name: name, loadBalancerArn: loadBalancerArn, port: port, protocolName: protocolName)
        }
    }

    public func createListener(loadBalancerArn: String, port: Int? = 80, protocolName: String? = "HTTP",
                               defaultActions: [ListenerAction]) throws -> Listener {
        try withState(nil) { s, _ in
            try s.createListener(loadBalancerArn: loadBalancerArn, port: port, protocolName: protocolName,
                                 defaultActions: defaultActions)
        }
    }

    public func createRule(listenerArn: String, priority: Int, conditions: JSONValue = .array([]),
                           actions: [ListenerAction]) throws -> ListenerRule {
        try withState(nil) { s, _ in
            try s.createRule(listenerArn: listenerArn, priority: priority, conditions: conditions, actions: actions)
        }
    }

    /// Seeds `grpc-server simulate -seed`'s estate (see `SimulatorState.seedEstate`).
    public func seedEstate() throws {
        try withState(nil) { s, now in try s.seedEstate(now: now) }
    }

    @discardableResult
    public func createEventRule(name: String, scheduleExpression: String? = nil, state ruleState: String = "ENABLED",
                                targets: [RuleTarget] = []) -> EventRule {
        state.withLock {
            $0.createEventRule(name: name, scheduleExpression: scheduleExpression, state: ruleState, targets: targets)
        }
    }

    /// Creates a CloudWatch alarm, or sets the state of one (as SetAlarmState does).
    public func setAlarm(_ name: String, state alarmState: AlarmState, reason: String = "") {
        state.withLock { s in
            var alarms = s.alarms ?? [:]
            alarms[name] = MetricAlarm(name: name, state: alarmState, reason: reason)
            s.alarms = alarms
        }
    }

    /// Creates an SNS topic; answers its ARN.
    @discardableResult
    public func createTopic(name: String) -> String {
        let arn = "arn:aws:sns:\(SimulatedAccount.region):\(SimulatedAccount.id):\(name)"
        state.withLock { s in if s.topics[arn] == nil { s.topics[arn] = [] } }
        return arn
    }

    /// The messages published to a topic, oldest first.
    public func published(topicArn: String) -> [PublishedMessage] { state.withLock { $0.topics[topicArn] ?? [] } }

    // MARK: inspection (no faults, no counting)

    /// The service as DescribeServices would answer now, or nil.
    public func service(cluster: String, name: String) -> ECSService? {
        try? withState(nil) { s, now in
            guard let svc = s.service(cluster: cluster.arnResourceName, name) else { return nil }
            s.advance(svc, to: now)
            return svc.snapshot(at: now)
        }
    }

    /// Every task of the service still remembered, stopped ones included, in launch order.
    public func tasks(cluster: String, service name: String) -> [ECSTask] {
        (try? withState(nil) { s, now in
            guard let svc = s.service(cluster: cluster.arnResourceName, name) else { return [] }
            s.advance(svc, to: now)
            return svc.allTasks.map { $0.snapshot(at: now) }
        }) ?? []
    }
}

extension TaskDefinition {
    /// The image of the definitions mock mode creates on the fly.
    static let mockImage = "public.ecr.aws/nginx/nginx:stable"

    /// A one-container definition sized for Fargate: `{"name", "image", "memory": 512}` in a
    /// task of cpu 256 and memory 512.
    public static func fargate(family: String, image: String, containerName: String = "app") -> TaskDefinition {
        let container: JSONValue = .object(["name": .string(containerName), "image": .string(image), "memory": .number(512)])
        return TaskDefinition(json: .object([
            "family": .string(family), "containerDefinitions": .array([container]), "cpu": .string("256"), "memory": .string("512"),
        ]))
    }
}
