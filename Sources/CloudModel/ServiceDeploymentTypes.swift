import Foundation

// ECS's own blue/green, linear and canary (the ECS deployment controller with
// `deploymentConfiguration.strategy`), and the service deployments that follow them
// (ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions,
// ContinueServiceDeployment, StopServiceDeployment). Shapes as in ECS's API reference.

/// `deploymentConfiguration.strategy`.
public enum DeploymentStrategy: String, Sendable, Codable, CaseIterable {
    case rolling = "ROLLING"
    case blueGreen = "BLUE_GREEN"
    case linear = "LINEAR"
    case canary = "CANARY"

    /// ECS shifts the traffic itself (a strategy other than ROLLING).
    public var shiftsTraffic: Bool { self != .rolling }
}

/// `loadBalancers[].advancedConfiguration`: what ECS's blue/green, linear and canary need.
public struct AdvancedConfiguration: Sendable, Equatable, Codable {
    public var alternateTargetGroupArn: String
    /// The ALB listener rule (or NLB listener) that carries production traffic.
    public var productionListenerRule: String
    /// The rule that carries test traffic, if any.
    public var testListenerRule: String?
    public var roleArn: String?

    public init(alternateTargetGroupArn: String, productionListenerRule: String, testListenerRule: String? = nil, roleArn: String? = nil) {
        self.alternateTargetGroupArn = alternateTargetGroupArn
        self.productionListenerRule = productionListenerRule
        self.testListenerRule = testListenerRule
        self.roleArn = roleArn
    }
}

/// `canaryConfiguration`: `canaryPercent` of production traffic for `canaryBakeTimeInMinutes`, then all.
public struct CanaryConfiguration: Sendable, Equatable, Codable {
    public var canaryPercent: Double?
    public var canaryBakeTimeInMinutes: Int?
    public init(canaryPercent: Double?, canaryBakeTimeInMinutes: Int?) {
        self.canaryPercent = canaryPercent
        self.canaryBakeTimeInMinutes = canaryBakeTimeInMinutes
    }
}

/// `linearConfiguration`: `stepPercent` more every `stepBakeTimeInMinutes`.
public struct LinearConfiguration: Sendable, Equatable, Codable {
    public var stepPercent: Double?
    public var stepBakeTimeInMinutes: Int?
    public init(stepPercent: Double?, stepBakeTimeInMinutes: Int?) {
        self.stepPercent = stepPercent
        self.stepBakeTimeInMinutes = stepBakeTimeInMinutes
    }
}

/// One of `deploymentConfiguration.lifecycleHooks`.
public struct DeploymentLifecycleHook: Sendable, Equatable, Codable {
    /// PAUSE (wait for ContinueServiceDeployment) or AWS_LAMBDA (AWS's default).
    public var targetType: String?
    public var hookTargetArn: String?
    public var roleArn: String?
    /// PRE_SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT,
    /// PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT, ...
    public var lifecycleStages: [String]
    public var timeoutInMinutes: Int?
    /// ROLLBACK or CONTINUE, when the hook times out.
    public var timeoutAction: String?
    /// `hookDetails`: a JSON document ECS passes to the hook (ours carries `ownerKey`).
    public var hookDetails: JSONValue?

    public init(targetType: String?, hookTargetArn: String? = nil, roleArn: String? = nil, lifecycleStages: [String],
                timeoutInMinutes: Int? = nil, timeoutAction: String? = nil, hookDetails: JSONValue? = nil) {
        self.targetType = targetType
        self.hookTargetArn = hookTargetArn
        self.roleArn = roleArn
        self.lifecycleStages = lifecycleStages
        self.timeoutInMinutes = timeoutInMinutes
        self.timeoutAction = timeoutAction
        self.hookDetails = hookDetails
    }

    /// The key of `hookDetails` that marks a hook this server added (`approve_at`).
    public static let ownerKey = "ecs-deploy"
    /// Added by this server for `approve_at`.
    public var isOurs: Bool { hookDetails?[Self.ownerKey] != nil }

    public static let hookStages = ["RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
                                    "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"]
}

/// `deploymentConfiguration.alarms`.
public struct DeploymentAlarms: Sendable, Equatable, Codable {
    public var alarmNames: [String]
    public var enable: Bool
    public var rollback: Bool
    public init(alarmNames: [String], enable: Bool, rollback: Bool) {
        self.alarmNames = alarmNames
        self.enable = enable
        self.rollback = rollback
    }
}

