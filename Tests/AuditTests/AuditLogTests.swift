import Audit
import CloudModel
import Foundation
import Synchronization
@testable import Engine
import Testing
import TestSupport

@Suite struct AuditLogTests {
    private func withLogPath(_ body: (String) async throws -> Void) async throws {
        let folder = AuditFixtures.folder()
        defer { AuditFixtures.cleanUp(folder) }
        try await body(folder.appendingPathComponent("logs/audit.jsonl").path)
    }

    @Test func linesHaveTheSpecFields() async throws {
        try await withLogPath { path in
            let log = try AuditLog(path: path, clock: ManualClock(start: AuditFixtures.t0.addingTimeInterval(100)))
            var record = AuditFixtures.record()
            record.status = .pendingApproval
            log.observe(AuditFixtures.event(record, 1, "approval.requested", status: .pendingApproval), record: record)
            log.observe(AuditFixtures.event(record, 2, "stage.progress", status: .inProgress), record: record)
            record.approval = ApprovalRecord(approved: true, approver: "bob", reason: "ship it", at: AuditFixtures.t0)
            log.observe(AuditFixtures.event(record, 3, "approval.approved", status: .pending, message: "approved by bob"),
                        record: record)
            log.observe(AuditFixtures.event(record, 4, "stage.started", status: .inProgress), record: record)
            record.facts.newTaskDefinition = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"
            log.observe(AuditFixtures.event(record, 5, "stage.failed", status: .inProgress, stage: "waitTaskSetHealthy(new)",
                                            message: "tasks unhealthy", at: 1.5), record: record)
            record.status = .rolledBack
            record.error = "tasks unhealthy"
            log.observe(AuditFixtures.event(record, 6, "deployment.rolled_back", status: .rolledBack, at: 2), record: record)
            log.drift(DriftReport(cluster: "prod", service: "web", baselineDeployment: "deploy-0", items: [
                DriftItem(field: "taskDefinition", expected: "web:7", actual: "web:8"),
            ]))
            log.drift(DriftReport(cluster: "prod", service: "api", baselineDeployment: nil, items: []))

            let lines = try AuditFixtures.lines(path)
            let objects = try lines.map(AuditFixtures.object)
            #expect(objects.map { $0["event_type"] as? String } == [
                "approval.requested", "approval.approved", "stage.failed", "deployment.rolled_back", "drift.detected",
                "drift.checked",
            ])
            let fields: Set<String> = ["timestamp", "event_type", "deployment_id", "user", "cluster", "service", "strategy",
                                       "metadata", "prev_hash", "seq"]
            for object in objects { #expect(Set(object.keys) == fields) }

            let first = objects[0]
            #expect(first["timestamp"] as? String == "2025-06-15T15:06:40.250Z")
            #expect(first["deployment_id"] as? String == "deploy-1")
            #expect(first["user"] as? String == "alice")
            #expect(first["cluster"] as? String == "prod")
            #expect(first["service"] as? String == "web")
            #expect(first["strategy"] as? String == "bluegreen")
            #expect(first["metadata"] as? [String: String]
                        == ["status": "PENDING_APPROVAL", "event_sequence": "1", "task_definition": "web"])
            #expect(first["prev_hash"] as? String == String(repeating: "0", count: 64))
            #expect(first["seq"] as? Int == 1)

            let approval = objects[1]
            #expect(approval["user"] as? String == "bob")
            let approvalMetadata = approval["metadata"] as? [String: String]
            #expect(approvalMetadata?["approved"] == "true")
            #expect(approvalMetadata?["reason"] == "ship it")
            #expect(approvalMetadata?["requested_by"] == "alice")
            #expect(approvalMetadata?["message"] == "approved by bob")

            let failed = objects[2]["metadata"] as? [String: String]
            #expect(failed?["stage"] == "waitTaskSetHealthy(new)")
            #expect(failed?["message"] == "tasks unhealthy")
            #expect(failed?["task_definition"] == "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7")
            #expect(objects[2]["timestamp"] as? String == "2025-06-15T15:06:41.750Z")
            #expect((objects[3]["metadata"] as? [String: String])?["error"] == "tasks unhealthy")

