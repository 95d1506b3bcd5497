import CloudModel
import Synchronization
import Engine
import Foundation
import Prometheus
import CloudRuntime

/// The seed's seven metrics, on a Prometheus registry of their own (no global bootstrap, so
/// every server in a test process has its own).
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    private static func name(_ n: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: n, unitName: "", helpText: help)
    }

    static var deploymentsTotal: MetricNameDescriptor { name("ecs_deployments_total", "Deployments finished, by strategy and final status") }
    static var duration: MetricNameDescriptor { name("ecs_deployment_duration_seconds", "Deployment duration from start to final status, in seconds") }
    static var active: MetricNameDescriptor { name("ecs_active_deployments", "Deployments in progress") }
    static var apiCalls: MetricNameDescriptor { name("ecs_aws_api_calls_total", "AWS API calls, by service and operation") }
    static var apiDuration: MetricNameDescriptor { name("ecs_aws_api_duration_milliseconds", "AWS API call duration in milliseconds") }
    static var errors: MetricNameDescriptor { name("ecs_errors_total", "Errors, by component and type") }
    static var pendingApprovals: MetricNameDescriptor { name("ecs_pending_approvals", "Deployments and releases waiting for approval") }

    static var authFailures: MetricNameDescriptor { name("ecs_auth_failures_total", "Calls refused: not authenticated, or not permitted, by reason") }

    static var releasesTotal: MetricNameDescriptor { name("ecs_releases_total", "Releases finished, by final status") }
    static var releaseEntries: MetricNameDescriptor { name("ecs_release_entries_total", "Release entries finished, by kind and status") }
    static var releaseDuration: MetricNameDescriptor { name("ecs_release_duration_seconds", "Release duration from start to final status, in seconds") }

    static var limitRefusals: MetricNameDescriptor { name("ecs_limit_refusals_total", "Deployments refused by a limit (limits:), by limit") }
    static var queued: MetricNameDescriptor { name("ecs_deployments_queued", "Deployments waiting in the queue of the limits") }
    static var waitingWindow: MetricNameDescriptor { name("ecs_deployments_waiting_window", "Deployments waiting for a deploy window") }

    static var notifications: MetricNameDescriptor { name("ecs_notifications_total", "Notifications, by sink kind and result (delivered, failed, dropped)") }

    static let durationBuckets: [Double] = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600]
    static let apiBuckets: [Double] = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

    public init() {
        // Series that exist from the start, so that dashboards and `grep` find them at zero.
        for strategy in StrategyKind.allCases {
            for status in ["succeeded", "failed", "rolled_back", "rejected"] {
                _ = registry.makeCounter(descriptor: Self.deploymentsTotal, labels: [("strategy", strategy.rawValue), ("status", status)])
            }
        }
        _ = registry.makeValueHistogram(descriptor: Self.duration, buckets: Self.durationBuckets)
        _ = registry.makeGauge(descriptor: Self.active)
        _ = registry.makeGauge(descriptor: Self.pendingApprovals)
        _ = registry.makeGauge(descriptor: Self.queued)
        _ = registry.makeGauge(descriptor: Self.waitingWindow)
        for limit in ["per_service", "per_cluster", "global"] {
            _ = registry.makeCounter(descriptor: Self.limitRefusals, labels: [("limit", limit)])
        }
        // The one error series with a fixed label set (the others are named by AWS's and gRPC's codes).
        _ = registry.makeCounter(descriptor: Self.errors, labels: [("component", "engine"), ("type", "stage_failed")])
        for reason in ["missing", "bad_token", "bad_jwt", "permission"] {
            _ = registry.makeCounter(descriptor: Self.authFailures, labels: [("reason", reason)])
        }
    }

    public func deploymentFinished(strategy: String, status: String, seconds: Double) {
        registry.makeCounter(descriptor: Self.deploymentsTotal, labels: [("strategy", strategy), ("status", status)]).increment()
        registry.makeValueHistogram(descriptor: Self.duration, buckets: Self.durationBuckets).record(seconds)
    }

    /// A deployment refused by `limits.<limit>`.
    public func limitRefused(_ limit: String) {
        registry.makeCounter(descriptor: Self.limitRefusals, labels: [("limit", limit.replacingOccurrences(of: "limits.", with: ""))]).increment()
    }

    public func setQueued(_ count: Int) { registry.makeGauge(descriptor: Self.queued).set(Double(count)) }
    public func setWaitingWindow(_ count: Int) { registry.makeGauge(descriptor: Self.waitingWindow).set(Double(count)) }

    public func setActive(_ count: Int) { registry.makeGauge(descriptor: Self.active).set(Double(count)) }
    private let pending = Mutex<(deployments: Int, releases: Int)>((0, 0))

    /// Deployments waiting for approval; the gauge counts them with the releases that wait.
    public func setPendingApprovals(_ count: Int) { updatePending { $0.deployments = count } }

    public func setPendingReleaseApprovals(_ count: Int) { updatePending { $0.releases = count } }

    private func updatePending(_ change: (inout (deployments: Int, releases: Int)) -> Void) {
        let total = pending.withLock { p in
            change(&p)
            return p.deployments + p.releases
        }
        registry.makeGauge(descriptor: Self.pendingApprovals).set(Double(total))
    }

    public func apiCall(service: String, operation: String, milliseconds: Double) {
        registry.makeCounter(descriptor: Self.apiCalls, labels: [("service", service), ("operation", operation)]).increment()
        registry.makeValueHistogram(descriptor: Self.apiDuration, labels: [("service", service)], buckets: Self.apiBuckets)
            .record(milliseconds)
    }

    public func error(component: String, type: String) {
        registry.makeCounter(descriptor: Self.errors, labels: [("component", component), ("type", type)]).increment()
    }

    /// A refused call: `missing`, `bad_token`, `bad_jwt`, `bad_certificate`, `permission`,
    /// `self_approval`, `request_policy`, `bad_webhook_signature`.
    public func authFailure(reason: String) {
        registry.makeCounter(descriptor: Self.authFailures, labels: [("reason", reason)]).increment()
    }

    public func releaseFinished(status: String, seconds: Double) {
        registry.makeCounter(descriptor: Self.releasesTotal, labels: [("status", status)]).increment()
        registry.makeValueHistogram(descriptor: Self.releaseDuration, buckets: Self.durationBuckets).record(seconds)
    }

    public func notification(sink: String, result: String) {
        registry.makeCounter(descriptor: Self.notifications, labels: [("sink", sink), ("result", result)]).increment()
    }

    public func releaseEntryFinished(kind: String, status: String) {
        registry.makeCounter(descriptor: Self.releaseEntries, labels: [("kind", kind), ("status", status)]).increment()
    }

    /// The Prometheus text exposition.
    public func render() -> String { registry.emitToString() }
}

