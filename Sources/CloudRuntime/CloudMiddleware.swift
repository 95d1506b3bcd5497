import CloudModel
import Foundation
import Synchronization

/// Something that wraps every cloud call: metrics, client-side rate limits, retries,
/// the simulator's throttle enforcement. Layers compose around the `Cloud` interface, so
/// the same layer serves AWS and the simulator alike.
public protocol CloudMiddleware: Sendable {
    func intercept<T: Sendable>(_ call: CloudCall, _ next: @Sendable () async throws -> T) async throws -> T
}

/// A `Cloud` whose every call passes through `middleware` (first element outermost).
public struct MiddlewareCloud: ECSAPI, ELBAPI, EventsAPI, IdentityAPI, CloudWatchAPI, TopicsAPI {
    public let inner: Cloud
    public let middleware: [any CloudMiddleware]

    public init(_ inner: Cloud, middleware: [any CloudMiddleware]) {
        self.inner = inner
        self.middleware = middleware
    }

    /// The wrapped cloud, as a `Cloud`.
    public var cloud: Cloud { Cloud(ecs: self, elb: self, events: self, identity: self, cloudWatch: self, topics: self) }

    /// Runs `body` as the call `service:operation` through every layer (for an operation the
    /// `Cloud` protocols do not name).
    public func run<T: Sendable>(_ service: String, _ operation: String,
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await middleware.run(CloudCall(service, operation), body)
    }

    private func ecs<T: Sendable>(_ op: String, _ body: @escaping @Sendable (any ECSAPI) async throws -> T) async throws -> T {
        let api = inner.ecs
        return try await run("ecs", op) { try await body(api) }
    }

    private func elb<T: Sendable>(_ op: String, _ body: @escaping @Sendable (any ELBAPI) async throws -> T) async throws -> T {
        let api = inner.elb
        return try await run("elasticloadbalancing", op) { try await body(api) }
    }

    private func events<T: Sendable>(_ op: String, _ body: @escaping @Sendable (any EventsAPI) async throws -> T) async throws -> T {
        let api = inner.events
        return try await run("events", op) { try await body(api) }
    }

    // MARK: ECS
    public func registerTaskDefinition(_ d: TaskDefinition) async throws -> TaskDefinition {
        try await ecs("RegisterTaskDefinition") { try await $0.registerTaskDefinition(d) }
    }
    public func describeTaskDefinition(_ t: String) async throws -> TaskDefinition {
        try await ecs("DescribeTaskDefinition") { try await $0.describeTaskDefinition(t) }
    }
    public func describeServices(cluster: String, services: [String]) async throws -> [ECSService] {
        try await ecs("DescribeServices") { try await $0.describeServices(cluster: cluster, services: services) }
    }
    public func listServices(cluster: String, nextToken: String?) async throws -> ServicePage {
        try await ecs("ListServices") { try await $0.listServices(cluster: cluster, nextToken: nextToken) }
    }
    public func updateService(_ input: UpdateServiceInput) async throws -> ECSService {
        try await ecs("UpdateService") { try await $0.updateService(input) }
    }
    public func createTaskSet(_ input: CreateTaskSetInput) async throws -> TaskSet {
        try await ecs("CreateTaskSet") { try await $0.createTaskSet(input) }
    }
    public func updateTaskSet(cluster: String, service: String, taskSet: String, scale: Scale) async throws -> TaskSet {
        try await ecs("UpdateTaskSet") { try await $0.updateTaskSet(cluster: cluster, service: service, taskSet: taskSet, scale: scale) }
    }
    public func deleteTaskSet(cluster: String, service: String, taskSet: String, force: Bool) async throws -> TaskSet {
        try await ecs("DeleteTaskSet") { try await $0.deleteTaskSet(cluster: cluster, service: service, taskSet: taskSet, force: force) }
    }
    public func describeTaskSets(cluster: String, service: String, taskSets: [String]?) async throws -> [TaskSet] {
        try await ecs("DescribeTaskSets") { try await $0.describeTaskSets(cluster: cluster, service: service, taskSets: taskSets) }
    }
    public func updateServicePrimaryTaskSet(cluster: String, service: String, primaryTaskSet: String) async throws -> TaskSet {
        try await ecs("UpdateServicePrimaryTaskSet") {
            try await $0.updateServicePrimaryTaskSet(cluster: cluster, service: service, primaryTaskSet: primaryTaskSet)
        }
    }
    public func listTasks(cluster: String, serviceName: String?, startedBy: String?, desiredStatus: String?) async throws -> [String] {
        try await ecs("ListTasks") { try await $0.listTasks(cluster: cluster, serviceName: serviceName, startedBy: startedBy, desiredStatus: desiredStatus) }
    }
    public func describeTasks(cluster: String, tasks: [String]) async throws -> [ECSTask] {
        try await ecs("DescribeTasks") { try await $0.describeTasks(cluster: cluster, tasks: tasks) }
    }
    public func listServiceDeployments(cluster: String, service: String) async throws -> [ServiceDeploymentBrief] {
        try await ecs("ListServiceDeployments") { try await $0.listServiceDeployments(cluster: cluster, service: service) }
    }
    public func describeServiceDeployments(arns: [String]) async throws -> [ServiceDeploymentDetail] {
        try await ecs("DescribeServiceDeployments") { try await $0.describeServiceDeployments(arns: arns) }
    }
    public func describeServiceRevisions(arns: [String]) async throws -> [ServiceRevision] {
        try await ecs("DescribeServiceRevisions") { try await $0.describeServiceRevisions(arns: arns) }
    }
    public func continueServiceDeployment(arn: String, hookId: String, action: String) async throws {
        try await ecs("ContinueServiceDeployment") { try await $0.continueServiceDeployment(arn: arn, hookId: hookId, action: action) }
    }
    public func stopServiceDeployment(arn: String, stopType: String) async throws {
        try await ecs("StopServiceDeployment") { try await $0.stopServiceDeployment(arn: arn, stopType: stopType) }
    }