            let drift = objects[4]
            #expect(drift["timestamp"] as? String == "2025-06-15T15:08:20.250Z")
            #expect(drift["deployment_id"] as? String == "deploy-0")
            #expect(drift["user"] as? String == "")
            #expect((drift["metadata"] as? [String: String])?["drift.taskDefinition"] == "expected web:7, found web:8")
            #expect((objects[5]["metadata"] as? [String: String])?["summary"]
                        == "no successful deployment of this service is recorded")

            // The chain, checked with a SHA-256 of this test's own.
            for i in 1..<lines.count {
                #expect(objects[i]["prev_hash"] as? String == AuditFixtures.sha256(lines[i - 1]))
                #expect(objects[i]["seq"] as? Int == i + 1)
            }
            #expect(try AuditLog.verify(path: path) == AuditVerification(validLines: 6, totalLines: 6, problem: nil))
        }
    }

    @Test func chainContinuesAcrossReopening() async throws {
        try await withLogPath { path in
            do {
                let log = try AuditLog(path: path)
                AuditFixtures.writeEvents(log, count: 2)
            }
            let log = try AuditLog(path: path)
            AuditFixtures.writeEvents(log, count: 2, id: "deploy-2")
            log.close()
            let lines = try AuditFixtures.lines(path)
            #expect(lines.count == 4)
            let third = try AuditFixtures.object(lines[2])
            #expect(third["prev_hash"] as? String == AuditFixtures.sha256(lines[1]))
            #expect(third["seq"] as? Int == 3)
            #expect(try AuditLog.verify(path: path).isValid)
        }
    }

    @Test func verifyAcceptsAnUntouchedFile() async throws {
        try await withLogPath { path in
            let log = try AuditLog(path: path)
            #expect(try AuditLog.verify(path: path) == AuditVerification(validLines: 0, totalLines: 0, problem: nil))
            AuditFixtures.writeEvents(log, count: 10)
            let result = try AuditLog.verify(path: path)
            #expect(result.isValid)
            #expect(result.validLines == 10)
            #expect(log.failedWrites == 0)
        }
    }

    @Test func twoWritersAreRefused() async throws {
        try await withLogPath { path in
            let log = try AuditLog(path: path)
            #expect(throws: AuditError.inUse(path: path)) { try AuditLog(path: path) }
            log.close()
            _ = try AuditLog(path: path)
        }
    }

    @Test func writeFailuresAreReported() async throws {
        try await withLogPath { path in
            let errors = ErrorBox()
            let log = try AuditLog(path: path, onError: { errors.add($0) })
            log.close()
            AuditFixtures.writeEvents(log, count: 1)
            #expect(errors.all == [AuditError.closed(path: path)])
            #expect(throws: AuditError.closed(path: path)) {
                try log.append(AuditEntry(timestamp: AuditFixtures.t0, eventType: "deployment.started"))
            }
        }
    }

    @Test func unwritablePathIsAClearError() throws {
        let folder = AuditFixtures.folder()
        defer { AuditFixtures.cleanUp(folder) }
        let file = folder.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let path = file.appendingPathComponent("audit.jsonl").path
        do {
            _ = try AuditLog(path: path)
            Issue.record("opening \(path) should fail")
        } catch let error as AuditError {
            guard case .cannotOpen(let named, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(named == path)
            #expect(error.description.contains(path))
        }
        #expect(throws: AuditError.self) { try AuditLog(path: folder.path) }
    }

    @Test func concurrentWritersKeepTheChain() async throws {
        try await withLogPath { path in
            let log = try AuditLog(path: path)
            await withTaskGroup(of: Void.self) { group in
                for task in 0..<40 {
                    group.addTask { AuditFixtures.writeEvents(log, count: 10, id: "deploy-\(task)") }
                }
                group.addTask {
                    for _ in 0..<10 { log.drift(DriftReport(cluster: "c", service: "s", baselineDeployment: nil, items: [])) }
                }
            }
            let result = try AuditLog.verify(path: path)
            #expect(result == AuditVerification(validLines: 410, totalLines: 410, problem: nil))
            let seqs = try AuditFixtures.lines(path).map { try AuditFixtures.object($0)["seq"] as? Int }
            #expect(seqs == Array(1...410))
        }
    }
}

/// Errors handed to `onError`, collected across threads.
final class ErrorBox: Sendable {
    private let errors = Mutex<[AuditError]>([])

    func add(_ error: any Error) {
        errors.withLock { $0.append(error as? AuditError ?? .closed(path: "?")) }
    }

    var all: [AuditError] { errors.withLock { $0 } }
}
