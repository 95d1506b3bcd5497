import CloudModel
import DeployAPI
import Foundation
import Testing

/// Quicksync through the real server and client, on the simulator and a manual clock.
@Suite struct QuicksyncTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0","memory":512}]}"#

    @Test func deploySucceedsAndServiceRunsTheNewImage() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let result = try await t.driving {
            await t.client(["-id", "d1", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef,
                            "-strategy", "quicksync", "-action", "deploy", "-wait"])
        }
        #expect(result.code == 0, "\(result.text)")
        #expect(result.out.first?.contains("Deployment d1 accepted") == true)
        #expect(result.out.contains { $0.contains("stage.succeeded waitForStability") })
        #expect(result.out.last?.contains("SUCCEEDED") == true)

        let service = try #require(t.service("web"))
        #expect(service.taskDefinition?.hasSuffix("task-definition/web:2") == true)
        #expect(service.deployments.count == 1)
        #expect(service.runningCount == 3)
        let td = try t.sim.describeTaskDefinition(service.taskDefinition!)
        #expect(td.images.map(\.image) == ["nginx:2.0"])

        let status = await t.client(["-id", "d1", "-action", "status"])
        #expect(status.code == 0)
        #expect(status.out.contains("Status:      SUCCEEDED"))
        #expect(status.out.contains("Progress:    100%"))
        #expect(status.out.contains { $0.hasPrefix("Previous:") && $0.hasSuffix("web:1") })
        try await t.stop()
    }

    @Test func deployWithoutWaitReturnsOnceAccepted() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let result = await t.client(["-id", "d1", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef])
        #expect(result.code == 0)
        #expect(result.out.first == "Deployment d1 accepted: quicksync of prod/web, status PENDING")
        let d = try await t.waitUntilFinished("d1")
        #expect(d.status == .succeeded)
        try await t.stop()
    }

    @Test func emptyContainerListRedeploysTheCurrentContainers() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web", image: "nginx:1.7")
        let accepted = await t.client(["-id", "d1", "-cluster", "prod", "-service", "web",
                                       "-taskdef", #"{"family":"app","containerDefinitions":[]}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        let d = try await t.waitUntilFinished("d1")
        #expect(d.status == .succeeded, "\(d.error)")
        #expect(d.taskDefinitionArn.hasSuffix("task-definition/app:1"))
        let td = try t.sim.describeTaskDefinition(d.taskDefinitionArn)
        #expect(td.images.map(\.image) == ["nginx:1.7"])
        try await t.stop()
    }

    @Test func unhealthyImageIsRolledBackAutomatically() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let bad = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0-unhealthy"}]}"#
        let result = try await t.driving {
            await t.client(["-id", "bad", "-cluster", "prod", "-service", "web", "-taskdef", bad, "-wait"])
        }
        #expect(result.code == 1)
        #expect(result.out.contains { $0.contains("rollback.started") })
        #expect(result.out.last?.contains("ROLLED_BACK") == true, "\(result.text)")

        let d = try await t.status("bad")
        #expect(d.status == .rolledBack)
        #expect(d.error.contains("ECS rollout failed"), "\(d.error)")
        #expect(d.rollbackStages.allSatisfy { $0.status == .stageSucceeded })
        let service = try #require(t.service("web"))
        #expect(service.taskDefinition?.hasSuffix("web:1") == true)
        #expect(service.deployments.count == 1)
        #expect(service.runningCount == 3)
        try await t.stop()
    }

    @Test func serviceThatSettlesOnTheOldRevisionIsAFailure() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web", circuitBreaker: CircuitBreaker(enable: true, rollback: true))
        let bad = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2-unhealthy"}]}"#
        _ = await t.client(["-id", "bad", "-cluster", "prod", "-service", "web", "-taskdef", bad])
        let d = try await t.waitUntilFinished("bad")
        #expect(d.status == .rolledBack)
        #expect(d.error.contains("primary deployment is on web:1"), "\(d.error)")
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:1") == true)
        try await t.stop()
    }

    @Test func strategyTimeoutRollsBack() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web", circuitBreaker: nil)
        let bad = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:fail-to-start"}]}"#
        _ = await t.client(["-id", "slow", "-cluster", "prod", "-service", "web", "-taskdef", bad, "-config", #"{"timeout":"3m"}"#])
        let d = try await t.waitUntilFinished("slow")
        #expect(d.status == .rolledBack)
        #expect(d.error.contains("timed out"), "\(d.error)")
        let service = try #require(t.service("web"))
        #expect(service.taskDefinition?.hasSuffix("web:1") == true)
        #expect(service.deployments.count == 1)
        try await t.stop()
    }

    @Test func manualRollbackAfterSuccess() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        _ = await t.client(["-id", "d1", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef])
        #expect(try await t.waitUntilFinished("d1").status == .succeeded)

        let result = try await t.driving {
            await t.client(["-id", "d1", "-action", "rollback", "-approver", "ops", "-reason", "bad metrics", "-wait"])
        }
        #expect(result.out.first == "Rollback of d1 started: status ROLLING_BACK")
        #expect(result.code == 0, "a rollback that succeeded exits 0: \(result.text)")
        let d = try await t.status("d1")
        #expect(d.status == .rolledBack)
        #expect(d.error == "rollback requested by ops: bad metrics")
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:1") == true)

        let again = await t.client(["-id", "d1", "-action", "rollback"])
        #expect(again.code == 1)
        #expect(again.err == ["error: deployment d1 is already rolled back (FAILED_PRECONDITION)"])
        try await t.stop()
    }

    @Test func manualRollbackWhileInProgress() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web", circuitBreaker: nil)
        let stuck = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:fail-to-start"}]}"#
        _ = await t.client(["-id", "d1", "-cluster", "prod", "-service", "web", "-taskdef", stuck])
        // Let it reach the wait for stability, then ask for the rollback.
        try await t.driving {
            while try await t.status("d1").currentStage != "waitForStability" { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(try await t.status("d1").status == .inProgress)
        let result = await t.client(["-id", "d1", "-action", "rollback"])
        #expect(result.code == 0, "\(result.text)")
        let d = try await t.waitUntilFinished("d1")
        #expect(d.status == .rolledBack)
        #expect(d.error == "rollback requested")
        #expect(d.stages.last?.status == .stageFailed)
        let service = try #require(t.service("web"))
        #expect(service.taskDefinition?.hasSuffix("web:1") == true)
        #expect(service.deployments.count == 1)
        try await t.stop()
    }
}
