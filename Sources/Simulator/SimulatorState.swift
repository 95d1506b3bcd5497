import CloudModel
import Foundation

struct ClusterRecord: Codable {
    let name: String
    let arn: String
    /// Service names in creation order (ListServices pages through them).
    var serviceNames: [String] = []
    /// Tasks of no service: those EventBridge rules ran (nil in state files written before).
    var tasks: [TaskRecord]?
}

struct ListenerRecord: Codable {
    var listener: Listener
    let defaultRuleArn: String
    /// Its non-default rules, in creation order.
    var ruleArns: [String] = []
    /// What reads show until a change is visible (`SimulatorSettings.listenerLag`).
    var stale: StaleActions?
}

/// Actions that reads still show after a change, until `until`.
struct StaleActions: Codable {
    var actions: [ListenerAction]
    var until: Date

    /// What a read at `now` shows of `current`, given what `stale` held.
    static func shown(_ current: [ListenerAction], _ stale: StaleActions?, at now: Date) -> [ListenerAction] {
        guard let stale, now < stale.until else { return current }
        return stale.actions
    }

    /// After a change at `now` from `previous`: the actions reads keep showing (those still
    /// shown of an earlier change, else `previous`) for `lag`.
    static func after(change previous: [ListenerAction], _ stale: StaleActions?, at now: Date, lag: TimeInterval) -> StaleActions? {
        guard lag > 0 else { return nil }
        return StaleActions(actions: shown(previous, stale, at: now), until: now.addingTimeInterval(lag))
    }
}

struct EventRuleRecord: Codable {
    var rule: EventRule
    var targets: [RuleTarget]
    /// The rule has fired every time its schedule said up to this instant.
    var firedUntil: Date?
}

/// Everything the simulator knows, guarded by `SimulatedCloud`'s mutex. Operations are
/// mutating methods that take the current instant. Its cloud (not its settings, faults or
/// diagnostics) is `Codable`: mock mode keeps it in a file across restarts.
struct SimulatorState: Codable {
    var settings = SimulatorSettings()
    var ids: IdentifierGenerator
    var nextIP = 0

    var clusters: [String: ClusterRecord] = [:]
    /// By `cluster/name`.
    var services: [String: ServiceRecord] = [:]

    /// Revisions by family, revision n at index n - 1.
    var taskDefinitions: [String: [TaskDefinition]] = [:]
    /// Task id -> key of the service that owns it.
    var taskOwners: [String: String] = [:]
    /// Target group ARN -> keys of the services whose tasks may register in it.
    var targetGroupServices: [String: Set<String>] = [:]

    var loadBalancers: [String: LoadBalancer] = [:]
    var targetGroups: [String: TargetGroup] = [:]
    var targetGroupOrder: [String] = []
    var loadBalancerOrder: [String] = []
    var listeners: [String: ListenerRecord] = [:]
    var listenerOrder: [String] = []
    var rules: [String: ListenerRule] = [:]
    /// Rules' actions that reads still show (`SimulatorSettings.listenerLag`), by rule ARN.
    var staleRules: [String: StaleActions] = [:]
    var eventRules: [String: EventRuleRecord] = [:]
    /// CloudWatch alarms by name (optional: state files written before alarms existed).
    var alarms: [String: MetricAlarm]?
    /// SNS topics by ARN, with the messages published to each (not saved in the state file).
    var topics: [String: [PublishedMessage]] = [:]

    var imageBehaviors: [String: ImageBehavior] = [:]
    var faults = FaultQueue()
    var weightChanges: [WeightChange] = []
    var trafficViolations: [String] = []
    /// Set when a read changed the cloud (mock mode creates what it is asked about), so
    /// that the change is saved like a write's.
    var createdOnRead = false
    /// Saves made to the state file so far (orders the writes).
    var saves: UInt64 = 0

    enum CodingKeys: String, CodingKey {
        case ids, nextIP, clusters, services, taskDefinitions, taskOwners, targetGroupServices
        case loadBalancers, targetGroups, targetGroupOrder, loadBalancerOrder, listeners, listenerOrder, rules, eventRules, alarms
    }

