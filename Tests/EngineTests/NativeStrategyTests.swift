import CloudModel
@testable import Engine
import Foundation
import Simulator
import Testing
import TestSupport

/// ECS's own blue/green, linear and canary on a service with the ECS controller and a load
/// balancer's advanced configuration: ECS moves the traffic, the engine follows its service
/// deployment, gates it at a PAUSE hook and undoes it.
@Suite struct NativeStrategyTests {
    static let fast: [String: String] = ["canary_percent": "20", "canary_bake": "2m", "linear_step_percent": "25",
                                         "linear_step_bake": "1m", "bake_time": "1m"]

    /// The service on `revision`, ECS's deployment ended, 100% of production (and test) traffic
    /// on the target group its tasks are in, and no traffic ever sent where nothing served it.
    func expectSettled(_ h: EngineHarness, on revision: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let service = h.service
        #expect(service.taskDefinition?.hasSuffix(revision) == true, "\(service.taskDefinition ?? "-")", sourceLocation: sourceLocation)
        #expect(service.deployments.count == 1, "\(service.deployments.map { "\($0.status) \($0.taskDefinition)" })", sourceLocation: sourceLocation)
        let lb = try #require(service.advancedLoadBalancer?.advancedConfiguration)
        let tasks = try h.sim.describeTasks(cluster: "prod", tasks: try h.sim.listTasks(cluster: "prod", serviceName: "web", startedBy: nil,
                                                                                          desiredStatus: "RUNNING"))
        #expect(tasks.allSatisfy { $0.taskDefinitionArn.hasSuffix(revision) }, sourceLocation: sourceLocation)
        for rule in [lb.productionListenerRule, lb.testListenerRule!] {
            let weights = try #require(h.sim.rule(rule)).actions.flatMap(\.weights).filter { $0.weight > 0 }
            #expect(weights.count == 1 && weights[0].weight == 100, "\(weights)", sourceLocation: sourceLocation)
            let live = try h.sim.describeTargetHealth(targetGroupArn: weights[0].targetGroupArn).filter { $0.state == "healthy" }
            #expect(live.count == service.desiredCount, "healthy targets behind \(rule): \(live.count)", sourceLocation: sourceLocation)
        }
        #expect(h.sim.trafficViolations.isEmpty, "\(h.sim.trafficViolations)", sourceLocation: sourceLocation)
    }

    func serviceDeployment(_ h: EngineHarness, _ record: DeploymentRecord) throws -> ServiceDeploymentDetail {
        let arn = try #require(record.facts.serviceDeployment)
        return try #require(try h.sim.describeServiceDeployments(arns: [arn]).first)
    }

    /// Moves the clock until `condition` holds.
    func advance(_ h: EngineHarness, until condition: @escaping () async throws -> Bool) async throws {
        let start = h.clock.now()
        while try await !condition() {
            guard h.clock.now().timeIntervalSince(start) < 3600 else { throw HarnessError("condition not reached in an hour") }
            await h.clock.waitUntilIdle()
            if !h.clock.advanceToNextDeadline() { try await Task.sleep(for: .milliseconds(1)) }
        }
    }

