import CloudModel
import Foundation

/// A simulated ECS service with its deployments (ECS controller) or task sets (EXTERNAL) and
/// its tasks. Lives only inside `SimulatedCloud`'s lock; callers get `ECSService` snapshots.
final class ServiceRecord: Codable {
    let name: String
    let cluster: String
    let arn: String
    let clusterArn: String
    let controller: DeploymentController
    let loadBalancers: [LoadBalancerRef]
    let createdAt: Date
    var desiredCount: Int
    var configuration: DeploymentConfiguration
    var deployments: [DeploymentRecord] = []
    var taskSets: [TaskSetRecord] = []
    /// Tasks not yet STOPPED, in launch order (the only ones the controller looks at).
    var tasks: [TaskRecord] = []
    /// STOPPED tasks still visible to DescribeTasks, in the order they stopped.
    var stoppedTasks: [TaskRecord] = []
    /// The instant up to which this service's timeline has been played.
    var evaluatedAt: Date
    /// The task definition and id of the last deployment that COMPLETED (rollback target).
    var lastCompleted: CompletedDeployment?
    /// EXTERNAL: the PRIMARY task set's task definition, kept when there is no PRIMARY.
    var externalTaskDefinition: String?
    /// FARGATE or EC2 (nil in state files written before it was kept: FARGATE).
    var launchType: String?
    /// ECS's own blue/green, linear and canary: the service deployments, oldest first (the
    /// last 25), and the revisions they ran (nil in state files written before them).
    var serviceDeployments: [NativeDeploymentRecord]?
    var revisions: [ServiceRevisionRecord]?
    /// The target group that takes production traffic now (nil: the load balancer's own);
    /// ECS swaps it with the alternate one at each deployment.
    var productionTargetGroup: String?

    init(name: String, cluster: String, controller: DeploymentController, desiredCount: Int,
         configuration: DeploymentConfiguration, loadBalancers: [LoadBalancerRef], at t: Date) {
        self.name = name
        self.cluster = cluster
        self.arn = ARN.service(cluster: cluster, name: name)
        self.clusterArn = ARN.cluster(cluster)
        self.controller = controller
        self.desiredCount = desiredCount
        self.configuration = configuration
        self.loadBalancers = loadBalancers
        self.createdAt = t
        self.evaluatedAt = t
    }

    /// A copy that later changes to this one do not touch (the state file encodes copies
    /// outside the simulator's lock). Every stored property is copied: a new one goes here too.
    func copy() -> ServiceRecord {
        let copy = ServiceRecord(name: name, cluster: cluster, controller: controller, desiredCount: desiredCount,
                                 configuration: configuration, loadBalancers: loadBalancers, at: createdAt)
        copy.deployments = deployments
        copy.taskSets = taskSets
        copy.tasks = tasks
        copy.stoppedTasks = stoppedTasks
        copy.evaluatedAt = evaluatedAt
        copy.lastCompleted = lastCompleted
        copy.externalTaskDefinition = externalTaskDefinition
        copy.launchType = launchType
        copy.serviceDeployments = serviceDeployments
        copy.revisions = revisions
        copy.productionTargetGroup = productionTargetGroup
        return copy
    }

    struct CompletedDeployment: Codable {
        let taskDefinition: String
        let deploymentID: String
    }

    var key: String { Self.key(cluster: cluster, name: name) }
    static func key(cluster: String, name: String) -> String { cluster + "/" + name }

    var primaryIndex: Int? { deployments.firstIndex { $0.isPrimary } }

    /// The next instant after `evaluatedAt` when one of its tasks changes.
    func nextEvent() -> Date? {
        var next: Date?
        for task in tasks {
            if let time = task.nextEvent(after: evaluatedAt), next == nil || time < next! { next = time }
        }
        if let time = currentNative?.nextEvent(after: evaluatedAt), next == nil || time < next! { next = time }
        return next
    }

    // MARK: ECS's own blue/green, linear and canary