    init(settings: SimulatorSettings) {
        self.settings = settings
        self.ids = IdentifierGenerator(seed: settings.seed)
    }

    mutating func takeFault(_ operation: String) throws {
        if let error = faults.take(operation) { throw error }
    }

    // MARK: clusters and services

    /// The cluster a name or ARN refers to; mock mode creates it.
    mutating func cluster(_ reference: String) throws -> String {
        let name = reference.arnResourceName
        if clusters[name] != nil { return name }
        guard settings.autoCreate else {
            throw CloudError(code: CloudError.clusterNotFound, message: "Cluster not found.")
        }
        createdOnRead = true
        createCluster(name)
        return name
    }

    @discardableResult
    mutating func createCluster(_ name: String) -> String {
        if clusters[name] == nil { clusters[name] = ClusterRecord(name: name, arn: ARN.cluster(name)) }
        return ARN.cluster(name)
    }

    func service(cluster: String, _ reference: String) -> ServiceRecord? {
        services[ServiceRecord.key(cluster: cluster, name: reference.arnResourceName)]
    }

    /// The service, played up to `now`; mock mode creates it when `create` is set.
    mutating func service(cluster reference: String, _ name: String, now: Date, create: Bool = false) throws -> ServiceRecord {
        let cluster = try cluster(reference)
        if let found = service(cluster: cluster, name) {
            advance(found, to: now)
            return found
        }
        guard create, settings.autoCreate else {
            throw CloudError(code: CloudError.serviceNotFound, message: "Service not found.")
        }
        return try autoCreateService(cluster: cluster, name: name.arnResourceName, now: now)
    }

    /// `grpc-server simulate -seed`'s estate: cluster `demo` with `web` and `api` on the ECS
    /// controller, `shop` on EXTERNAL behind `shop-alb` (blue and green target groups),
    /// `checkout` on the ECS controller set up for ECS's own blue/green, linear and canary
    /// (behind `checkout-alb`), and the daily scheduled task `nightly-report`. What exists
    /// already is left as it is.
    mutating func seedEstate(now: Date) throws {
        createCluster("demo")
        for (name, controller) in [("web", DeploymentController.ecs), ("api", .ecs), ("shop", .external), ("checkout", .ecs)]
        where service(cluster: "demo", name) == nil {
            _ = try autoCreateService(cluster: "demo", name: name, now: now, controller: controller, native: name == "checkout")
        }
        let autoCreate = settings.autoCreate
        settings.autoCreate = true
        defer { settings.autoCreate = autoCreate }
        try autoCreateRule("nightly-report", now: now)
    }

    /// Mock mode's service: 3 tasks, the family named after the service (registered with one
    /// nginx container unless it exists), circuit breaker without rollback; the controller of
    /// `settings.autoCreateController` unless told (EXTERNAL comes with its load balancer).
    private mutating func autoCreateService(cluster: String, name: String, now: Date,
                                            controller: DeploymentController? = nil, native: Bool? = nil) throws -> ServiceRecord {
        let controller = controller ?? settings.autoCreateController
        createdOnRead = true
        let definition: TaskDefinition
        if let latest = taskDefinitions[name]?.last {
            definition = latest
        } else {
            definition = try register(.fargate(family: name, image: TaskDefinition.mockImage), now: now)
        }
        var loadBalancers: [LoadBalancerRef] = []
        if controller == .external {
            let balancer = createLoadBalancer(name: "\(name)-alb")
            let blue = try createTargetGroup(name: "\(name)-blue", loadBalancerArn: balancer.loadBalancerArn, port: 80, protocolName: "HTTP")
            let green = try createTargetGroup(name: "\(name)-green", loadBalancerArn: balancer.loadBalancerArn, port: 80, protocolName: "HTTP")
            _ = try createListener(loadBalancerArn: balancer.loadBalancerArn, port: 80, protocolName: "HTTP", defaultActions: [
                .forward([WeightedTargetGroup(targetGroupArn: blue.targetGroupArn, weight: 100),
                          WeightedTargetGroup(targetGroupArn: green.targetGroupArn, weight: 0)]),
            ])
            loadBalancers = [LoadBalancerRef(targetGroupArn: blue.targetGroupArn, containerName: "app", containerPort: 80)]
        } else if native ?? settings.autoCreateNative {
            loadBalancers = [try nativeLoadBalancer(for: name)]
        }
        return try createService(
            cluster: cluster, name: name, taskDefinition: definition.arn ?? name, desiredCount: 3,
            controller: controller, loadBalancers: loadBalancers,
            circuitBreaker: CircuitBreaker(enable: true, rollback: loadBalancers.first?.advancedConfiguration != nil), now: now)
    }

