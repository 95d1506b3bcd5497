import CloudModel
import Foundation

/// How the simulator behaves. Times are simulated seconds on the injected clock.
public struct SimulatorSettings: Sendable {
    /// A new task is PROVISIONING for this long, then PENDING.
    public var provisioning: TimeInterval
    /// A task is PENDING for this long, then RUNNING (or stopped, for `fail-to-start`).
    public var pending: TimeInterval
    /// The health check result (HEALTHY or UNHEALTHY) comes this long after RUNNING.
    public var healthCheck: TimeInterval
    /// An UNHEALTHY task is stopped (and replaced) this long after its failed health check.
    public var unhealthyGrace: TimeInterval
    /// A task registered in a target group drains (DEACTIVATING, target `draining`) this long
    /// when it stops: the target group's deregistration delay (AWS's default: 300 s).
    public var draining: TimeInterval
    /// Then every stopping task is STOPPING this long before it is STOPPED.
    public var stopping: TimeInterval
    /// STOPPED tasks stay visible to DescribeTasks this long (AWS: at least an hour).
    public var stoppedTaskRetention: TimeInterval
    /// ListTasks lists the tasks ECS wants RUNNING plus those stopped this recently
    /// ("recently stopped tasks might appear", as the AWS documentation puts it).
    public var recentlyStoppedListing: TimeInterval
    /// At most this many STOPPED tasks are kept per service (the oldest go first).
    public var stoppedTasksKept: Int
    /// AWS's throttle buckets, enforced on `SimulatedCloud.cloud` when set.
    public var throttle: RateLimits?
    /// Calls per second that other tools of the account make, by throttle category: they take
    /// their share of each bucket's refill (only with `throttle`).
    public var backgroundCalls: [String: Double] = [:]
    /// ELB's own health checks of a registered target (nil: a target's health is its task's
    /// container health check, `healthCheck` after RUNNING).
    public var targetHealthCheck: TargetHealthCheck?
    /// After a ModifyListener or ModifyRule, reads show the previous actions this long
    /// (ELBv2 is eventually consistent); traffic follows the change at once.
    public var listenerLag: TimeInterval = 0
    /// A fraction of the calls on `SimulatedCloud.cloud` fail on purpose (`APIFaults.swift`).
    public var apiFaults: APIFaultRates?
    /// Mock mode: clusters and services named for the first time are created on the fly.
    public var autoCreate: Bool
    /// The controller of services created on the fly. With `.external` each comes with an
    /// application load balancer, a listener and two target groups (blue with 100% of the
    /// traffic, green with 0%), so every strategy works on it.
    public var autoCreateController: DeploymentController = .ecs
    /// Services created on the fly with the ECS controller come with what ECS's own
    /// blue/green, linear and canary need (`SimulatorState.nativeLoadBalancer`): mock mode's
    /// `mock.controller: native`.
    public var autoCreateNative = false
    /// A task that an EventBridge rule runs (a scheduled job) exits this long after RUNNING,
    /// unless its image fails first.
    public var scheduledTaskDuration: TimeInterval = 60
    /// Seed of the generator behind task ids, deployment ids and ARN suffixes.
    public var seed: UInt64
    /// Requests per second that each listener and each listener rule receives, split between
    /// its target groups by weight (the metrics of SimulatorState+Metrics.swift).
    public var requestsPerSecond: Double = 100
    /// How long a task answers a request, unless its image says `slow-<N>ms`.
    public var baseLatency: TimeInterval = 0.05
    /// The fraction of requests that answer 5XX, unless its image says `errors-<N>pct`.
    public var baseErrorRate: Double = 0.002
    /// CloudWatch alarms on the simulator's metrics (mock mode's `mock.alarms`), evaluated
    /// whenever they are described.
    public var metricAlarms: [SimulatedMetricAlarm] = []

    public init(provisioning: TimeInterval = 2, pending: TimeInterval = 3, healthCheck: TimeInterval = 10,
                unhealthyGrace: TimeInterval = 5, draining: TimeInterval = 3, stopping: TimeInterval = 2,
                stoppedTaskRetention: TimeInterval = 3600, recentlyStoppedListing: TimeInterval = 60,
                stoppedTasksKept: Int = 100, throttle: RateLimits? = nil, autoCreate: Bool = false, seed: UInt64 = 1) {
        self.provisioning = provisioning
        self.pending = pending
        self.healthCheck = healthCheck
        self.unhealthyGrace = unhealthyGrace
        self.draining = draining
        self.stopping = stopping
        self.stoppedTaskRetention = stoppedTaskRetention
        self.recentlyStoppedListing = recentlyStoppedListing
        self.stoppedTasksKept = stoppedTasksKept
        self.throttle = throttle
        self.autoCreate = autoCreate
        self.seed = seed
    }

    /// Time from launch to RUNNING + HEALTHY with the defaults: 2 + 3 + 10 = 15 seconds; behind
    /// a target group with ELB's health checks, until its target is healthy if that is later.
    public var timeToHealthy: TimeInterval {
        let target = targetHealthCheck.map { $0.interval * Double($0.healthyThreshold) } ?? 0
        return provisioning + pending + max(healthCheck, target)
    }
}

/// A target group's health checks (AWS's defaults: every 30 s; healthy after 5 passes in a
/// row, unhealthy after 2 failures): a target is `initial` from RUNNING until the checks
/// decide, `healthyThreshold` (or `unhealthyThreshold`) intervals later; a task behind a target
/// group counts as healthy for ECS only once its target is.
public struct TargetHealthCheck: Sendable, Equatable, Codable {
    public var interval: TimeInterval
    public var healthyThreshold: Int
    public var unhealthyThreshold: Int

    public init(interval: TimeInterval = 30, healthyThreshold: Int = 5, unhealthyThreshold: Int = 2) {
        self.interval = interval
        self.healthyThreshold = healthyThreshold
        self.unhealthyThreshold = unhealthyThreshold
    }

    public static let aws = TargetHealthCheck()
}
