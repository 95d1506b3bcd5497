import CloudModel
import Foundation
import Synchronization

/// Merges concurrent reads (`CallCoalescer`): DescribeServices calls for the same cluster into
/// calls of up to `maxBatch` services (10, ECS's limit), and DescribeServiceDeployments calls
/// into calls of up to 20 (ECS's limit). Put it above the client-side rate limiter (wrap the
/// `MiddlewareCloud`, see `Cloud.coalescingServiceReads()`), so that one token of the
/// service-reads bucket serves up to 10 (or 20) callers: hundreds of deployments each polling
/// their one service (or service deployment) then cost a tenth of the reads.
public final class ReadCoalescer: ECSAPI {
    public let inner: any ECSAPI
    let services: CallCoalescer<ECSService>
    let deployments: CallCoalescer<ServiceDeploymentDetail>

    public init(_ inner: any ECSAPI, maxBatch: Int = 10, clock: (any DeployClock)? = nil) {
        self.inner = inner
        services = CallCoalescer(maxBatch: maxBatch, clock: clock, fetch: { try await inner.describeServices(cluster: $0, services: $1) },
                                 matches: { service, wanted in service.serviceArn == wanted || service.serviceName == wanted.arnResourceName })
        deployments = CallCoalescer(maxBatch: 20, clock: clock, fetch: { try await inner.describeServiceDeployments(arns: $1) },
                                    matches: { $0.serviceDeploymentArn == $1 })
    }

    /// Callers waiting for a call to go out (not those in one in flight).
    public var queuedCallers: Int { services.queuedCallers + deployments.queuedCallers }

    public func describeServices(cluster: String, services names: [String]) async throws -> [ECSService] {
        try await services.call(cluster, names)
    }

    public func describeServiceDeployments(arns: [String]) async throws -> [ServiceDeploymentDetail] {
        try await deployments.call("", arns)
    }

    // MARK: Everything else goes straight through.
    public func registerTaskDefinition(_ d: TaskDefinition) async throws -> TaskDefinition { try await inner.registerTaskDefinition(d) }
    public func describeTaskDefinition(_ t: String) async throws -> TaskDefinition { try await inner.describeTaskDefinition(t) }
    public func listServices(cluster: String, nextToken: String?) async throws -> ServicePage {
        try await inner.listServices(cluster: cluster, nextToken: nextToken)
    }
    public func updateService(_ input: UpdateServiceInput) async throws -> ECSService { try await inner.updateService(input) }
    public func createTaskSet(_ input: CreateTaskSetInput) async throws -> TaskSet { try await inner.createTaskSet(input) }
    public func updateTaskSet(cluster: String, service: String, taskSet: String, scale: Scale) async throws -> TaskSet {
        try await inner.updateTaskSet(cluster: cluster, service: service, taskSet: taskSet, scale: scale)
    }
    public func deleteTaskSet(cluster: String, service: String, taskSet: String, force: Bool) async throws -> TaskSet {
        try await inner.deleteTaskSet(cluster: cluster, service: service, taskSet: taskSet, force: force)
    }
    public func describeTaskSets(cluster: String, service: String, taskSets: [String]?) async throws -> [TaskSet] {
        try await inner.describeTaskSets(cluster: cluster, service: service, taskSets: taskSets)
    }
    public func updateServicePrimaryTaskSet(cluster: String, service: String, primaryTaskSet: String) async throws -> TaskSet {
        try await inner.updateServicePrimaryTaskSet(cluster: cluster, service: service, primaryTaskSet: primaryTaskSet)
    }
    public func listTasks(cluster: String, serviceName: String?, startedBy: String?, desiredStatus: String?) async throws -> [String] {
        try await inner.listTasks(cluster: cluster, serviceName: serviceName, startedBy: startedBy, desiredStatus: desiredStatus)
    }
    public func describeTasks(cluster: String, tasks: [String]) async throws -> [ECSTask] {
        try await inner.describeTasks(cluster: cluster, tasks: tasks)
    }
    public func listServiceDeployments(cluster: String, service: String) async throws -> [ServiceDeploymentBrief] {
        try await inner.listServiceDeployments(cluster: cluster, service: service)
    }
    public func describeServiceRevisions(arns: [String]) async throws -> [ServiceRevision] {
        try await inner.describeServiceRevisions(arns: arns)
    }
    public func continueServiceDeployment(arn: String, hookId: String, action: String) async throws {
        try await inner.continueServiceDeployment(arn: arn, hookId: hookId, action: action)
    }
    public func stopServiceDeployment(arn: String, stopType: String) async throws {
        try await inner.stopServiceDeployment(arn: arn, stopType: stopType)
    }
}

extension Cloud {
    /// This cloud with its DescribeServices and DescribeServiceDeployments calls merged (`ReadCoalescer`). Apply
    /// it to the cloud that already has the rate limiter (a `MiddlewareCloud`), so that the
    /// merged call takes one token.
    public func coalescingServiceReads(maxBatch: Int = 10, clock: any DeployClock) -> Cloud {
        var cloud = self
        cloud.ecs = ReadCoalescer(ecs, maxBatch: maxBatch, clock: clock)
        return cloud
    }
}