    /// What ECS's blue/green, linear and canary need in front of a service: a load balancer
    /// with a production listener (port 80) and a test listener (8080), each with a rule that
    /// forwards to the blue target group (100) and the green one (0), and the service's load
    /// balancer naming green as the alternate and both rules.
    mutating func nativeLoadBalancer(for name: String) throws -> LoadBalancerRef {
        let balancer = createLoadBalancer(name: "\(name)-alb")
        let blue = try createTargetGroup(name: "\(name)-blue", loadBalancerArn: balancer.loadBalancerArn, port: 80, protocolName: "HTTP")
        let green = try createTargetGroup(name: "\(name)-green", loadBalancerArn: balancer.loadBalancerArn, port: 80, protocolName: "HTTP")
        let forward = [ListenerAction.forward([WeightedTargetGroup(targetGroupArn: blue.targetGroupArn, weight: 100),
                                               WeightedTargetGroup(targetGroupArn: green.targetGroupArn, weight: 0)])]
        let everything: JSONValue = .array([.object(["Field": .string("path-pattern"), "Values": .array([.string("/*")])])])
        var ruleArns: [String] = []
        for port in [80, 8080] {
            let listener = try createListener(loadBalancerArn: balancer.loadBalancerArn, port: port, protocolName: "HTTP",
                                              defaultActions: [.init(type: "fixed-response")])
            ruleArns.append(try createRule(listenerArn: listener.listenerArn, priority: 1, conditions: everything, actions: forward).ruleArn)
        }
        return LoadBalancerRef(targetGroupArn: blue.targetGroupArn, containerName: "app", containerPort: 80,
                               advancedConfiguration: AdvancedConfiguration(
                                   alternateTargetGroupArn: green.targetGroupArn, productionListenerRule: ruleArns[0],
                                   testListenerRule: ruleArns[1], roleArn: "arn:aws:iam::\(SimulatedAccount.id):role/ecsInfrastructureRole"))
    }

