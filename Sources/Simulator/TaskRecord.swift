import CloudModel
import Foundation

/// A simulated task. Its timeline is planned when it is launched; its status at any instant is
/// derived from that plan and from when (if ever) a stop was requested.
struct TaskRecord: Codable {
    let id: String
    let arn: String
    let clusterArn: String
    let taskDefinitionArn: String
    /// The deployment id or task set id that launched it (its `startedBy`).
    let owner: String
    let group: String
    let createdAt: Date
    /// Fake private IP, the target id in its target groups.
    let privateIP: String
    /// Target groups it registers in once RUNNING.
    let targets: [LoadBalancerRef]

    let pendingAt: Date
    /// nil when the task never starts.
    let runningAt: Date?
    let healthAt: Date?
    let healthy: Bool
    /// When ELB's health checks decide on its target (`SimulatorSettings.targetHealthCheck`;
    /// nil: at `healthAt`).
    let targetVerdictAt: Date?
    /// When the task stops on its own (a fault), and why.
    let failAt: Date?
    let failReason: String?
    /// The fraction of its requests that answer 5XX, and its response time in seconds, when
    /// its image says (`errors-<N>pct`, `slow-<N>ms`; nil in state files written before).
    let errorRate: Double?
    let latency: TimeInterval?

    private(set) var stopRequestedAt: Date?
    private(set) var stopReason: String?
    private(set) var drainUntil: Date?
    private(set) var stoppedAt: Date?

