import CloudModel
import DeployAPI
import Foundation
import Testing

/// Approval gates and drift detection through the real server and client.
@Suite struct ApprovalAndDriftTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#

    func deploy(_ t: TestServer, _ id: String, config: String, strategy: String = "quicksync") async -> ClientResult {
        await t.client(["-id", id, "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-strategy", strategy,
                        "-config", config])
    }

    @Test func approveRunsTheDeployment() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let accepted = await deploy(t, "a1", config: #"{"require_approval":"true"}"#)
        #expect(accepted.out.first == "Deployment a1 accepted: quicksync of prod/web, status PENDING_APPROVAL", "\(accepted.text)")
        #expect(try await t.http("/metrics").body.contains("ecs_pending_approvals 1"))
        // Nothing was touched while it waits.
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:1") == true)
        let rollback = await t.client(["-id", "a1", "-action", "rollback"])
        #expect(rollback.err == ["error: deployment a1 is waiting for approval; reject it instead of rolling it back (FAILED_PRECONDITION)"])
        let noApprover = await t.client(["-id", "a1", "-action", "approve"])
        #expect(noApprover.err == ["error: approver: is required to approve (INVALID_ARGUMENT)"])

        let approved = await t.client(["-id", "a1", "-action", "approve", "-approver", "ops-team", "-reason", "Passed security review"])
        #expect(approved.code == 0, "\(approved.text)")
        let d = try await t.waitUntilFinished("a1")
        #expect(d.status == .succeeded)
        #expect(d.approval.decision == "approved")
        #expect(d.approval.approver == "ops-team")
        #expect(d.approval.reason == "Passed security review")
        let status = await t.client(["-id", "a1", "-action", "status"])
        #expect(status.out.contains("Approval:    approved by ops-team (Passed security review)"))
        #expect(try await t.http("/metrics").body.contains("ecs_pending_approvals 0"))
        try await t.stop()
    }

    @Test func rejectChangesNothing() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        _ = await deploy(t, "r1", config: #"{"require_approval":"true"}"#)
        let rejected = await t.client(["-id", "r1", "-action", "reject", "-approver", "ops-team", "-reason", "Version not ready"])
        #expect(rejected.out == ["Deployment r1 rejected: status REJECTED"], "\(rejected.text)")
        let d = try await t.status("r1")
        #expect(d.status == .rejected)
        #expect(d.error == "rejected by ops-team: Version not ready")
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:1") == true)
        #expect(t.sim.callCounts["ecs:RegisterTaskDefinition"] == nil)
        // The service is free again.
        #expect(await deploy(t, "r2", config: "{}").code == 0)
        _ = try await t.waitUntilFinished("r2")
        try await t.stop()
    }

    @Test func approvalTimeoutRejects() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        _ = await deploy(t, "t1", config: #"{"require_approval":"true","approval_timeout":"30m"}"#)
        let d = try await t.waitUntilFinished("t1")
        #expect(d.status == .rejected)
        #expect(d.error == "not approved within 30m")
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:1") == true)
        try await t.stop()
    }

    @Test func driftIsReportedAndDesiredCountIsNot() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let none = await t.client(["-action", "drift", "-cluster", "prod", "-service", "web"])
        #expect(none.out == ["Service prod/web: no successful deployment is recorded, nothing to compare"])
        _ = await deploy(t, "d1", config: "{}")
        #expect(try await t.waitUntilFinished("d1").status == .succeeded)
        let clean = await t.client(["-action", "drift", "-cluster", "prod", "-service", "web"])
        #expect(clean.out == ["Service prod/web: no drift since deployment d1"], "\(clean.text)")

        // Autoscaling changes the desired count: not drift.
        _ = try t.sim.updateService(UpdateServiceInput(cluster: "prod", service: "web", desiredCount: 5))
        #expect(await t.client(["-action", "drift", "-cluster", "prod", "-service", "web"]).code == 0)

        // Someone deploys another image by hand: drift.
        let manual = try t.sim.registerTaskDefinition(TaskDefinition(json: try JSONValue.parse(
            #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:hotfix"}]}"#)))
        _ = try t.sim.updateService(UpdateServiceInput(cluster: "prod", service: "web", taskDefinition: manual.arn))
        let drifted = await t.client(["-action", "drift", "-cluster", "prod", "-service", "web"])
        #expect(drifted.code == 1)
        #expect(drifted.out.contains("  taskDefinition: expected web:2, found web:3"), "\(drifted.text)")
        #expect(drifted.out.contains("  containerDefinitions[app].image: expected nginx:2.0, found nginx:hotfix"))

        let refused = await deploy(t, "d2", config: #"{"fail_on_drift":"true"}"#)
        #expect(refused.err.first?.hasPrefix("error: drift detected: taskDefinition: expected web:2, found web:3") == true, "\(refused.text)")
        try await t.stop()
    }

    @Test func driftOnAnExternalServiceReportsWeightsAndTaskSets() async throws {
        let t = try await TestServer()
        let lb = t.sim.createLoadBalancer(name: "web-alb")
        let blue = try t.sim.createTargetGroup(name: "web-blue", loadBalancerArn: lb.loadBalancerArn).targetGroupArn
        let green = try t.sim.createTargetGroup(name: "web-green", loadBalancerArn: lb.loadBalancerArn).targetGroupArn
        func forward(blue b: Int, green g: Int) -> [ListenerAction] {
            [.forward([WeightedTargetGroup(targetGroupArn: blue, weight: b), WeightedTargetGroup(targetGroupArn: green, weight: g)])]
        }
        let listener = try t.sim.createListener(loadBalancerArn: lb.loadBalancerArn, defaultActions: forward(blue: 100, green: 0)).listenerArn
        let seeded = try t.sim.seedTaskDefinition(family: "web", image: "nginx:1.0")
        try t.sim.createService(cluster: "prod", name: "web", taskDefinition: seeded.arn!, desiredCount: 4, controller: .external,
                                loadBalancers: [LoadBalancerRef(targetGroupArn: blue, containerName: "app", containerPort: 80)])
        let accepted = await deploy(t, "e1", config: #"{"canary_stages":"50,100","stage_timeout":"1m"}"#, strategy: "canary")
        #expect(accepted.code == 0, "\(accepted.text)")
        let d = try await t.waitUntilFinished("e1")
        #expect(d.status == .succeeded, "\(d.error)")
        let drift = ["-action", "drift", "-cluster", "prod", "-service", "web"]
        let clean = ["Service prod/web: no drift since deployment e1"]
        #expect(await t.client(drift).out == clean)

        // Autoscaling changes the desired count: not drift.
        _ = try t.sim.updateService(UpdateServiceInput(cluster: "prod", service: "web", desiredCount: 8))
        let scaled = await t.client(drift)
        #expect(scaled.code == 0)
        #expect(scaled.out == clean, "\(scaled.text)")

        // Someone moves traffic on the listener by hand: drift, with both weights.
        _ = try t.sim.modifyListener(listenerArn: listener, defaultActions: forward(blue: 30, green: 70))
        let weights = await t.client(drift)
        #expect(weights.code == 1)
        #expect(weights.out == ["Service prod/web: drift detected against deployment e1",
                                "  weights[\(listener.arnResource)]: expected \(green.arnResource)=100%, "
                                    + "found \(blue.arnResource)=30, \(green.arnResource)=70",
                                // Blue's task set was deleted: 30% of the traffic goes to nothing.
                                "  targets[\(blue.arnResource)]: expected healthy targets behind its traffic, found none healthy"],
                "\(weights.text)")
        _ = try t.sim.modifyListener(listenerArn: listener, defaultActions: forward(blue: 0, green: 100))
        #expect(await t.client(drift).out == clean)

        // Someone creates another task set by hand: drift of the task sets.
        let primary = try #require(t.service("web")?.primaryTaskSet)
        #expect(primary.taskDefinition.hasSuffix("web:2"))
        let manual = try t.sim.registerTaskDefinition(TaskDefinition(json: try JSONValue.parse(
            #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:hotfix"}]}"#)))
        let extra = try t.sim.createTaskSet(CreateTaskSetInput(cluster: "prod", service: "web", taskDefinition: manual.arn!,
                                                              externalId: "by-hand", scale: Scale(value: 50)))
        let sets = await t.client(drift)
        #expect(sets.code == 1)
        #expect(sets.out == ["Service prod/web: drift detected against deployment e1",
                             "  taskSets: expected PRIMARY \(primary.id) only, found PRIMARY \(primary.id) web:2, ACTIVE \(extra.id) web:3"],
                "\(sets.text)")

        let refused = await deploy(t, "e2", config: #"{"fail_on_drift":"true"}"#, strategy: "canary")
        #expect(refused.err.first?.hasPrefix("error: drift detected: taskSets: expected PRIMARY \(primary.id) only") == true, "\(refused.text)")
        try await t.stop()
    }

    /// `-action rollback` while a canary on an EXTERNAL service holds 25% of the traffic.
    @Test func rollbackOnDemandInTheMiddleOfACanary() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        let accepted = await deploy(t, "c1", config: #"{"canary_stages":"10,25,50,100","stage_timeout":"5m"}"#, strategy: "canary")
        #expect(accepted.code == 0, "\(accepted.text)")
        let old = try #require(t.service("web")?.primaryTaskSet)
        let oldGroup = try #require(old.loadBalancers.first?.targetGroupArn)
        let lb = try #require(try t.sim.describeTargetGroups(arns: [oldGroup]).first?.loadBalancerArns.first)
        @Sendable func weights() throws -> [String: Int] {
            Dictionary(try t.sim.describeListeners(loadBalancerArn: lb).flatMap { $0.defaultActions.flatMap(\.weights) }
                .map { ($0.targetGroupArn, $0.weight) }, uniquingKeysWith: +)
        }
        // Let it reach the bake at 25%, then ask for the rollback.
        try await t.driving {
            while try await t.status("c1").currentStage != "bake(5m, canary at 25%)" { try await Task.sleep(for: .milliseconds(1)) }
        }
        let during = try await t.status("c1")
        #expect(during.status == .inProgress)
        #expect(t.service("web")?.taskSets.count == 2)
        let newGroup = try #require(t.service("web")?.taskSets.first { $0.id != old.id }?.loadBalancers.first?.targetGroupArn)
        #expect(try weights() == [oldGroup: 75, newGroup: 25])

        let result = await t.client(["-id", "c1", "-action", "rollback", "-approver", "ops", "-reason", "canary errors"])
        #expect(result.out.first == "Rollback of c1 started: status ROLLING_BACK", "\(result.text)")
        let d = try await t.waitUntilFinished("c1")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error)")
        #expect(d.error == "rollback requested by ops: canary errors")
        // The bake at 25% was interrupted, and nothing after it ran.
        #expect(d.stages.filter { $0.status == .stageFailed }.map(\.name) == ["bake(5m, canary at 25%)"])
        let interrupted = try #require(d.stages.firstIndex { $0.status == .stageFailed })
        #expect(d.stages[..<interrupted].allSatisfy { $0.status == .stageSucceeded })
        #expect(d.stages[(interrupted + 1)...].allSatisfy { $0.status != .stageSucceeded && $0.status != .stageRunning },
                "\(d.stages.map { "\($0.name) \($0.status)" })")
        #expect(d.rollbackStages.map(\.name) == ["waitTaskSetHealthy(previous)", "routeTraffic(0%)", "deleteTaskSet(new)"], "\(d.rollbackStages.map(\.name))")

        let service = try #require(t.service("web"))
        #expect(service.taskSets.count == 1, "\(service.taskSets.map { "\($0.status) \($0.taskDefinition)" })")
        #expect(service.taskSets.first?.id == old.id)
        #expect(service.taskSets.first?.status == "PRIMARY")
        #expect(service.taskSets.first?.taskDefinition == old.taskDefinition)
        #expect(try weights() == [oldGroup: 100, newGroup: 0])
        #expect(t.sim.trafficViolations.isEmpty, "\(t.sim.trafficViolations)")
        try await t.stop()
    }

    /// A rollback asked while the deployment deletes the previous task set (it drains) brings
    /// the previous revision back, healthy, before any traffic moves to it: traffic never goes
    /// to a target group with nothing behind it.
    @Test func rollbackWhileThePreviousTaskSetIsDeleted() async throws {
        // Targets drain for 300 s, as AWS's default deregistration delay.
        var settings = SeedCommandsTests.mockMode
        settings.draining = 300
        let t = try await TestServer(simulator: settings)
        #expect(await deploy(t, "a1", config: "{}").code == 0)
        #expect(try await t.waitUntilFinished("a1").status == .succeeded)
        let before = try #require(t.service("web")?.primaryTaskSet)
        #expect(await deploy(t, "b1", config: "{}").code == 0)
        try await t.driving {
            while try await t.status("b1").currentStage != "deleteTaskSet(previous)" { try await Task.sleep(for: .milliseconds(1)) }
        }
        // The stage asks for the delete at once (the clock stands still meanwhile): the previous
        // task set drains.
        var waited = 0
        while t.service("web")?.taskSets.first(where: { $0.id == before.id })?.status != "DRAINING", waited < 5000 {
            try await Task.sleep(for: .milliseconds(1))
            waited += 1
        }
        #expect(t.service("web")?.taskSets.first(where: { $0.id == before.id })?.status == "DRAINING")
        let asked = await t.client(["-id", "b1", "-action", "rollback", "-approver", "ops", "-reason", "bad build"])
        #expect(asked.code == 0, "\(asked.text)")
        let d = try await t.waitUntilFinished("b1")
        #expect(d.status == .rolledBack, "\(d.status) \(d.error) \(d.rollbackStages.map { "\($0.name) \($0.status) \($0.message)" })")
        #expect(t.sim.trafficViolations.isEmpty, "\(t.sim.trafficViolations)")
        let after = try #require(t.service("web"))
        let live = after.taskSets.filter { $0.status != "DRAINING" }
        #expect(live.count == 1 && live.first?.taskDefinition == before.taskDefinition && live.first?.status == "PRIMARY",
                "\(after.taskSets.map { "\($0.id) \($0.status) \($0.taskDefinition)" })")
        try await t.stop()
    }

    /// The first seed's rollback example after four deployments: a superseded deployment is not
    /// rolled back (the answer names the one to roll back); rolling back the latest leaves the
    /// service as drift's new baseline, and fail_on_drift lets the next deployment through.
    @Test func supersededRollbackIsRefusedAndARollbackIsNotDrift() async throws {
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode)
        for (id, strategy) in [("deploy-1", "quicksync"), ("deploy-2", "canary"), ("deploy-3", "bluegreen"), ("deploy-4", "rolling")] {
            #expect(await deploy(t, id, config: "{}", strategy: strategy).code == 0)
            #expect(try await t.waitUntilFinished(id).status == .succeeded)
        }
        let refused = await t.client(["-id", "deploy-1", "-action", "rollback"])
        #expect(refused.code == 1 && refused.text.contains("deployment deploy-1 was superseded by deploy-4")
                    && refused.text.contains("grpc-client -action rollback -id deploy-4") && refused.text.contains("(FAILED_PRECONDITION)"),
                "\(refused.text)")
        #expect(try await t.status("deploy-1").status == .succeeded, "nothing was changed")

        #expect(await t.client(["-id", "deploy-4", "-action", "rollback", "-reason", "bad"]).code == 0)
        let back = try await t.waitUntilFinished("deploy-4")
        #expect(back.status == .rolledBack, "\(back.error)")
        let service = try #require(t.service("web"))
        #expect(service.taskSets.count == 1 && service.primaryTaskSet?.taskDefinition == back.previousTaskDefinitionArn)
        let drift = await t.client(["-action", "drift", "-cluster", "prod", "-service", "web"])
        #expect(drift.code == 0 && drift.out == ["Service prod/web: no drift since deployment deploy-4"], "\(drift.text)")
        #expect(await deploy(t, "deploy-5", config: #"{"fail_on_drift":"true"}"#).code == 0)
        #expect(try await t.waitUntilFinished("deploy-5").status == .succeeded)
        #expect(t.sim.trafficViolations.isEmpty, "\(t.sim.trafficViolations)")
        try await t.stop()
    }
}