    /// A service in steady state: every task RUNNING and HEALTHY at `now`.
    mutating func createService(cluster: String, name: String, taskDefinition: String, desiredCount: Int,
                                controller: DeploymentController, loadBalancers: [LoadBalancerRef],
                                circuitBreaker: CircuitBreaker?, now: Date) throws -> ServiceRecord {
        createCluster(cluster)
        let key = ServiceRecord.key(cluster: cluster, name: name)
        guard services[key] == nil else {
            throw CloudError(code: CloudError.invalidParameter, message: "Creation of service was not idempotent.")
        }
        guard desiredCount >= 0 else {
            throw CloudError(code: CloudError.invalidParameter, message: "desiredCount must be at least 0.")
        }
        for ref in loadBalancers where targetGroups[ref.targetGroupArn] == nil {
            throw CloudError(code: CloudError.invalidParameter,
                             message: "The target group \(ref.targetGroupArn) does not exist.")
        }
        let definition = try resolveTaskDefinition(taskDefinition)
        let tdArn = definition.arn ?? taskDefinition
        let configuration = DeploymentConfiguration(maximumPercent: 200, minimumHealthyPercent: 100,
                                                    circuitBreaker: circuitBreaker)
        let svc = ServiceRecord(name: name, cluster: cluster, controller: controller, desiredCount: desiredCount,
                                configuration: configuration, loadBalancers: loadBalancers, at: now)
        services[key] = svc
        clusters[cluster]?.serviceNames.append(name)
        for ref in loadBalancers { targetGroupServices[ref.targetGroupArn, default: []].insert(key) }
        // Tasks launched long enough ago to be RUNNING and HEALTHY now.
        let launchedAt = now.addingTimeInterval(-settings.timeToHealthy)
        switch controller {
        case .ecs:
            let id = ids.deploymentID()
            svc.deployments = [DeploymentRecord(id: id, taskDefinition: tdArn, rolloutState: "COMPLETED", at: now)]
            svc.lastCompleted = .init(taskDefinition: tdArn, deploymentID: id)
            for _ in 0..<desiredCount {
                launchTask(in: svc, owner: id, taskDefinition: tdArn, targets: loadBalancers, at: launchedAt)
            }
        default:
            svc.externalTaskDefinition = tdArn
            var set = newTaskSet(in: svc, taskDefinition: tdArn, externalId: nil, scale: Scale(value: 100),
                                 loadBalancers: loadBalancers, clientToken: nil, now: now)
            set.status = "PRIMARY"
            set.stabilityStatus = "STEADY_STATE"
            svc.taskSets = [set]
            for _ in 0..<set.computedDesiredCount {
                launchTask(in: svc, owner: set.id, taskDefinition: tdArn, targets: loadBalancers, at: launchedAt)
            }
        }
        return svc
    }

    /// A new (ACTIVE) task set record; the caller adds it to the service.
    mutating func newTaskSet(in svc: ServiceRecord, taskDefinition: String, externalId: String?, scale: Scale,
                             loadBalancers: [LoadBalancerRef], clientToken: String?, now: Date) -> TaskSetRecord {
        let id = ids.deploymentID()
        for ref in loadBalancers { targetGroupServices[ref.targetGroupArn, default: []].insert(svc.key) }
        return TaskSetRecord(
            id: id, arn: ARN.taskSet(cluster: svc.cluster, service: svc.name, id: id), serviceArn: svc.arn,
            clusterArn: svc.clusterArn, status: "ACTIVE", taskDefinition: taskDefinition, externalId: externalId,
            scale: scale, computedDesiredCount: scale.taskCount(of: svc.desiredCount),
            loadBalancers: loadBalancers, clientToken: clientToken, createdAt: now, updatedAt: now)
    }

    // MARK: tasks

    /// Launches a task at `t`; its behaviour comes from its containers' images.
    mutating func launchTask(in svc: ServiceRecord, owner: String, taskDefinition arn: String,
                             targets: [LoadBalancerRef], at t: Date) {
        let images = taskDefinition(arn: arn)?.images.map(\.image) ?? []
        let behavior = images.reduce(ImageBehavior.healthy) { $0.merged(with: imageBehaviors[$1] ?? .fromTag(of: $1)) }
        let failingImage = images.first { (imageBehaviors[$0] ?? .fromTag(of: $0)).failToStart }
        nextIP += 1
        let ip = "10.0.\(nextIP / 250 % 250).\(nextIP % 250 + 4)"
        let task = TaskRecord(
            id: ids.hex(32), cluster: svc.cluster, taskDefinitionArn: arn, owner: owner, group: "service:\(svc.name)",
            privateIP: ip, targets: targets, behavior: behavior, image: failingImage, launchedAt: t, settings: settings)
        svc.tasks.append(task)
        taskOwners[task.id] = svc.key
    }

    /// A copy that later calls do not change (services are objects changed in place): nothing
    /// else refers to it, so it may cross to another thread (`StateSnapshot`).
    func snapshot() -> SimulatorState {
        var copy = self
        copy.services = services.mapValues { $0.copy() }
        return copy
    }
}

/// A `SimulatorState.snapshot()` on its way to the state file: referred to by nothing else.
struct StateSnapshot: @unchecked Sendable {
    let state: SimulatorState
}
