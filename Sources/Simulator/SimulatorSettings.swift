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
    /// when it stops.
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
    /// A fraction of the calls on `SimulatedCloud.cloud` fail on purpose (`APIFaults.swift`).
    public var apiFaults: APIFaultRates?
    /// Mock mode: clusters and services named for the first time are created on the fly.
    public var autoCreate: Bool
    /// The controller of services created on the fly. With `.external` each comes with an
    /// application load balancer, a listener and two target groups (blue with 100% of the
    /// traffic, green with 0%), so every strategy works on it.
    public var autoCreateController: DeploymentController = .ecs
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

    /// Time from launch to RUNNING + HEALTHY with the defaults: 2 + 3 + 10 = 15 seconds.
    public var timeToHealthy: TimeInterval { provisioning + pending + healthCheck }
}
