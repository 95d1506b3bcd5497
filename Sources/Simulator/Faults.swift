/// # Simulator timings and faults
///
/// Every task follows one timeline on the simulator's clock (defaults of `SimulatorSettings`,
/// in simulated seconds): PROVISIONING 2s, PENDING 3s, then RUNNING; the health check result
/// arrives 10s after RUNNING (so a healthy task is RUNNING + HEALTHY 15s after launch). A task
/// registered in a target group (`initial` from RUNNING until its health result, then `healthy`
/// or `unhealthy`) drains for 3s when it stops (DEACTIVATING, target `draining`), then every
/// stopping task is STOPPING for 2s before STOPPED; its target is gone once draining ends.
/// Stopped tasks stay visible to DescribeTasks for an hour, to ListTasks for a minute.
///
/// The image tag of a container decides how its task behaves (every container counts as
/// essential; with several containers the worst behaviour wins):
/// - a tag containing `unhealthy`: the task reaches RUNNING, its health check fails (UNHEALTHY,
///   target `unhealthy`), and 5s later ECS stops it with "Task failed container health checks"
///   and launches a replacement;
/// - `crash-after-<N>s` (e.g. `v2-crash-after-30s`): the task stops N seconds after RUNNING with
///   "Essential container in task exited" (before its health result when N < 10);
/// - `fail-to-start`: the task never runs; it stops at the end of PENDING with
///   "CannotPullContainerError: ...".
/// - `errors-<N>pct` (e.g. `v2-errors-20pct`): the task is healthy, and N% of the requests it
///   serves answer 5XX (`HTTPCode_Target_5XX_Count`; see SimulatorState+Metrics.swift);
/// - `slow-<N>ms` (e.g. `v2-slow-800ms`): the task is healthy, and answers in N ms
///   (`TargetResponseTime`).
/// `SimulatedCloud.setImageBehavior(image:_:)` sets the same behaviours for an exact image
/// string, without encoding them in the tag.
///
/// Such a stop counts in the PRIMARY deployment's `failedTasks`. With the circuit breaker
/// enabled, at `failedTasks >= max(3, min(200, ceil(desired / 2)))` the PRIMARY's rolloutState
/// becomes FAILED and it stops launching tasks; with `rollback: true` ECS starts a new PRIMARY
/// deployment on the task definition of the last COMPLETED deployment (a rollback deployment
/// that fails in turn is not rolled back again). Task sets (EXTERNAL controller) replace failed
/// tasks forever, like ECS.
///
/// `SimulatedCloud.failNext(operation:code:message:times:)` makes the next `times` calls of an
/// operation (its AWS name, e.g. "UpdateService", "ModifyListener", "PutTargets") throw that
/// `CloudError` before doing anything. With `SimulatorSettings.throttle` set, `cloud` answers
/// `ThrottlingException: Rate exceeded` when an AWS throttle bucket is empty (`RateLimits.aws`).
import CloudModel
import Foundation

/// How the tasks running an image behave.
public struct ImageBehavior: Sendable, Equatable {
    /// The task stops at the end of PENDING with CannotPullContainerError.
    public var failToStart: Bool
    /// The task stops this many seconds after RUNNING ("Essential container in task exited").
    public var crashAfter: TimeInterval?
    /// The task's health check fails.
    public var unhealthy: Bool
    /// The fraction of the requests it serves that answer 5XX (0...1).
    public var errorRate: Double
    /// Seconds it takes to answer a request (nil: the simulator's usual `baseLatency`).
    public var latency: TimeInterval?

    public init(failToStart: Bool = false, crashAfter: TimeInterval? = nil, unhealthy: Bool = false, errorRate: Double = 0,
                latency: TimeInterval? = nil) {
        self.failToStart = failToStart
        self.crashAfter = crashAfter
        self.unhealthy = unhealthy
        self.errorRate = errorRate
        self.latency = latency
    }

    public static let healthy = ImageBehavior()
    public static let unhealthy = ImageBehavior(unhealthy: true)
    public static let failToStart = ImageBehavior(failToStart: true)
    public static func crash(after seconds: TimeInterval) -> ImageBehavior { ImageBehavior(crashAfter: seconds) }

    /// The behaviour the image's tag asks for (see the top of this file).
    public static func fromTag(of image: String) -> ImageBehavior {
        guard let tag = tag(of: image)?.lowercased() else { return .healthy }
        var behavior = ImageBehavior()
        behavior.failToStart = tag.contains("fail-to-start")
        behavior.unhealthy = tag.contains("unhealthy")
        if let seconds = number(in: tag, after: "crash-after-", unit: "s") { behavior.crashAfter = TimeInterval(seconds) }
        if let percent = number(in: tag, after: "errors-", unit: "pct") { behavior.errorRate = Double(min(percent, 100)) / 100 }
        if let ms = number(in: tag, after: "slow-", unit: "ms") { behavior.latency = TimeInterval(ms) / 1000 }
        return behavior
    }

    /// The N of `<prefix>N<unit>` in the tag (`crash-after-30s`, `errors-20pct`, `slow-800ms`).
    private static func number(in tag: String, after prefix: String, unit: String) -> Int? {
        guard let range = tag.range(of: prefix) else { return nil }
        let digits = tag[range.upperBound...].prefix { $0.isNumber }
        guard !digits.isEmpty, digits.count < 9, tag[range.upperBound...].dropFirst(digits.count).hasPrefix(unit) else { return nil }
        return Int(digits)
    }

    /// `repo:tag` -> `tag`; nil for an untagged image or a digest reference.
    static func tag(of image: String) -> String? {
        if image.contains("@") { return nil }
        guard let colon = image.lastIndex(of: ":") else { return nil }
        let tag = image[image.index(after: colon)...]
        return tag.contains("/") ? nil : String(tag)
    }

    /// The worst of two behaviours (a task fails as soon as one of its containers does).
    func merged(with other: ImageBehavior) -> ImageBehavior {
        let crash: TimeInterval? = switch (crashAfter, other.crashAfter) {
        case let (a?, b?): min(a, b)
        case let (a, b): a ?? b
        }
        let latency: TimeInterval? = switch (latency, other.latency) {
        case let (a?, b?): max(a, b)
        case let (a, b): a ?? b
        }
        return ImageBehavior(failToStart: failToStart || other.failToStart, crashAfter: crash,
                             unhealthy: unhealthy || other.unhealthy, errorRate: max(errorRate, other.errorRate), latency: latency)
    }
}

/// Errors queued by `failNext`, by operation name.
struct FaultQueue {
    private var queued: [String: [(error: CloudError, remaining: Int)]] = [:]

    mutating func add(operation: String, error: CloudError, times: Int) {
        guard times > 0 else { return }
        queued[Self.key(operation), default: []].append((error, times))
    }

    /// The error the next call of `operation` must throw, if one is queued.
    mutating func take(_ operation: String) -> CloudError? {
        guard var list = queued[operation], !list.isEmpty else { return nil }
        let error = list[0].error
        list[0].remaining -= 1
        if list[0].remaining == 0 { list.removeFirst() }
        queued[operation] = list.isEmpty ? nil : list
        return error
    }

    /// "ecs:UpdateService" and "UpdateService" name the same operation.
    static func key(_ operation: String) -> String {
        operation.split(separator: ":").last.map(String.init) ?? operation
    }
}