/// Feeds the deployment metrics from the engine's events.
final class MetricsObserver: DeploymentObserver {
    let metrics: ServerMetrics
    private let state = Mutex<(active: Set<String>, pending: Set<String>, queued: Set<String>, window: Set<String>)>(([], [], [], []))

    init(metrics: ServerMetrics) { self.metrics = metrics }

    func saveFailed(_ record: DeploymentRecord, error: any Error) {
        metrics.error(component: "store", type: "save_failed")
    }

    func observe(_ event: DeploymentEvent, record: DeploymentRecord) {
        let id = record.id
        let (active, pending, queued, window) = state.withLock { s -> (Int, Int, Int, Int) in
            if record.status.isTerminal { s.active.remove(id) } else { s.active.insert(id) }
            // Waiting for approval before it starts, or at ECS's PAUSE hook (`approve_at`).
            let waits = record.status == .pendingApproval || (record.status == .inProgress && record.hookPause?.approved == false)
            if waits { s.pending.insert(id) } else { s.pending.remove(id) }
            if event.kind == .deploymentQueued, record.status != .waitingWindow { s.queued.insert(id) } else if event.kind.isLifecycle { s.queued.remove(id) }
            if record.status == .waitingWindow { s.window.insert(id) } else { s.window.remove(id) }
            return (s.active.count, s.pending.count, s.queued.count, s.window.count)
        }
        metrics.setActive(active)
        metrics.setPendingApprovals(pending)
        metrics.setQueued(queued)
        metrics.setWaitingWindow(window)
        if event.kind == .stageFailed {
            metrics.error(component: "engine", type: "stage_failed")
        }
        if record.status.isTerminal, event.kind.isLifecycle {
            let seconds = (record.finishedAt ?? event.at).timeIntervalSince(record.createdAt)
            metrics.deploymentFinished(strategy: record.request.strategy.rawValue, status: record.status.rawValue.lowercased(),
                                       seconds: seconds)
        }
    }
}

/// Counts and times every cloud call, and counts cloud errors by code.
struct MetricsMiddleware: CloudMiddleware {
    let metrics: ServerMetrics

    func intercept<T: Sendable>(_ call: CloudCall, _ next: @Sendable () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        defer {
            let ms = (ContinuousClock.now - start).seconds * 1000
            metrics.apiCall(service: call.service, operation: call.operation, milliseconds: ms)
        }
        do {
            return try await next()
        } catch let error as CloudError {
            metrics.error(component: "aws", type: error.code)
            throw error
        }
    }
}

/// Feeds the release metrics from the release manager's events.
final class ReleaseMetricsObserver: ReleaseObserver {
    let metrics: ServerMetrics
    private let pending = Mutex<Set<String>>([])
    init(metrics: ServerMetrics) { self.metrics = metrics }

    func saveFailed(_ release: ReleaseRecord, error: any Error) {
        metrics.error(component: "store", type: "save_failed")
    }

    func observe(_ event: ReleaseEvent, release: ReleaseRecord) {
        let waiting = pending.withLock { p in
            if release.status == .pendingApproval { p.insert(release.id) } else { p.remove(release.id) }
            return p.count
        }
        metrics.setPendingReleaseApprovals(waiting)
        if [.entrySucceeded, .entryFailed, .entryRolledBack, .entryNotStarted, .entryRollbackFailed].contains(event.kind),
           let entry = release.entries.first(where: { $0.entry.label == event.entry }) {
            metrics.releaseEntryFinished(kind: entry.entry.kind.rawValue, status: entry.status.rawValue.lowercased())
        }
        if release.status.isTerminal, event.kind.isLifecycle {
            metrics.releaseFinished(status: release.status.rawValue.lowercased(),
                                    seconds: (release.finishedAt ?? event.at).timeIntervalSince(release.createdAt))
        }
    }
}
