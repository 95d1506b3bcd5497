import Foundation

public enum DeploymentController: String, Sendable, Codable {
    case ecs = "ECS"
    case external = "EXTERNAL"
    case codeDeploy = "CODE_DEPLOY"
}

public struct LoadBalancerRef: Sendable, Equatable, Codable {
    public var targetGroupArn: String
    public var containerName: String?
    public var containerPort: Int?
    /// ECS's blue/green, linear and canary: the alternate target group and the listener rules.
    public var advancedConfiguration: AdvancedConfiguration?
    public init(targetGroupArn: String, containerName: String? = nil, containerPort: Int? = nil,
                advancedConfiguration: AdvancedConfiguration? = nil) {
        self.targetGroupArn = targetGroupArn
        self.containerName = containerName
        self.containerPort = containerPort
        self.advancedConfiguration = advancedConfiguration
    }
}

public struct CircuitBreaker: Sendable, Equatable, Codable {
    public var enable: Bool
    public var rollback: Bool
    public init(enable: Bool, rollback: Bool) {
        self.enable = enable
        self.rollback = rollback
    }
}

public struct DeploymentConfiguration: Sendable, Equatable, Codable {
    public var maximumPercent: Int?
    public var minimumHealthyPercent: Int?
    public var circuitBreaker: CircuitBreaker?
    /// ROLLING (nil: as the service has it), or ECS's own BLUE_GREEN, LINEAR or CANARY.
    public var strategy: DeploymentStrategy?
    public var bakeTimeInMinutes: Int?
    public var canaryConfiguration: CanaryConfiguration?
    public var linearConfiguration: LinearConfiguration?
    public var lifecycleHooks: [DeploymentLifecycleHook]?
    public var alarms: DeploymentAlarms?
    public init(maximumPercent: Int? = nil, minimumHealthyPercent: Int? = nil, circuitBreaker: CircuitBreaker? = nil,
                strategy: DeploymentStrategy? = nil, bakeTimeInMinutes: Int? = nil, canaryConfiguration: CanaryConfiguration? = nil,
                linearConfiguration: LinearConfiguration? = nil, lifecycleHooks: [DeploymentLifecycleHook]? = nil,
                alarms: DeploymentAlarms? = nil) {
        self.maximumPercent = maximumPercent
        self.minimumHealthyPercent = minimumHealthyPercent
        self.circuitBreaker = circuitBreaker
        self.strategy = strategy
        self.bakeTimeInMinutes = bakeTimeInMinutes
        self.canaryConfiguration = canaryConfiguration
        self.linearConfiguration = linearConfiguration
        self.lifecycleHooks = lifecycleHooks
        self.alarms = alarms
    }
}