/// What ListServiceDeployments answers of one service deployment.
public struct ServiceDeploymentBrief: Sendable, Equatable, Codable {
    public var serviceDeploymentArn: String
    public var status: String
    public var statusReason: String?
    public var targetServiceRevisionArn: String?
    public var createdAt: Date?
    public var finishedAt: Date?
    public init(serviceDeploymentArn: String, status: String, statusReason: String? = nil, targetServiceRevisionArn: String?,
                createdAt: Date?, finishedAt: Date? = nil) {
        self.serviceDeploymentArn = serviceDeploymentArn
        self.status = status
        self.statusReason = statusReason
        self.targetServiceRevisionArn = targetServiceRevisionArn
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

/// A revision's part in a service deployment.
public struct ServiceRevisionSummary: Sendable, Equatable, Codable {
    public var arn: String
    public var requestedTaskCount: Int
    public var runningTaskCount: Int
    public var pendingTaskCount: Int
    public var requestedTestTrafficWeight: Double?
    public var requestedProductionTrafficWeight: Double?
    public init(arn: String, requestedTaskCount: Int, runningTaskCount: Int, pendingTaskCount: Int,
                requestedTestTrafficWeight: Double?, requestedProductionTrafficWeight: Double?) {
        self.arn = arn
        self.requestedTaskCount = requestedTaskCount
        self.runningTaskCount = runningTaskCount
        self.pendingTaskCount = pendingTaskCount
        self.requestedTestTrafficWeight = requestedTestTrafficWeight
        self.requestedProductionTrafficWeight = requestedProductionTrafficWeight
    }
}

/// One of a service deployment's `lifecycleHookDetails`.
public struct LifecycleHookDetail: Sendable, Equatable, Codable {
    public var hookId: String
    /// PAUSE or AWS_LAMBDA.
    public var targetType: String?
    public var targetArn: String?
    /// AWAITING_ACTION, IN_PROGRESS, SUCCEEDED, FAILED or TIMED_OUT.
    public var status: String
    public var expiresAt: Date?
    public var timeoutAction: String?
    public init(hookId: String, targetType: String?, targetArn: String? = nil, status: String, expiresAt: Date?, timeoutAction: String?) {
        self.hookId = hookId
        self.targetType = targetType
        self.targetArn = targetArn
        self.status = status
        self.expiresAt = expiresAt
        self.timeoutAction = timeoutAction
    }
}

/// `rollback`, `deploymentCircuitBreaker` and `alarms` of a service deployment.
public struct ServiceDeploymentRollback: Sendable, Equatable, Codable {
    public var reason: String?
    public var startedAt: Date?
    public var serviceRevisionArn: String?
    public init(reason: String?, startedAt: Date?, serviceRevisionArn: String?) {
        self.reason = reason
        self.startedAt = startedAt
        self.serviceRevisionArn = serviceRevisionArn
    }
}

public struct RollbackMonitor: Sendable, Equatable, Codable {
    /// TRIGGERED, MONITORING, MONITORING_COMPLETE or DISABLED.
    public var status: String
    public var failureCount: Int?
    public var threshold: Int?
    public var triggeredAlarmNames: [String]?
    public init(status: String, failureCount: Int? = nil, threshold: Int? = nil, triggeredAlarmNames: [String]? = nil) {
        self.status = status
        self.failureCount = failureCount
        self.threshold = threshold
        self.triggeredAlarmNames = triggeredAlarmNames
    }
}

/// DescribeServiceDeployments' answer for one service deployment.
public struct ServiceDeploymentDetail: Sendable, Equatable, Codable {
    public var serviceDeploymentArn: String
    public var serviceArn: String?
    public var clusterArn: String?
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOP_REQUESTED, STOPPED, ROLLBACK_REQUESTED,
    /// ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
    public var status: String
    public var statusReason: String?
    /// RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT,
    /// POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT,
    /// BAKE_TIME or CLEAN_UP.
    public var lifecycleStage: String?
    public var sourceServiceRevisions: [ServiceRevisionSummary]
    public var targetServiceRevision: ServiceRevisionSummary?
    public var lifecycleHookDetails: [LifecycleHookDetail]
    public var deploymentConfiguration: DeploymentConfiguration?
    public var rollback: ServiceDeploymentRollback?
    public var circuitBreaker: RollbackMonitor?
    public var alarms: RollbackMonitor?
    public var createdAt: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var stoppedAt: Date?
    public var updatedAt: Date?

    public init(serviceDeploymentArn: String, serviceArn: String?, clusterArn: String?, status: String, statusReason: String? = nil,
                lifecycleStage: String? = nil, sourceServiceRevisions: [ServiceRevisionSummary] = [],
                targetServiceRevision: ServiceRevisionSummary? = nil, lifecycleHookDetails: [LifecycleHookDetail] = [],
                deploymentConfiguration: DeploymentConfiguration? = nil, rollback: ServiceDeploymentRollback? = nil,
                circuitBreaker: RollbackMonitor? = nil, alarms: RollbackMonitor? = nil, createdAt: Date? = nil,
                startedAt: Date? = nil, finishedAt: Date? = nil, stoppedAt: Date? = nil, updatedAt: Date? = nil) {
        self.serviceDeploymentArn = serviceDeploymentArn
        self.serviceArn = serviceArn
        self.clusterArn = clusterArn
        self.status = status
        self.statusReason = statusReason
        self.lifecycleStage = lifecycleStage
        self.sourceServiceRevisions = sourceServiceRevisions
        self.targetServiceRevision = targetServiceRevision
        self.lifecycleHookDetails = lifecycleHookDetails
        self.deploymentConfiguration = deploymentConfiguration
        self.rollback = rollback
        self.circuitBreaker = circuitBreaker
        self.alarms = alarms
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.stoppedAt = stoppedAt
        self.updatedAt = updatedAt
    }

    /// The lifecycle stages in the order ECS goes through them.
    public static let lifecycleStages = ["RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
                                         "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT",
                                         "BAKE_TIME", "CLEAN_UP"]

    /// The deployment has ended: it will not change again.
    public var isFinished: Bool { Self.finishedStatuses.contains(status) }
    public static let finishedStatuses: Set<String> = ["SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"]
    /// ECS is rolling it back, or did.
    public var isRollingBack: Bool { status.hasPrefix("ROLLBACK_") }
    /// The PAUSE hook waiting for ContinueServiceDeployment, if any.
    public var awaitingHook: LifecycleHookDetail? {
        lifecycleHookDetails.first { $0.targetType == "PAUSE" && $0.status == "AWAITING_ACTION" }
    }
}

/// DescribeServiceRevisions' answer for one revision (the members the server reads).
public struct ServiceRevision: Sendable, Equatable, Codable {
    public var serviceRevisionArn: String
    public var serviceArn: String?
    public var taskDefinition: String?
    /// As configured on the service (the target group and its alternate).
    public var loadBalancers: [LoadBalancerRef]
    /// `resolvedConfiguration.loadBalancers[].targetGroupArn`: the target groups the revision's
    /// tasks are in (of the two a blue/green swaps between).
    public var resolvedTargetGroups: [String]
    public var createdAt: Date?
    public init(serviceRevisionArn: String, serviceArn: String?, taskDefinition: String?, loadBalancers: [LoadBalancerRef] = [],
                resolvedTargetGroups: [String] = [], createdAt: Date?) {
        self.serviceRevisionArn = serviceRevisionArn
        self.serviceArn = serviceArn
        self.taskDefinition = taskDefinition
        self.loadBalancers = loadBalancers
        self.resolvedTargetGroups = resolvedTargetGroups
        self.createdAt = createdAt
    }

    /// The target group of the pair (the configured one and its alternate) this revision does
    /// not use: where the revision before it ran.
    public var otherTargetGroup: String? {
        guard let lb = loadBalancers.first(where: { $0.advancedConfiguration != nil }), let own = resolvedTargetGroups.first else { return nil }
        let pair = [lb.targetGroupArn, lb.advancedConfiguration!.alternateTargetGroupArn]
        return pair.contains(own) ? pair.first { $0 != own } : nil
    }
}

extension ECSService {
    /// The load balancer whose `advancedConfiguration` lets ECS shift traffic itself.
    public var advancedLoadBalancer: LoadBalancerRef? { loadBalancers.first { $0.advancedConfiguration != nil } }
    /// ECS's blue/green, linear and canary can run on it: the ECS controller and an advanced configuration.
    public var supportsNativeStrategies: Bool { deploymentController == .ecs && advancedLoadBalancer != nil }
}
