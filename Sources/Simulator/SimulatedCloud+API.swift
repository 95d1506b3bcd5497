import CloudModel
import Foundation

/// The `Cloud` protocols. Each call first throws a fault queued by `failNext`, if any.
extension SimulatedCloud {
    // MARK: ECS

    public func registerTaskDefinition(_ definition: TaskDefinition) throws -> TaskDefinition {
        try withState("RegisterTaskDefinition") { s, now in try s.register(definition, now: now) }
    }

    /// Not a call the server makes (it is not in `ECSAPI`): for other tools on the local endpoint.
    public func deregisterTaskDefinition(_ taskDefinition: String) throws -> TaskDefinition {
        try withState("DeregisterTaskDefinition") { s, now in try s.deregister(taskDefinition, now: now) }
    }

    public func describeTaskDefinition(_ taskDefinition: String) throws -> TaskDefinition {
        try withState("DescribeTaskDefinition") { s, _ in try s.resolveTaskDefinition(taskDefinition) }
    }

    public func describeServices(cluster: String, services: [String]) throws -> [ECSService] {
        try withState("DescribeServices") { s, now in try s.describeServices(cluster: cluster, services: services, now: now) }
    }

    public func listServices(cluster: String, nextToken: String?) throws -> ServicePage {
        try withState("ListServices") { s, _ in try s.listServices(cluster: cluster, nextToken: nextToken) }
    }

    public func updateService(_ input: UpdateServiceInput) throws -> ECSService {
        try withState("UpdateService") { s, now in try s.updateService(input, now: now) }
    }

    public func createTaskSet(_ input: CreateTaskSetInput) throws -> TaskSet {
        try withState("CreateTaskSet") { s, now in try s.createTaskSet(input, now: now) }
    }

    public func updateTaskSet(cluster: String, service: String, taskSet: String, scale: Scale) throws -> TaskSet {
        try withState("UpdateTaskSet") { s, now in
            try s.updateTaskSet(cluster: cluster, service: service, taskSet: taskSet, scale: scale, now: now)
        }
    }

    public func deleteTaskSet(cluster: String, service: String, taskSet: String, force: Bool) throws -> TaskSet {
        try withState("DeleteTaskSet") { s, now in
            try s.deleteTaskSet(cluster: cluster, service: service, taskSet: taskSet, force: force, now: now)
        }
    }

    public func describeTaskSets(cluster: String, service: String, taskSets: [String]?) throws -> [TaskSet] {
        try withState("DescribeTaskSets") { s, now in
            try s.describeTaskSets(cluster: cluster, service: service, taskSets: taskSets, now: now)
        }
    }

    public func updateServicePrimaryTaskSet(cluster: String, service: String, primaryTaskSet: String) throws -> TaskSet {
        try withState("UpdateServicePrimaryTaskSet") { s, now in
            try s.updateServicePrimaryTaskSet(cluster: cluster, service: service, primaryTaskSet: primaryTaskSet, now: now)
        }
    }

    public func listTasks(cluster: String, serviceName: String?, startedBy: String?, desiredStatus: String? = nil) throws -> [String] {
        try withState("ListTasks") { s, now in
            try s.listTasks(cluster: cluster, serviceName: serviceName, startedBy: startedBy, desiredStatus: desiredStatus, now: now)
        }
    }

    public func describeTasks(cluster: String, tasks: [String]) throws -> [ECSTask] {
        try withState("DescribeTasks") { s, now in try s.describeTasks(cluster: cluster, tasks: tasks, now: now) }
    }

    // MARK: ELB

    public func describeTargetGroups(arns: [String]) throws -> [TargetGroup] {
        try withState("DescribeTargetGroups") { s, _ in try s.describeTargetGroups(arns: arns) }
    }

    public func describeLoadBalancers(arns: [String]) throws -> [LoadBalancer] {
        try withState("DescribeLoadBalancers") { s, _ in try s.describeLoadBalancers(arns: arns) }
    }

    public func describeListeners(loadBalancerArn: String) throws -> [Listener] {
        try withState("DescribeListeners") { s, now in try s.describeListeners(loadBalancerArn: loadBalancerArn, now: now) }
    }

    public func describeRules(listenerArn: String) throws -> [ListenerRule] {
        try withState("DescribeRules") { s, now in try s.describeRules(listenerArn: listenerArn, now: now) }
    }

    public func modifyListener(listenerArn: String, defaultActions: [ListenerAction]) throws -> Listener {
        try withState("ModifyListener") { s, now in
            try s.modifyListener(listenerArn: listenerArn, defaultActions: defaultActions, now: now)
        }
    }

    public func modifyRule(ruleArn: String, actions: [ListenerAction]) throws -> ListenerRule {
        try withState("ModifyRule") { s, now in try s.modifyRule(ruleArn: ruleArn, actions: actions, now: now) }
    }

    public func describeTargetHealth(targetGroupArn: String) throws -> [TargetHealth] {
        try withState("DescribeTargetHealth") { s, now in try s.describeTargetHealth(targetGroupArn: targetGroupArn, now: now) }
    }

    // MARK: EventBridge

