import AWSCloud
import CloudModel
import Engine
import Foundation
import Synchronization

/// The engine's pre-flight on real AWS: credentials, permissions and the task's roles
/// (`AWSPreflight`), remembered for a while per pair of roles so that a release of many
/// services does not repeat it for each.
final class AWSPreflightCheck: DeploymentPreflight {
    let preflight: AWSPreflight
    let clock: any DeployClock
    let validFor: TimeInterval
    private let passed = Mutex<[String: Date]>([:])

    /// Every action the strategies and releases call.
    static let actions = AWSPreflight.requiredActions + [
        "ecs:UpdateServicePrimaryTaskSet", "ecs:ListTasks",
        "events:DescribeRule", "events:ListTargetsByRule", "events:PutTargets",
    ]

    init(preflight: AWSPreflight, clock: any DeployClock, validFor: TimeInterval = 600) {
        self.preflight = preflight
        self.clock = clock
        self.validFor = validFor
    }

    func check(_ request: DeploymentRequest, taskDefinition: JSONValue) async throws {
        let key = ["executionRoleArn", "taskRoleArn"].map { taskDefinition[$0]?.stringValue ?? "" }.joined(separator: "|")
        let now = clock.now()
        if let at = passed.withLock({ $0[key] }), now.timeIntervalSince(at) < validFor { return }
        let findings = await preflight.run(taskDefinition: TaskDefinition(json: taskDefinition), actions: Self.actions)
        let failures = findings.preflightFailures
        guard failures.isEmpty else {
            throw EngineError(.failedPrecondition, field: "preflight",
                              "pre-flight check failed: " + failures.map(\.message).joined(separator: "; "))
        }
        passed.withLock { $0[key] = now }
    }
}
