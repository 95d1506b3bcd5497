import AWSCloud
import CloudModel
import Engine
import Foundation
import Synchronization

/// The engine's pre-flight on real AWS: credentials, permissions and the roles that will be
/// passed (`AWSPreflight`). A check that passed is remembered for a while per set of roles and
/// actions, and callers that need the same check while it runs wait for it (a release's
/// entries start together): a release of many services makes it once. Warnings (a check that
/// could not be made) are answered to every caller.
final class AWSPreflightCheck: DeploymentPreflight {
    let preflight: AWSPreflight
    let clock: any DeployClock
    let validFor: TimeInterval
    /// Counts the pre-flight's own AWS calls (STS, IAM), once the server has metrics.
    let calls: AWSCallSink
    private struct State {
        var passed: [String: (at: Date, warnings: [String])] = [:]
        var running: [String: Task<[String], any Error>] = [:]
    }
    private let state = Mutex(State())
    /// The analysis templates that read CloudWatch metrics: a deployment that names one needs
    /// cloudwatch:GetMetricData.
    private let cloudWatchTemplates: Set<String>

    init(preflight: AWSPreflight, calls: AWSCallSink = AWSCallSink(), clock: any DeployClock, validFor: TimeInterval = 600,
         cloudWatchTemplates: Set<String> = []) {
        self.cloudWatchTemplates = cloudWatchTemplates
        self.preflight = preflight
        self.calls = calls
        self.clock = clock
        self.validFor = validFor
    }

    func check(_ request: DeploymentRequest, taskDefinition: JSONValue, settings: DeploymentSettings, native: Bool) async throws -> [String] {
        let actions = AWSPreflight.requiredActions + (settings.alarms.isEmpty ? [] : [AWSPreflight.alarmsAction])
            + (native ? AWSPreflight.nativeActions : [])
            + (settings.analysis.contains(where: cloudWatchTemplates.contains) ? [AWSPreflight.metricDataAction] : [])
        return try await check(taskDefinition: taskDefinition, otherRoles: [], actions: actions)
    }

    func checkScheduledTask(rule: String, taskDefinition: JSONValue, targetRoles: [String]) async throws -> [String] {
        let roles = targetRoles.map { AWSPreflight.PassedRole(source: "rule \(rule)'s target RoleArn", arn: $0) }
        return try await check(taskDefinition: taskDefinition, otherRoles: roles, actions: AWSPreflight.scheduledTaskActions)
    }

    /// Runs the check, or waits for the same one in flight, or answers the one that passed.
    private func check(taskDefinition: JSONValue, otherRoles: [AWSPreflight.PassedRole], actions: [String]) async throws -> [String] {
        let definition = TaskDefinition(json: taskDefinition)
        let tagged = if case .array(let tags)? = taskDefinition["tags"] { !tags.isEmpty } else { false }
        let actions = actions + (tagged ? [AWSPreflight.taggingAction] : [])
        let roles = AWSPreflight.roles(of: definition) + otherRoles
        let key = (roles.map(\.arn) + actions).joined(separator: "|")
        let now = clock.now()
        let task: Task<[String], any Error> = state.withLock { s in
            if let passed = s.passed[key], now.timeIntervalSince(passed.at) < validFor {
                let warnings = passed.warnings
                return Task { warnings }
            }
            if let running = s.running[key] { return running }
            let preflight = self.preflight
            let running = Task { () throws -> [String] in
                let findings = await preflight.run(taskDefinition: definition, otherRoles: otherRoles, actions: actions)
                let failures = findings.preflightFailures
                guard failures.isEmpty else {
                    throw EngineError(.failedPrecondition, field: "preflight",
                                      "pre-flight check failed: " + failures.map(\.message).joined(separator: "; "))
                }
                return findings.filter { $0.severity == .warning }.map(\.message)
            }
            s.running[key] = running
            return running
        }
        do {
            let warnings = try await task.value
            state.withLock { s in
                s.running[key] = nil
                s.passed[key] = (now, warnings)
            }
            return warnings
        } catch {
            state.withLock { $0.running[key] = nil }
            throw error
        }
    }
}

/// Where AWS calls made outside the engine's cloud (the pre-flight's STS and IAM calls) are
/// counted: nowhere until the server attaches its metrics.
final class AWSCallSink: Sendable {
    private let sink = Mutex<(@Sendable (String, String, Double) -> Void)?>(nil)

    func attach(_ record: @escaping @Sendable (_ service: String, _ operation: String, _ milliseconds: Double) -> Void) {
        sink.withLock { $0 = record }
    }

    func record(service: String, operation: String, milliseconds: Double) {
        sink.withLock { $0 }?(service, operation, milliseconds)
    }
}
