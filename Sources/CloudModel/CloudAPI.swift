import Foundation

/// The ECS operations the engine needs. AWS and the simulator both implement it.
public protocol ECSAPI: Sendable {
    func registerTaskDefinition(_ definition: TaskDefinition) async throws -> TaskDefinition
    /// `family`, `family:revision` or a task definition ARN.
    func describeTaskDefinition(_ taskDefinition: String) async throws -> TaskDefinition
    /// At most 10 services a call, as in AWS. Missing services are left out of the answer.
    func describeServices(cluster: String, services: [String]) async throws -> [ECSService]
    func listServices(cluster: String, nextToken: String?) async throws -> ServicePage
    func updateService(_ input: UpdateServiceInput) async throws -> ECSService
    func createTaskSet(_ input: CreateTaskSetInput) async throws -> TaskSet
    func updateTaskSet(cluster: String, service: String, taskSet: String, scale: Scale) async throws -> TaskSet
    func deleteTaskSet(cluster: String, service: String, taskSet: String, force: Bool) async throws -> TaskSet
    func describeTaskSets(cluster: String, service: String, taskSets: [String]?) async throws -> [TaskSet]
    func updateServicePrimaryTaskSet(cluster: String, service: String, primaryTaskSet: String) async throws -> TaskSet
    /// Task ARNs; `startedBy` filters as in AWS.
    /// `desiredStatus`: RUNNING (nil: AWS's default, which may show recently stopped tasks) or STOPPED.
    func listTasks(cluster: String, serviceName: String?, startedBy: String?, desiredStatus: String?) async throws -> [String]
    func describeTasks(cluster: String, tasks: [String]) async throws -> [ECSTask]
    /// The service's service deployments, newest first (every page).
    func listServiceDeployments(cluster: String, service: String) async throws -> [ServiceDeploymentBrief]
    /// At most 20 a call, as in AWS; missing ones are left out of the answer.
    func describeServiceDeployments(arns: [String]) async throws -> [ServiceDeploymentDetail]
    /// At most 20 a call, as in AWS; missing ones are left out of the answer.
    func describeServiceRevisions(arns: [String]) async throws -> [ServiceRevision]
    /// Ends the PAUSE hook `hookId`: `action` CONTINUE or ROLLBACK.
    func continueServiceDeployment(arn: String, hookId: String, action: String) async throws
    /// `stopType` ROLLBACK or ABORT.
    func stopServiceDeployment(arn: String, stopType: String) async throws
}

/// The Elastic Load Balancing v2 operations the engine needs.
public protocol ELBAPI: Sendable {
    func describeTargetGroups(arns: [String]) async throws -> [TargetGroup]
    func describeLoadBalancers(arns: [String]) async throws -> [LoadBalancer]
    func describeListeners(loadBalancerArn: String) async throws -> [Listener]
    func describeRules(listenerArn: String) async throws -> [ListenerRule]
    func modifyListener(listenerArn: String, defaultActions: [ListenerAction]) async throws -> Listener
    func modifyRule(ruleArn: String, actions: [ListenerAction]) async throws -> ListenerRule
    func describeTargetHealth(targetGroupArn: String) async throws -> [TargetHealth]
}

/// The EventBridge operations scheduled tasks need.
public protocol EventsAPI: Sendable {
    func describeRule(name: String) async throws -> EventRule
    func listTargetsByRule(rule: String) async throws -> [RuleTarget]
    func putTargets(rule: String, targets: [RuleTarget]) async throws
}

/// Identity and permission checks.
public protocol IdentityAPI: Sendable {
    func getCallerIdentity() async throws -> CallerIdentity
}

/// Everything the engine may call, bundled.
public struct Cloud: Sendable {
    public var ecs: any ECSAPI
    public var elb: any ELBAPI
    public var events: any EventsAPI
    public var identity: any IdentityAPI
    public var cloudWatch: any CloudWatchAPI
    public var topics: any TopicsAPI

    public init(ecs: any ECSAPI, elb: any ELBAPI, events: any EventsAPI, identity: any IdentityAPI, cloudWatch: any CloudWatchAPI,
                topics: any TopicsAPI) {
        self.ecs = ecs
        self.elb = elb
        self.events = events
        self.identity = identity
        self.cloudWatch = cloudWatch
        self.topics = topics
    }
}

extension ECSAPI {
    /// ListTasks with AWS's default filter (the tasks ECS wants RUNNING).
    public func listTasks(cluster: String, serviceName: String?, startedBy: String?) async throws -> [String] {
        try await listTasks(cluster: cluster, serviceName: serviceName, startedBy: startedBy, desiredStatus: nil)
    }
}
