import Engine
import Foundation
import GRDB

/// Records and folders for the store's tests.
enum Fixtures {
    /// A date with a sub-millisecond fraction, to show that dates come back exact.
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000.123_456_7)

    static func date(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    /// A folder of its own under the temporary directory; removed by `cleanUp`.
    static func folder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("store-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func cleanUp(_ folder: URL) {
        try? FileManager.default.removeItem(at: folder)
    }

    /// Reads the file with a connection of its own (synchronous: no async overload to pick).
    static func read<T>(_ path: String, _ body: (Database) throws -> T) throws -> T {
        try DatabaseQueue(path: path).read(body)
    }

    static func write<T>(_ queue: DatabaseQueue, _ body: (Database) throws -> T) throws -> T {
        try queue.write(body)
    }

    static func record(id: String, cluster: String = "prod", service: String = "web", strategy: StrategyKind = .canary,
                       status: DeploymentStatus = .succeeded, created: Double = 0, finished: Double? = nil) -> DeploymentRecord {
        let request = DeploymentRequest(id: id, cluster: cluster, service: service, strategy: strategy,
                                        taskDefinition: #"{"family":"web"}"#, requestedBy: "alice")
        var record = DeploymentRecord(request: request, settings: DeploymentSettings(),
                                      plan: [.registerTaskDefinition, .updateService(.new)], at: date(created))
        record.status = status
        if status.isTerminal {
            record.finishedAt = date(finished ?? created + 60)
            record.updatedAt = record.finishedAt!
        }
        return record
    }

    static func event(_ id: String, _ sequence: Int, _ type: String, at seconds: Double,
                      status: DeploymentStatus = .inProgress, stage: String = "") -> DeploymentEvent {
        decoded([
            "deploymentID": id, "sequence": sequence, "at": date(seconds).timeIntervalSinceReferenceDate, "type": type,
            "stage": stage, "status": status.rawValue, "progress": sequence * 10, "message": "\(type) message",
        ])
    }

    static func approval(_ approved: Bool, by approver: String, reason: String, at seconds: Double) -> ApprovalRecord {
        decoded(["approved": approved, "approver": approver, "reason": reason, "at": date(seconds).timeIntervalSinceReferenceDate])
    }

    /// The engine's event and approval types have no public initializer: built from their JSON.
    private static func decoded<T: Decodable>(_ fields: [String: Any]) -> T {
        let data = try! JSONSerialization.data(withJSONObject: fields)
        return try! JSONDecoder().decode(T.self, from: data)
    }

    /// A record with every part filled: stages in each state, rollback stages, facts, settings
    /// with hooks, an approval and events.
    static func fullRecord(id: String = "deploy-full") throws -> DeploymentRecord {
        let request = DeploymentRequest(
            id: id, cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
            service: "arn:aws:ecs:us-east-1:123456789012:service/prod/web", strategy: .canary,
            taskDefinition: #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:1.27"}]}"#,
            config: ["canary_stages": "20,100", "require_approval": "true"], requestedBy: "alice")
        var settings = try DeploymentSettings().applying([
            "canary_stages": "20,100", "require_approval": "true", "approval_timeout": "1h",
            "health_check_url": "https://example.test/health", "hook_pre_traffic": "exec:./check.sh",
            "hook_post_success": "https://hooks.example.test/done",
        ])
        settings.canaryTargetGroup = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-canary/abc"
        let plan: [Stage] = [
            .registerTaskDefinition, .createTaskSet(.new, percent: 20), .waitTaskSetHealthy(.new),
            .runHook(.preTraffic), .routeTraffic(percent: 20), .bake(seconds: 300, reason: "canary 20%"),
            .routeTraffic(percent: 100), .promote(.new), .deleteTaskSet(.previous),
        ]
        var record = DeploymentRecord(request: request, settings: settings, plan: plan, at: date(0))
        for i in 0..<5 {
            record.stages[i].status = .succeeded
            record.stages[i].startedAt = date(Double(i) * 10 + 0.000_3)
            record.stages[i].finishedAt = date(Double(i) * 10 + 9.876_5)
            record.stages[i].fraction = 1
            record.stages[i].message = "stage \(i) done"
        }
        record.stages[5].status = .failed
        record.stages[5].startedAt = date(50)
        record.stages[5].fraction = 1.0 / 3.0
        record.stages[5].message = "5xx rate 12% over 5%"
        record.rollbackStages = [StageRecord(stage: .routeTraffic(percent: 0)), StageRecord(stage: .deleteTaskSet(.new))]
        record.rollbackStages[0].status = .succeeded
        record.facts.previousTaskDefinition = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:6"
        record.facts.newTaskDefinition = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
        record.facts.previousTaskSet = "ecs-svc/111"
        record.facts.newTaskSet = "ecs-svc/222"
        record.facts.trafficTargets = ["arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/2"]
        record.facts.trafficPercent = 20
        record.facts.desiredCount = 4
        record.status = .rollingBack
        record.error = "bake failed: 5xx rate 12% over 5%"
        record.updatedAt = date(61.5)
        record.approval = approval(true, by: "bob", reason: "looks good", at: 1.25)
        record.events = [
            event(id, 1, "deployment.accepted", at: 0, status: .pending),
            event(id, 2, "approval.requested", at: 0.5, status: .pendingApproval),
            event(id, 3, "approval.approved", at: 1.25, status: .pending),
            event(id, 4, "stage.failed", at: 60.001, status: .inProgress, stage: "bake(5m, canary 20%)"),
            event(id, 5, "rollback.started", at: 61.5, status: .rollingBack),
        ]
        return record
    }
}