    @Test(arguments: [StrategyKind.canary, .linear, .bluegreen])
    func succeeds(strategy: StrategyKind) async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        let record = try await h.run(h.request("n", strategy: strategy, config: Self.fast))
        #expect(record.status == .succeeded, "\(record.error)")
        #expect(record.stages.map(\.stage) == [.registerTaskDefinition, .startServiceDeployment, .followServiceDeployment])
        try expectSettled(h, on: "web:2")
        let ecs = try serviceDeployment(h, record)
        #expect(ecs.status == "SUCCESSFUL")
        #expect(ecs.deploymentConfiguration?.strategy == NativeStrategyTests.ecsStrategy(strategy))
        // The traffic moved as the strategy says: canary 20 then 100, linear by 25, blue/green at once.
        let production = try #require(h.service.advancedLoadBalancer?.advancedConfiguration?.productionListenerRule)
        let steps = h.sim.weightChanges.filter { $0.resourceArn == production }.map { $0.weights.map(\.weight).last ?? -1 }
        let expected = switch strategy {
        case .canary: [20, 100]
        case .linear: [25, 50, 75, 100]
        default: [100]
        }
        #expect(steps == expected, "\(steps)")
        // Its lifecycle stages were reported as progress.
        #expect(record.events.contains { $0.message.contains("SCALE_UP") })
    }

    static func ecsStrategy(_ s: StrategyKind) -> DeploymentStrategy {
        switch s {
        case .canary: .canary
        case .linear: .linear
        default: .blueGreen
        }
    }

    @Test(arguments: ["web:fail-to-start", "web:2-unhealthy"])
    func anUnhealthyImageIsRolledBackByECSWithItsReason(image: String) async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        let record = try await h.run(h.request("u", strategy: .canary, image: image, config: Self.fast.merging(["timeout": "15m"]) { a, _ in a }))
        #expect(record.status == .rolledBack, "\(record.status) \(record.error)")
        #expect(record.error.contains("Circuit breaker triggered"), "\(record.error)")
        #expect(try serviceDeployment(h, record).status == "ROLLBACK_SUCCESSFUL")
        try expectSettled(h, on: "web:1")
    }

    @Test func aRollbackAskedMidBakeStopsECSsDeployment() async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        _ = try await h.engine.submit(h.request("m", strategy: .canary, config: Self.fast.merging(["canary_bake": "30m"]) { a, _ in a }))
        try await advance(h) {
            let record = try await h.engine.status(id: "m")
            guard let arn = record.facts.serviceDeployment else { return false }
            return try h.sim.describeServiceDeployments(arns: [arn]).first?.lifecycleStage == "PRODUCTION_TRAFFIC_SHIFT"
        }
        _ = try await h.engine.rollback(id: "m", requestedBy: "alice", reason: "looks wrong")
        let record = try await h.waitUntilFinished("m")
        #expect(record.status == .rolledBack, "\(record.error)")
        let ecs = try serviceDeployment(h, record)
        #expect(ecs.status == "ROLLBACK_SUCCESSFUL")
        #expect(ecs.rollback?.reason?.contains("StopServiceDeployment") == true, "\(ecs.rollback?.reason ?? "-")")
        try expectSettled(h, on: "web:1")
    }

    @Test(arguments: [true, false])
    func anApprovalPausesECSAtTheChosenStage(approve: Bool) async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        let config = Self.fast.merging(["approve_at": "post_test_traffic_shift"]) { a, _ in a }
        _ = try await h.engine.submit(h.request("a", strategy: .bluegreen, config: config))
        try await advance(h) { try await h.engine.status(id: "a").hookPause != nil }
        // ECS waits: test traffic on the new revision, production still on the old one.
        let paused = try serviceDeployment(h, try await h.engine.status(id: "a"))
        #expect(paused.lifecycleStage == "POST_TEST_TRAFFIC_SHIFT" && paused.awaitingHook != nil)
        #expect(paused.targetServiceRevision?.requestedProductionTrafficWeight == 0)
        #expect(paused.targetServiceRevision?.requestedTestTrafficWeight == 100)
        // Waiting for a person does not count against the time limit.
        h.clock.advance(by: .seconds(3600))
        #expect(try await h.engine.status(id: "a").status == .inProgress)
        // An approval names its approver.
        await #expect(throws: EngineError.self) { _ = try await h.engine.approve(id: "a", approver: "", reason: "") }
        if approve {
            _ = try await h.engine.approve(id: "a", approver: "bob", reason: "tests pass")
        } else {
            _ = try await h.engine.reject(id: "a", approver: "bob", reason: "no")
        }
        let record = try await h.waitUntilFinished("a")
        #expect(record.status == (approve ? .succeeded : .rolledBack), "\(record.error)")
        #expect(record.hookPause == nil)
        try expectSettled(h, on: approve ? "web:2" : "web:1")
        let hook = try #require(try serviceDeployment(h, record).lifecycleHookDetails.first)
        #expect(hook.status == (approve ? "SUCCEEDED" : "FAILED"))
    }

    /// Asked while ECS removes the previous revision (CLEAN_UP), a rollback cannot stop ECS's
    /// deployment (its old tasks are going): it waits for its end and deploys the previous
    /// revision again; traffic never goes where nothing runs (found by the native soak).
    @Test func aRollbackAskedDuringCleanUpWaitsThenDeploysThePreviousRevision() async throws {
        var settings = SimulatorSettings()
        settings.draining = 120
        let h = try EngineHarness(controller: .ecs, settings: settings, native: true)
        _ = try await h.engine.submit(h.request("cu", strategy: .bluegreen, config: Self.fast))
        try await advance(h) {
            let record = try await h.engine.status(id: "cu")
            guard let arn = record.facts.serviceDeployment else { return false }
            return try h.sim.describeServiceDeployments(arns: [arn]).first?.lifecycleStage == "CLEAN_UP"
        }
        let arn = try #require(try await h.engine.status(id: "cu").facts.serviceDeployment)
        #expect(throws: CloudError.self) { try h.sim.stopServiceDeployment(arn: arn, stopType: "ROLLBACK") }
        _ = try await h.engine.rollback(id: "cu", requestedBy: "alice", reason: "regression")
        let record = try await h.waitUntilFinished("cu")
        #expect(record.status == .rolledBack, "\(record.error)")
        #expect(try h.sim.describeServiceDeployments(arns: [arn]).first?.status == "SUCCESSFUL")
        #expect(record.facts.restoreDeployment != nil)
        try expectSettled(h, on: "web:1")
    }

    @Test func aRollbackOfAFinishedDeploymentDeploysThePreviousRevisionAgain() async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        let done = try await h.run(h.request("f", strategy: .linear, config: Self.fast))
        #expect(done.status == .succeeded, "\(done.error)")
        _ = try await h.engine.rollback(id: "f", requestedBy: "alice", reason: "regression")
        let record = try await h.waitUntilFinished("f")
        #expect(record.status == .rolledBack, "\(record.error)")
        let restore = try #require(record.facts.restoreDeployment)
        #expect(try h.sim.describeServiceDeployments(arns: [restore]).first?.status == "SUCCESSFUL")
        try expectSettled(h, on: "web:1")
    }

    /// The service's own hooks stay when a deployment sets its approval hook; ours leaves with
    /// the next deployment that asks for none.
    @Test func theServicesOwnHooksStayAndOursDoesNot() async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        let own = DeploymentLifecycleHook(targetType: "AWS_LAMBDA", hookTargetArn: "arn:aws:lambda:us-east-1:123456789012:function:smoke",
                                          roleArn: "arn:aws:iam::123456789012:role/hooks", lifecycleStages: ["POST_TEST_TRAFFIC_SHIFT"])
        _ = try h.sim.updateService(UpdateServiceInput(cluster: "prod", service: "web",
                                                       deploymentConfiguration: DeploymentConfiguration(lifecycleHooks: [own])))
        let gated = h.request("g", strategy: .bluegreen, config: Self.fast.merging(["approve_at": "post_scale_up"]) { a, _ in a })
        _ = try await h.engine.submit(gated)
        try await advance(h) { try await h.engine.status(id: "g").hookPause != nil }
        #expect(h.service.deploymentConfiguration?.lifecycleHooks?.map(\.isOurs) == [false, true])
        _ = try await h.engine.approve(id: "g", approver: "bob", reason: "")
        #expect(try await h.waitUntilFinished("g").status == .succeeded)
        #expect(try await h.run(h.request("n", strategy: .canary, image: "web:3", config: Self.fast)).status == .succeeded)
        #expect(h.service.deploymentConfiguration?.lifecycleHooks == [own])
    }

    @Test func quicksyncOnAServiceLeftOnECSsCanaryIsARollingUpdate() async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        #expect(try await h.run(h.request("c", strategy: .canary, config: Self.fast)).status == .succeeded)
        let record = try await h.run(h.request("q", strategy: .quicksync, image: "web:3"))
        #expect(record.status == .succeeded, "\(record.error)")
        #expect(h.service.deploymentConfiguration?.strategy == .rolling)
        #expect(h.service.taskDefinition?.hasSuffix("web:3") == true)
    }

    @Test func keysThatDoNotMapToECSAreRefusedNamingTheKey() async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        for (config, field) in [(["canary_stages": "10,50,100"], "config.canary_stages"), (["stage_timeout": "2d"], "config.stage_timeout"),
                                (["approve_at": "post_scale_up", "approval_timeout": "15d"], "config.approval_timeout")] {
            let error = await #expect(throws: EngineError.self) { _ = try await h.engine.submit(h.request("s", strategy: .canary, config: config)) }
            #expect(error?.field == field, "\(config): \(error.map { "\($0)" } ?? "accepted")")
        }
        #expect(throws: EngineError.self) { _ = try DeploymentSettings().applying(["canary_bake": "90s"]) }
        #expect(throws: EngineError.self) { _ = try DeploymentSettings().applying(["approve_at": "somewhere"]) }
        // "P,100" maps: the canary's share.
        let mapped = try NativeStrategy.configuration(.canary, try DeploymentSettings().applying(["canary_stages": "15,100"]))
        #expect(mapped.canaryConfiguration?.canaryPercent == 15)
    }

    @Test func canaryOnAPlainECSServiceSaysWhatItNeeds() async throws {
        let h = try EngineHarness(controller: .ecs)
        do {
            _ = try await h.engine.submit(h.request("p", strategy: .linear))
            Issue.record("accepted")
        } catch let error as EngineError {
            #expect(error.field == "strategy" && error.detail.contains("advancedConfiguration"), "\(error)")
        }
    }

    /// An alarm of `alarms` going off while traffic moves: ECS rolls back (alarm-based
    /// rollback), and the deployment says why.
    @Test func anAlarmInECSsConfigurationRollsBack() async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        h.sim.setAlarm("web-5xx", state: .ok)
        _ = try await h.engine.submit(h.request("al", strategy: .canary, config: Self.fast.merging(["alarms": "web-5xx", "canary_bake": "10m"]) { a, _ in a }))
        try await advance(h) {
            let record = try await h.engine.status(id: "al")
            guard let arn = record.facts.serviceDeployment else { return false }
            return try h.sim.describeServiceDeployments(arns: [arn]).first?.lifecycleStage == "PRODUCTION_TRAFFIC_SHIFT"
        }
        h.sim.setAlarm("web-5xx", state: .alarm, reason: "5XX above 1%")
        let record = try await h.waitUntilFinished("al")
        #expect(record.status == .rolledBack, "\(record.error)")
        #expect(record.error.contains("web-5xx"), "\(record.error)")
        let ecs = try serviceDeployment(h, record)
        #expect(ecs.alarms?.triggeredAlarmNames == ["web-5xx"] && ecs.alarms?.status == "TRIGGERED")
        try expectSettled(h, on: "web:1")
    }

    /// Nobody approves within `approval_timeout`: the PAUSE hook times out and ECS rolls back.
    @Test func anApprovalNotGivenInTimeRollsBack() async throws {
        let h = try EngineHarness(controller: .ecs, native: true)
        let config = Self.fast.merging(["approve_at": "post_scale_up", "approval_timeout": "30m"]) { a, _ in a }
        let record = try await h.run(h.request("late", strategy: .linear, config: config))
        #expect(record.status == .rolledBack, "\(record.error)")
        #expect(record.error.contains("timed out"), "\(record.error)")
        #expect(try serviceDeployment(h, record).lifecycleHookDetails.first?.status == "TIMED_OUT")
        try expectSettled(h, on: "web:1")
    }
}