    public func describeRule(name: String) throws -> EventRule {
        try withState("DescribeRule") { s, now in
            try s.autoCreateRule(name, now: now)
            return try s.describeRule(name: name)
        }
    }

    public func listTargetsByRule(rule: String) throws -> [RuleTarget] {
        try withState("ListTargetsByRule") { s, now in
            try s.autoCreateRule(rule, now: now)
            return try s.listTargetsByRule(rule: rule)
        }
    }

    public func putTargets(rule: String, targets: [RuleTarget]) throws {
        try withState("PutTargets") { s, now in
            s.fireRules(until: now)
            try s.putTargets(rule: rule, targets: targets)
        }
    }

    /// EventBridge's PutRule: creates the rule or changes its schedule and state (its targets
    /// stay). The simulator's own operation: the engine never calls it.
    public func putRule(name: String, scheduleExpression: String?, state ruleState: String?) throws -> EventRule {
        try withState("PutRule") { s, now in
            s.fireRules(until: now)
            return try s.putRule(name: name, scheduleExpression: scheduleExpression, state: ruleState)
        }
    }

    /// EventBridge's ListRules (the simulator's own operation).
    public func listRules(prefix: String?) throws -> [EventRule] {
        try withState("ListRules") { s, _ in s.eventRules.values.map(\.rule).filter { prefix == nil || $0.name.hasPrefix(prefix!) }
            .sorted { $0.name < $1.name } }
    }

    // MARK: CloudWatch

    /// An alarm on the simulator's metrics (`SimulatorSettings.metricAlarms`) is evaluated
    /// now; in mock mode (`autoCreate`) another alarm asked about that does not exist is
    /// created, OK.
    public func describeAlarms(names: [String]) throws -> [MetricAlarm] {
        try withState("DescribeAlarms") { s, now in
            let evaluated = Dictionary(s.settings.metricAlarms.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            if s.settings.autoCreate {
                for name in names where s.alarms?[name] == nil && evaluated[name] == nil {
                    s.alarms = (s.alarms ?? [:]).merging([name: MetricAlarm(name: name, state: .ok, reason: "created by the simulator")]) { a, _ in a }
                    s.createdOnRead = true
                }
            }
            return try names.compactMap { name in try evaluated[name].map { try s.evaluate($0, now: now) } ?? s.alarms?[name] }
        }
    }

    /// The target groups' metrics, from the simulator's own traffic (SimulatorState+Metrics.swift).
    public func getMetricData(queries: [MetricDataQuery], start: Date, end: Date) throws -> [MetricDataResult] {
        try withState("GetMetricData") { s, now in try s.getMetricData(queries: queries, start: start, end: end, now: now) }
    }

    // MARK: SNS

    /// In mock mode (`autoCreate`) any topic of the simulated account exists.
    public func publish(topicArn: String, subject: String, message: String) throws -> String {
        try withState("Publish") { s, now in
            let ownTopic = topicArn.hasPrefix("arn:aws:sns:") && topicArn.split(separator: ":").dropFirst(4).first.map(String.init) == SimulatedAccount.id
            guard s.topics[topicArn] != nil || (s.settings.autoCreate && ownTopic) else {
                throw CloudError(code: "NotFound", message: "Topic does not exist", httpStatus: 404)
            }
            let id = "\(s.ids.hex(8))-\(s.ids.hex(4))-\(s.ids.hex(4))-\(s.ids.hex(4))-\(s.ids.hex(12))"
            s.topics[topicArn, default: []].append(PublishedMessage(id: id, subject: subject, message: message, at: now))
            return id
        }
    }

    // MARK: STS

    public func getCallerIdentity() throws -> CallerIdentity {
        try withState("GetCallerIdentity") { _, _ in
            CallerIdentity(account: SimulatedAccount.id, arn: "arn:aws:iam::\(SimulatedAccount.id):user/simulator",
                           userId: "AIDASIMULATOR0000000")
        }
    }
}

/// ECS's service deployments (its own blue/green, linear and canary).
extension SimulatedCloud {
    public func listServiceDeployments(cluster: String, service: String) throws -> [ServiceDeploymentBrief] {
        try withState("ListServiceDeployments") { s, now in try s.listServiceDeployments(cluster: cluster, service: service, now: now) }
    }

    public func describeServiceDeployments(arns: [String]) throws -> [ServiceDeploymentDetail] {
        try withState("DescribeServiceDeployments") { s, now in try s.describeServiceDeployments(arns: arns, now: now) }
    }

    public func describeServiceRevisions(arns: [String]) throws -> [ServiceRevision] {
        try withState("DescribeServiceRevisions") { s, _ in try s.describeServiceRevisions(arns: arns) }
    }

    public func continueServiceDeployment(arn: String, hookId: String, action: String) throws {
        try withState("ContinueServiceDeployment") { s, now in try s.continueServiceDeployment(arn: arn, hookId: hookId, action: action, now: now) }
    }

    public func stopServiceDeployment(arn: String, stopType: String) throws {
        try withState("StopServiceDeployment") { s, now in try s.stopServiceDeployment(arn: arn, stopType: stopType, now: now) }
    }
}