    // MARK: ELB
    public func describeTargetGroups(arns: [String]) async throws -> [TargetGroup] {
        try await elb("DescribeTargetGroups") { try await $0.describeTargetGroups(arns: arns) }
    }
    public func describeLoadBalancers(arns: [String]) async throws -> [LoadBalancer] {
        try await elb("DescribeLoadBalancers") { try await $0.describeLoadBalancers(arns: arns) }
    }
    public func describeListeners(loadBalancerArn: String) async throws -> [Listener] {
        try await elb("DescribeListeners") { try await $0.describeListeners(loadBalancerArn: loadBalancerArn) }
    }
    public func describeRules(listenerArn: String) async throws -> [ListenerRule] {
        try await elb("DescribeRules") { try await $0.describeRules(listenerArn: listenerArn) }
    }
    public func modifyListener(listenerArn: String, defaultActions: [ListenerAction]) async throws -> Listener {
        try await elb("ModifyListener") { try await $0.modifyListener(listenerArn: listenerArn, defaultActions: defaultActions) }
    }
    public func modifyRule(ruleArn: String, actions: [ListenerAction]) async throws -> ListenerRule {
        try await elb("ModifyRule") { try await $0.modifyRule(ruleArn: ruleArn, actions: actions) }
    }
    public func describeTargetHealth(targetGroupArn: String) async throws -> [TargetHealth] {
        try await elb("DescribeTargetHealth") { try await $0.describeTargetHealth(targetGroupArn: targetGroupArn) }
    }

    // MARK: EventBridge
    public func describeRule(name: String) async throws -> EventRule {
        try await events("DescribeRule") { try await $0.describeRule(name: name) }
    }
    public func listTargetsByRule(rule: String) async throws -> [RuleTarget] {
        try await events("ListTargetsByRule") { try await $0.listTargetsByRule(rule: rule) }
    }
    public func putTargets(rule: String, targets: [RuleTarget]) async throws {
        try await events("PutTargets") { try await $0.putTargets(rule: rule, targets: targets) }
    }

    // MARK: CloudWatch and SNS
    public func describeAlarms(names: [String]) async throws -> [MetricAlarm] {
        let api = inner.cloudWatch
        return try await run("monitoring", "DescribeAlarms") { try await api.describeAlarms(names: names) }
    }

    public func getMetricData(queries: [MetricDataQuery], start: Date, end: Date) async throws -> [MetricDataResult] {
        let api = inner.cloudWatch
        return try await run("monitoring", "GetMetricData") { try await api.getMetricData(queries: queries, start: start, end: end) }
    }

    public func publish(topicArn: String, subject: String, message: String) async throws -> String {
        let api = inner.topics
        return try await run("sns", "Publish") { try await api.publish(topicArn: topicArn, subject: subject, message: message) }
    }

    // MARK: STS
    public func getCallerIdentity() async throws -> CallerIdentity {
        let api = inner.identity
        return try await run("sts", "GetCallerIdentity") { try await api.getCallerIdentity() }
    }
}

/// Enforces AWS's throttle buckets the way AWS does: a call that finds its bucket empty
/// fails at once with `ThrottlingException: Rate exceeded`. The simulator sits behind it; its
/// buckets are the account's, shared by every caller.
public final class ThrottleEnforcer: CloudMiddleware {
    private let clock: any DeployClock
    private let limits: RateLimits
    /// Calls per second by category that other tools of the account make: they take that
    /// share of the bucket's refill.
    private let background: [String: Double]
    private let buckets: Mutex<[String: TokenBucket]>

    public init(limits: RateLimits, clock: any DeployClock, background: [String: Double] = [:]) {
        self.limits = limits
        self.clock = clock
        self.background = background
        self.buckets = Mutex([:])
    }

    public func intercept<T: Sendable>(_ call: CloudCall, _ next: @Sendable () async throws -> T) async throws -> T {
        if let category = limits.category(of: call), let limit = limits.limits[category] {
            let now = clock.now()
            let allowed = buckets.withLock { b -> Bool in
                var bucket = b[category] ?? TokenBucket(capacity: limit.capacity,
                                                        refillPerSecond: max(0, limit.refillPerSecond - (background[category] ?? 0)))
                let ok = bucket.tryTake(at: now)
                b[category] = bucket
                return ok
            }
            if !allowed { throw CloudError(code: CloudError.throttling, message: "Rate exceeded", httpStatus: 400) }
        }
        return try await next()
    }
}

extension Array where Element == any CloudMiddleware {
    /// Runs `body` as `call` through every layer, the first outermost.
    public func run<T: Sendable>(_ call: CloudCall, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        var next: @Sendable () async throws -> T = body
        for layer in reversed() {
            let inner = next
            next = { try await layer.intercept(call, inner) }
        }
        return try await next()
    }
}