    /// The load balancer with an `advancedConfiguration`, if any.
    var advancedLoadBalancer: LoadBalancerRef? { loadBalancers.first { $0.advancedConfiguration != nil } }

    /// The last service deployment's index while it has not ended.
    var currentNativeIndex: Int? {
        guard let last = serviceDeployments?.indices.last,
              serviceDeployments![last].isAdvancing || serviceDeployments![last].isRollingBack else { return nil }
        return last
    }
    var currentNative: NativeDeploymentRecord? { currentNativeIndex.map { serviceDeployments![$0] } }

    /// The target groups a task of deployment `id` registers in: the target side of a service
    /// deployment in progress, else the one that takes production traffic.
    func targets(forDeployment id: String) -> [LoadBalancerRef] {
        guard let advanced = advancedLoadBalancer else { return loadBalancers }
        var ref = advanced
        if let native = currentNative, native.isAdvancing, native.deploymentID == id {
            ref.targetGroupArn = native.targetTargetGroup
        } else {
            ref.targetGroupArn = productionTargetGroup ?? advanced.targetGroupArn
        }
        return [ref] + loadBalancers.filter { $0.advancedConfiguration == nil }
    }

    /// Every task still remembered, stopped ones included, in launch order.
    var allTasks: [TaskRecord] {
        guard !stoppedTasks.isEmpty else { return tasks }
        return (stoppedTasks + tasks).sorted { $0.createdAt < $1.createdAt }
    }

    /// Moves the tasks that are STOPPED by `evaluatedAt` to `stoppedTasks`.
    func archiveStopped() {
        let t = evaluatedAt
        guard tasks.contains(where: { $0.isStopped(at: t) }) else { return }
        let done = tasks.filter { $0.isStopped(at: t) }.sorted { $0.stoppedAt! < $1.stoppedAt! }
        stoppedTasks += done
        tasks.removeAll { $0.isStopped(at: t) }
    }

    /// Indices of the tasks `owner` launched that ECS still wants running.
    func liveTasks(of owner: String) -> [Int] {
        tasks.indices.filter { tasks[$0].owner == owner && tasks[$0].isLive }
    }

    func taskSetIndex(_ reference: String) -> Int? { taskSets.firstIndex { $0.matches(reference) } }

    /// Whether something still serves traffic sent to the target group: a live task set that
    /// routes to it, or a live task registered in it.
    func serves(targetGroup: String) -> Bool {
        if controller == .ecs {
            return tasks.contains { $0.isLive && $0.targets.contains { $0.targetGroupArn == targetGroup } }
        }
        return taskSets.contains { $0.isLive && $0.routes(to: targetGroup) }
    }

    var taskDefinition: String? {
        switch controller {
        case .ecs: deployments.first { $0.isPrimary }?.taskDefinition
        default: taskSets.first { $0.status == "PRIMARY" }?.taskDefinition ?? externalTaskDefinition
        }
    }

    func snapshot(at t: Date) -> ECSService {
        var running = 0, pending = 0
        for task in tasks {
            switch task.lastStatus(at: t) {
            case "RUNNING": running += 1
            case "PROVISIONING", "PENDING": pending += 1
            default: break
            }
        }
        let ordered = deployments.filter(\.isPrimary) + deployments.filter { !$0.isPrimary }.reversed()
        return ECSService(
            serviceArn: arn, serviceName: name, clusterArn: clusterArn, status: "ACTIVE",
            desiredCount: desiredCount, runningCount: running, pendingCount: pending,
            taskDefinition: taskDefinition, deploymentController: controller,
            deploymentConfiguration: configuration,
            deployments: ordered.map { $0.snapshot(tasks: tasks, serviceDesired: desiredCount, at: t) },
            taskSets: taskSets.map { $0.snapshot(tasks: tasks, at: t) },
            loadBalancers: loadBalancers, launchSettings: .object(["launchType": .string(launchType ?? "FARGATE")]),
            createdAt: createdAt)
    }
}