/// One entry of a service's `deployments` (ECS deployment controller).
public struct ServiceDeployment: Sendable, Equatable, Codable {
    public var id: String
    /// PRIMARY, ACTIVE or INACTIVE.
    public var status: String
    public var taskDefinition: String
    public var desiredCount: Int
    public var pendingCount: Int
    public var runningCount: Int
    public var failedTasks: Int
    /// IN_PROGRESS, COMPLETED or FAILED.
    public var rolloutState: String?
    public var rolloutStateReason: String?
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(id: String, status: String, taskDefinition: String, desiredCount: Int, pendingCount: Int = 0,
                runningCount: Int = 0, failedTasks: Int = 0, rolloutState: String? = nil,
                rolloutStateReason: String? = nil, createdAt: Date?, updatedAt: Date?) {
        self.id = id
        self.status = status
        self.taskDefinition = taskDefinition
        self.desiredCount = desiredCount
        self.pendingCount = pendingCount
        self.runningCount = runningCount
        self.failedTasks = failedTasks
        self.rolloutState = rolloutState
        self.rolloutStateReason = rolloutStateReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct Scale: Sendable, Equatable, Codable {
    public var value: Double
    /// Always PERCENT.
    public var unit: String
    public init(value: Double, unit: String = "PERCENT") {
        self.value = value
        self.unit = unit
    }

    /// The tasks a task set at this scale runs in a service that wants `serviceDesired`:
    /// `ceil(desired * scale% / 100)`, as ECS computes a task set's `computedDesiredCount`.
    public func taskCount(of serviceDesired: Int) -> Int {
        let exact = Double(serviceDesired) * value / 100
        guard exact.isFinite, exact < 1e9 else { return exact > 0 ? 1_000_000_000 : 0 }
        return max(0, Int((exact - 1e-9).rounded(.up)))
    }
}

/// A task set of a service with the EXTERNAL deployment controller.
public struct TaskSet: Sendable, Equatable, Codable {
    public var id: String
    public var taskSetArn: String
    public var serviceArn: String
    public var clusterArn: String
    /// PRIMARY, ACTIVE or DRAINING.
    public var status: String
    public var taskDefinition: String
    public var externalId: String?
    public var computedDesiredCount: Int?
    public var pendingCount: Int
    public var runningCount: Int
    public var scale: Scale
    /// STEADY_STATE or STABILIZING.
    public var stabilityStatus: String
    public var loadBalancers: [LoadBalancerRef]
    /// How its tasks launch, as ECS describes it (launchType, platformVersion,
    /// capacityProviderStrategy, networkConfiguration, serviceRegistries), kept raw so that a
    /// new task set can be created the same way.
    public var launchSettings: JSONValue?
    public var createdAt: Date?
    public var updatedAt: Date?

    public var launchType: String? { launchSettings?["launchType"]?.stringValue }
    public var capacityProviders: [String] { JSONValue.capacityProviders(launchSettings) }

    /// The fields of a task set that say how its tasks launch.
    public static let launchSettingKeys = ["launchType", "platformVersion", "capacityProviderStrategy",
                                           "networkConfiguration", "serviceRegistries"]

    public init(id: String, taskSetArn: String, serviceArn: String, clusterArn: String, status: String,
                taskDefinition: String, externalId: String? = nil, computedDesiredCount: Int?, pendingCount: Int = 0,
                runningCount: Int = 0, scale: Scale, stabilityStatus: String, loadBalancers: [LoadBalancerRef] = [],
                launchSettings: JSONValue? = nil, createdAt: Date?, updatedAt: Date?) {
        self.launchSettings = launchSettings
        self.id = id
        self.taskSetArn = taskSetArn
        self.serviceArn = serviceArn
        self.clusterArn = clusterArn
        self.status = status
        self.taskDefinition = taskDefinition
        self.externalId = externalId
        self.computedDesiredCount = computedDesiredCount
        self.pendingCount = pendingCount
        self.runningCount = runningCount
        self.scale = scale
        self.stabilityStatus = stabilityStatus
        self.loadBalancers = loadBalancers
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct ECSService: Sendable, Equatable, Codable {
    public var serviceArn: String
    public var serviceName: String
    public var clusterArn: String
    /// ACTIVE, DRAINING or INACTIVE.
    public var status: String
    public var desiredCount: Int
    public var runningCount: Int
    public var pendingCount: Int
    /// The PRIMARY deployment's task definition (ECS controller) or the PRIMARY task set's.
    public var taskDefinition: String?
    public var deploymentController: DeploymentController
    public var deploymentConfiguration: DeploymentConfiguration?
    public var deployments: [ServiceDeployment]
    public var taskSets: [TaskSet]
    public var loadBalancers: [LoadBalancerRef]
    /// How its tasks launch (launchType, capacityProviderStrategy, ...), as for a task set.
    public var launchSettings: JSONValue?
    public var createdAt: Date?

    public init(serviceArn: String, serviceName: String, clusterArn: String, status: String = "ACTIVE",
                desiredCount: Int, runningCount: Int = 0, pendingCount: Int = 0, taskDefinition: String?,
                deploymentController: DeploymentController = .ecs, deploymentConfiguration: DeploymentConfiguration? = nil,
                deployments: [ServiceDeployment] = [], taskSets: [TaskSet] = [], loadBalancers: [LoadBalancerRef] = [],
                launchSettings: JSONValue? = nil, createdAt: Date?) {
        self.launchSettings = launchSettings
        self.serviceArn = serviceArn
        self.serviceName = serviceName
        self.clusterArn = clusterArn
        self.status = status
        self.desiredCount = desiredCount
        self.runningCount = runningCount
        self.pendingCount = pendingCount
        self.taskDefinition = taskDefinition
        self.deploymentController = deploymentController
        self.deploymentConfiguration = deploymentConfiguration
        self.deployments = deployments
        self.taskSets = taskSets
        self.loadBalancers = loadBalancers
        self.createdAt = createdAt
    }

    public var primaryDeployment: ServiceDeployment? { deployments.first { $0.status == "PRIMARY" } }
    public var launchType: String? { launchSettings?["launchType"]?.stringValue }
    public var capacityProviders: [String] { JSONValue.capacityProviders(launchSettings) }
    public var primaryTaskSet: TaskSet? { taskSets.first { $0.status == "PRIMARY" } }
}

public struct ECSTask: Sendable, Equatable, Codable {
    public var taskArn: String
    public var clusterArn: String
    public var taskDefinitionArn: String
    /// PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED.
    public var lastStatus: String
    public var desiredStatus: String
    /// HEALTHY, UNHEALTHY or UNKNOWN.
    public var healthStatus: String
    /// `ecs-svc/<deployment id>` or the task set id that started the task.
    public var startedBy: String?
    public var group: String?
    public var stoppedReason: String?
    public var createdAt: Date?
    public var startedAt: Date?
    public var stoppedAt: Date?

    public init(taskArn: String, clusterArn: String, taskDefinitionArn: String, lastStatus: String, desiredStatus: String,
                healthStatus: String, startedBy: String? = nil, group: String? = nil, stoppedReason: String? = nil,
                createdAt: Date?, startedAt: Date? = nil, stoppedAt: Date? = nil) {
        self.taskArn = taskArn
        self.clusterArn = clusterArn
        self.taskDefinitionArn = taskDefinitionArn
        self.lastStatus = lastStatus
        self.desiredStatus = desiredStatus
        self.healthStatus = healthStatus
        self.startedBy = startedBy
        self.group = group
        self.stoppedReason = stoppedReason
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.stoppedAt = stoppedAt
    }
}

// MARK: - Inputs

public struct UpdateServiceInput: Sendable, Equatable {
    public var cluster: String
    public var service: String
    public var taskDefinition: String?
    public var desiredCount: Int?
    public var forceNewDeployment: Bool
    public var deploymentConfiguration: DeploymentConfiguration?

    public init(cluster: String, service: String, taskDefinition: String? = nil, desiredCount: Int? = nil,
                forceNewDeployment: Bool = false, deploymentConfiguration: DeploymentConfiguration? = nil) {
        self.cluster = cluster
        self.service = service
        self.taskDefinition = taskDefinition
        self.desiredCount = desiredCount
        self.forceNewDeployment = forceNewDeployment
        self.deploymentConfiguration = deploymentConfiguration
    }
}

public struct CreateTaskSetInput: Sendable, Equatable {
    public var cluster: String
    public var service: String
    public var taskDefinition: String
    public var externalId: String?
    public var scale: Scale
    public var loadBalancers: [LoadBalancerRef]
    /// Idempotency token (ECS `clientToken`).
    public var clientToken: String?
    /// launchType, platformVersion, capacityProviderStrategy, networkConfiguration,
    /// serviceRegistries: copied from the task set it replaces (awsvpc/Fargate need them).
    public var launchSettings: JSONValue?

    public init(cluster: String, service: String, taskDefinition: String, externalId: String? = nil, scale: Scale,
                loadBalancers: [LoadBalancerRef] = [], clientToken: String? = nil, launchSettings: JSONValue? = nil) {
        self.launchSettings = launchSettings
        self.cluster = cluster
        self.service = service
        self.taskDefinition = taskDefinition
        self.externalId = externalId
        self.scale = scale
        self.loadBalancers = loadBalancers
        self.clientToken = clientToken
    }
}

public struct ServicePage: Sendable, Equatable {
    public var serviceArns: [String]
    public var nextToken: String?
    public init(serviceArns: [String], nextToken: String?) {
        self.serviceArns = serviceArns
        self.nextToken = nextToken
    }
}

extension JSONValue {
    /// The capacity providers of launch settings' `capacityProviderStrategy`, in order.
    static func capacityProviders(_ settings: JSONValue?) -> [String] {
        (settings?["capacityProviderStrategy"]?.arrayValue ?? []).compactMap { $0["capacityProvider"]?.stringValue }
    }
}