    init(id: String, cluster: String, taskDefinitionArn: String, owner: String, group: String, privateIP: String,
         targets: [LoadBalancerRef], behavior: ImageBehavior, image: String?, launchedAt t: Date,
         settings: SimulatorSettings) {
        self.id = id
        self.arn = ARN.task(cluster: cluster, id: id)
        self.clusterArn = ARN.cluster(cluster)
        self.taskDefinitionArn = taskDefinitionArn
        self.owner = owner
        self.group = group
        self.privateIP = privateIP
        self.targets = targets
        self.createdAt = t
        errorRate = behavior.errorRate > 0 ? behavior.errorRate : nil
        latency = behavior.latency
        pendingAt = t.addingTimeInterval(settings.provisioning)
        let startAt = pendingAt.addingTimeInterval(settings.pending)
        if behavior.failToStart {
            runningAt = nil
            healthAt = nil
            healthy = false
            targetVerdictAt = nil
            failAt = startAt
            failReason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): \(image ?? "image") not found"
            return
        }
        runningAt = startAt
        let healthAt = startAt.addingTimeInterval(settings.healthCheck)
        self.healthAt = healthAt
        healthy = !behavior.unhealthy
        if let check = settings.targetHealthCheck, !targets.isEmpty {
            let checks = healthy ? check.healthyThreshold : check.unhealthyThreshold
            targetVerdictAt = startAt.addingTimeInterval(check.interval * Double(max(1, checks)))
        } else {
            targetVerdictAt = nil
        }
        var fail: (Date, String)?
        if behavior.unhealthy {
            fail = (healthAt.addingTimeInterval(settings.unhealthyGrace), "Task failed container health checks")
        }
        if let crash = behavior.crashAfter {
            let crashAt = startAt.addingTimeInterval(crash)
            if fail == nil || crashAt < fail!.0 { fail = (crashAt, "Essential container in task exited") }
        }
        failAt = fail?.0
        failReason = fail?.1
    }

    // MARK: state at an instant

    func isStopRequested(at t: Date) -> Bool { stopRequestedAt.map { $0 <= t } ?? false }
    /// ECS wants it RUNNING (it counts against the desired count).
    var isLive: Bool { stopRequestedAt == nil }
    func isStopped(at t: Date) -> Bool { stoppedAt.map { $0 <= t } ?? false }

    func lastStatus(at t: Date) -> String {
        if isStopped(at: t) { return "STOPPED" }
        if isStopRequested(at: t) { return drainUntil.map { t < $0 } == true ? "DEACTIVATING" : "STOPPING" }
        if t < pendingAt { return "PROVISIONING" }
        if let runningAt, t >= runningAt { return "RUNNING" }
        return "PENDING"
    }

    /// Health as of `t`, frozen when the task was asked to stop.
    func healthStatus(at t: Date) -> String {
        let seen = min(t, stopRequestedAt ?? t)
        guard let healthAt, seen >= healthAt else { return "UNKNOWN" }
        return healthy ? "HEALTHY" : "UNHEALTHY"
    }

    func isRunning(at t: Date) -> Bool {
        guard let runningAt, t >= runningAt else { return false }
        return !isStopRequested(at: t)
    }

    /// RUNNING and HEALTHY at `t`, and not asked to stop; behind a target group, its target
    /// healthy too.
    func isHealthyRunning(at t: Date) -> Bool {
        isRunning(at: t) && healthStatus(at: t) == "HEALTHY" && (targets.isEmpty || targetState(at: t)?.state == "healthy")
    }

    /// Whether it is registered in its target groups at `t`, with which target state.
    func targetState(at t: Date) -> (state: String, reason: String?)? {
        guard !targets.isEmpty, let runningAt, t >= runningAt else { return nil }
        if let stop = stopRequestedAt, stop <= t {
            guard stop >= runningAt, let drainUntil, t < drainUntil else { return nil }
            return ("draining", "Target.DeregistrationInProgress")
        }
        guard let verdictAt = targetVerdictAt ?? healthAt, min(t, stopRequestedAt ?? t) >= verdictAt else {
            return ("initial", "Elb.RegistrationInProgress")
        }
        return healthy ? ("healthy", nil) : ("unhealthy", "Target.ResponseCodeMismatch")
    }

    /// The next instant after `t` when something about this task changes; a fault that is due
    /// but not yet applied counts as `t` itself.
    func nextEvent(after t: Date) -> Date? {
        if stopRequestedAt != nil {
            if let drainUntil, drainUntil > t { return drainUntil }
            if let stoppedAt, stoppedAt > t { return stoppedAt }
            return nil
        }
        var next = failAt.map { max($0, t) }
        func consider(_ time: Date?) {
            if let time, time > t, next == nil || time < next! { next = time }
        }
        consider(pendingAt)
        consider(runningAt)
        consider(healthAt)
        consider(targetVerdictAt)
        return next
    }

    /// A fault that is due at `t` and not yet applied.
    func dueFailure(at t: Date) -> String? {
        guard stopRequestedAt == nil, let failAt, failAt <= t else { return nil }
        return failReason
    }

    // MARK: changes

    /// Asks the task to stop at `t`: it drains if it is registered as a target, then stops.
    mutating func stop(at t: Date, reason: String, settings: SimulatorSettings) {
        guard stopRequestedAt == nil else { return }
        let drains = targetState(at: t) != nil
        stopRequestedAt = t
        stopReason = reason
        let drainEnd = drains ? t.addingTimeInterval(settings.draining) : t
        drainUntil = drains ? drainEnd : nil
        stoppedAt = drainEnd.addingTimeInterval(settings.stopping)
    }

    // MARK: output

    func snapshot(at t: Date) -> ECSTask {
        let stopping = isStopRequested(at: t)
        return ECSTask(
            taskArn: arn, clusterArn: clusterArn, taskDefinitionArn: taskDefinitionArn,
            lastStatus: lastStatus(at: t), desiredStatus: stopping ? "STOPPED" : "RUNNING",
            healthStatus: healthStatus(at: t), startedBy: owner, group: group,
            stoppedReason: stopping ? stopReason : nil, createdAt: createdAt,
            startedAt: runningAt.flatMap { $0 <= t && $0 <= (stopRequestedAt ?? t) ? $0 : nil },
            stoppedAt: isStopped(at: t) ? stoppedAt : nil)
    }
}
