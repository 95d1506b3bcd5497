import Audit
import CloudModel
import Foundation
@testable import Engine
import Testing
import TestSupport

/// The audit log as a release observer: one `release.*` line per state change of a release or
/// of an entry, chained with the deployment lines.
@Suite struct ReleaseAuditTests {
    static func release() -> ReleaseRecord {
        let service = ReleaseEntry(kind: .service, label: "web", cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                                   service: "web", image: "repo/web:2", strategy: .canary)
        let task = ReleaseEntry(kind: .scheduledTask, label: "sync", ruleName: "hourly-sync", image: "repo/sync:2")
        let request = ReleaseRequest(id: "r1", name: "spring", entries: [task, service], requireApproval: true,
                                     origin: ReleaseOrigin(commit: "0123abcd", author: "alice", message: "bump", path: "deployment.yaml"),
                                     requestedBy: "alice")
        func state(_ entry: ReleaseEntry, _ old: String) -> EntryState {
            EntryState(entry: entry, status: .pending, oldImages: [old], newImage: entry.image, previousTaskDefinition: nil,
                       newTaskDefinitionJSON: "{}", deploymentID: nil, newTaskDefinition: nil, updatedTargets: [], error: "")
        }
        return ReleaseRecord(request: request, entries: [state(task, "sync=repo/sync:1"), state(service, "app=repo/web:1")],
                             at: AuditFixtures.t0)
    }

    static func event(_ release: ReleaseRecord, _ type: String, entry: String = "", at seconds: Double = 0) -> ReleaseEvent {
        guard let kind = ReleaseEventKind(rawValue: type) else { preconditionFailure("no release event \(type)") }
        return ReleaseEvent(releaseID: release.id, sequence: release.events.count + 1, at: AuditFixtures.t0.addingTimeInterval(seconds),
                            kind: kind, entry: entry, status: release.status, message: "\(type) message")
    }

    @Test func releaseStateChangesAreAuditedAndChained() async throws {
        let folder = AuditFixtures.folder()
        defer { AuditFixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("audit.log").path
        let log = try AuditLog(path: path, clock: ManualClock(start: AuditFixtures.t0))
        var release = Self.release()
        func observe(_ type: String, entry: String = "", _ change: (inout ReleaseRecord) -> Void = { _ in }) {
            change(&release)
            let event = Self.event(release, type, entry: entry, at: Double(release.events.count))
            release.events.append(event)
            log.observe(event, release: release)
        }
        observe("release.accepted")
        observe("approval.requested") { $0.status = .pendingApproval }
        observe("approval.approved") {
            $0.status = .pending
            $0.approval = ApprovalRecord(approved: true, approver: "bob", reason: "change 42", at: AuditFixtures.t0)
        }
        observe("release.started") { $0.status = .inProgress }
        observe("entry.started", entry: "sync") { $0.entries[0].status = .inProgress }
        observe("entry.registered", entry: "sync") { $0.entries[0].newTaskDefinition = "arn:aws:ecs:us-east-1:1:task-definition/sync:2" }
        observe("entry.succeeded", entry: "sync") { $0.entries[0].status = .succeeded }
        observe("entry.started", entry: "web") {
            $0.entries[1].status = .inProgress
            $0.entries[1].deploymentID = "r1.2"
        }
        observe("release.checkpointed")
        observe("release.recovered")
        observe("entry.resumed", entry: "web")
        observe("entry.succeeded", entry: "web") { $0.entries[1].status = .succeeded }
        observe("release.succeeded") { $0.status = .succeeded }
        // A deployment line in the same file, chained after the release's.
        let deployment = AuditFixtures.record(id: "r1.2")
        log.observe(AuditFixtures.event(deployment, 1, "deployment.started", status: .inProgress), record: deployment)

        let objects = try AuditFixtures.lines(path).map(AuditFixtures.object)
        #expect(objects.map { $0["event_type"] as? String } == [
            "release.accepted", "release.approval_requested", "release.approved", "release.started", "release.entry_started",
            "release.entry_succeeded", "release.entry_started", "release.checkpointed", "release.recovered",
            "release.entry_succeeded", "release.succeeded", "deployment.started",
        ])
        #expect(objects.dropLast().allSatisfy { $0["deployment_id"] as? String == "r1" })
        let approved = objects[2]
        #expect(approved["user"] as? String == "bob")
        let approvedMetadata = approved["metadata"] as? [String: String] ?? [:]
        #expect(approvedMetadata["approved"] == "true")
        #expect(approvedMetadata["reason"] == "change 42")
        #expect(approvedMetadata["requested_by"] == "alice")
        #expect(approvedMetadata["commit"] == "0123abcd")
        let webStarted = objects[6]
        #expect(webStarted["user"] as? String == "alice")
        #expect(webStarted["cluster"] as? String == "prod")
        #expect(webStarted["service"] as? String == "web")
        #expect(webStarted["strategy"] as? String == "canary")
        let webMetadata = webStarted["metadata"] as? [String: String] ?? [:]
        #expect(webMetadata["entry"] == "web")
        #expect(webMetadata["entry_deployment_id"] == "r1.2")
        #expect(webMetadata["kind"] == "release")
        let syncDone = objects[5]["metadata"] as? [String: String] ?? [:]
        #expect(syncDone["rule"] == "hourly-sync")
        #expect(syncDone["task_definition"] == "arn:aws:ecs:us-east-1:1:task-definition/sync:2")
        #expect(objects[10]["metadata"].flatMap { $0 as? [String: String] }?["status"] == "SUCCEEDED")
        log.close()
        #expect(try AuditLog.verify(path: path).isValid)
    }

    @Test func aRejectionIsOneLineWithTheApprover() async throws {
        let folder = AuditFixtures.folder()
        defer { AuditFixtures.cleanUp(folder) }
        let path = folder.appendingPathComponent("audit.log").path
        let log = try AuditLog(path: path, clock: ManualClock(start: AuditFixtures.t0))
        var release = Self.release()
        release.status = .pendingApproval
        release.approval = ApprovalRecord(approved: false, approver: "carol", reason: "freeze", at: AuditFixtures.t0)
        log.observe(Self.event(release, "approval.rejected"), release: release)
        release.status = .rejected
        release.error = "rejected by carol: freeze"
        log.observe(Self.event(release, "release.rejected"), release: release)
        let objects = try AuditFixtures.lines(path).map(AuditFixtures.object)
        #expect(objects.map { $0["event_type"] as? String } == ["release.rejected"])
        #expect(objects.first?["user"] as? String == "carol")
        let metadata = objects.first?["metadata"] as? [String: String] ?? [:]
        #expect(metadata["approved"] == "false")
        #expect(metadata["error"] == "rejected by carol: freeze")
    }
}
