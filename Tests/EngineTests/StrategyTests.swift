import CloudModel
import Engine
import Foundation
import Simulator
import Testing

/// The progressive strategies on the simulator, with the test clock.
@Suite struct StrategyTests {
    static let hooks: [String: String] = ["hook_pre_traffic": "exec:true", "hook_post_shift": "exec:true"]
    static let fast: [String: String] = ["stage_timeout": "2m", "stabilization_time": "1m", "cleanup_delay": "1m", "batch_delay": "1m"]

    /// Exactly one PRIMARY task set, on `revision`, and 100% of the traffic on its target group.
    func expectSettled(_ h: EngineHarness, on revision: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let sets = h.service.taskSets
        #expect(sets.count == 1, "task sets: \(sets.map { "\($0.status) \($0.taskDefinition)" })", sourceLocation: sourceLocation)
        #expect(sets.first?.status == "PRIMARY", sourceLocation: sourceLocation)
        #expect(sets.first?.taskDefinition.hasSuffix(revision) == true, "\(sets.first?.taskDefinition ?? "-")", sourceLocation: sourceLocation)
        let tg = try #require(sets.first?.loadBalancers.first?.targetGroupArn)
        let w = try h.weights()
        #expect(w[tg] == 100 && w.values.reduce(0, +) == 100, "weights \(w)", sourceLocation: sourceLocation)
        #expect(h.sim.trafficViolations.isEmpty, "\(h.sim.trafficViolations)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [StrategyKind.canary, .bluegreen, .rolling, .quicksync, .linear])
    func succeedsOnAnExternalService(strategy: StrategyKind) async throws {
        let h = try EngineHarness()
        let record = try await h.run(h.request("d", strategy: strategy, config: Self.fast.merging(Self.hooks) { a, _ in a }))
        #expect(record.status == .succeeded, "\(record.error)")
        try expectSettled(h, on: "web:2")
        #expect(h.service.taskSets.first?.loadBalancers.first?.targetGroupArn == h.green)
        #expect(h.hooks.calls.map(\.hook).first == "pre_traffic")
        #expect(h.hooks.calls.contains { $0.hook == "post_shift" && $0.trafficPercent != nil })
        // Every weight change the simulator recorded moved traffic between blue and green only.
        #expect(!h.sim.weightChanges.isEmpty)
    }

    @Test func canaryWalksThroughItsStages() async throws {
        let h = try EngineHarness()
        let record = try await h.run(h.request("c", strategy: .canary, config: ["canary_stages": "10,25,50,100", "stage_timeout": "5m"]))
        #expect(record.status == .succeeded, "\(record.error)")
        let greenShares = h.sim.weightChanges.compactMap { change in change.weights.first { $0.targetGroupArn == h.green }?.weight }
        #expect(greenShares == [10, 25, 50, 100])
        #expect(record.stages.filter { $0.name.hasPrefix("bake") }.count == 4)
        // Four bakes of 5 minutes: the deployment took at least 20 simulated minutes.
        #expect(record.finishedAt!.timeIntervalSince(record.createdAt) >= 1200)
    }

    @Test(arguments: [StrategyKind.canary, .bluegreen, .rolling, .quicksync])
    func aFailureAtAnyStageRollsBack(strategy: StrategyKind) async throws {
        let probe = try EngineHarness()
        let config = Self.fast.merging(Self.hooks) { a, _ in a }.merging(["canary_stages": "50,100", "batch_size": "50"]) { a, _ in a }
        let planned = try await probe.run(probe.request("probe", strategy: strategy, config: config))
        #expect(planned.status == .succeeded, "\(planned.error)")
        for index in planned.stages.indices {
            let stage = planned.stages[index].stage
            let h = try EngineHarness()
            h.recorder.onStageStart { started, _ in
                guard started == index else { return }
                switch stage {
                case .runHook: h.hooks.failNext()
                default: h.sim.failNext(operation: Self.operation(of: stage), code: "ServerException", message: "injected at \(stage.name)")
                }
            }
            let record = try await h.run(h.request("f\(index)", strategy: strategy, config: config))
            #expect(record.status == .rolledBack, "\(strategy) failing at \(index) \(stage.name): \(record.status) \(record.error)")
            #expect(record.error.hasPrefix(stage.name), "\(record.error)")
            try expectSettled(h, on: "web:1")
        }
    }

    static func operation(of stage: Stage) -> String {
        switch stage {
        case .registerTaskDefinition: "RegisterTaskDefinition"
        case .createTaskSet: "CreateTaskSet"
        case .scaleTaskSet: "UpdateTaskSet"
        case .waitTaskSetHealthy: "DescribeTaskSets"
        case .routeTraffic: "ModifyListener"
        case .bake: "DescribeTargetHealth"
        case .promote: "UpdateServicePrimaryTaskSet"
        case .deleteTaskSet: "DeleteTaskSet"
        case .updateService: "UpdateService"
        case .waitStable: "DescribeServices"
        case .runHook: "-"
        case .startServiceDeployment: "UpdateService"
        case .followServiceDeployment, .rollBackServiceDeployment: "DescribeServiceDeployments"
        }
    }

    @Test(arguments: ["web:2-unhealthy", "web:2-crash-after-40s", "web:fail-to-start"])
    func unhealthyCanaryIsRolledBack(image: String) async throws {
        let h = try EngineHarness()
        let record = try await h.run(h.request("u", strategy: .canary, image: image, config: ["timeout": "15m", "stage_timeout": "2m"]))
        #expect(record.status == .rolledBack, "\(record.error)")
        try expectSettled(h, on: "web:1")
        // Tasks that never run are seen stopping, well before the 15 minutes' time-out (a
        // crash after 40 s is seen by the bake, the task set no longer healthy).
        if image.hasSuffix("fail-to-start") {
            let wait = try #require(record.stages.first { $0.status == .failed })
            #expect(record.error.contains("tasks of task set") && record.error.contains("CannotPullContainerError"), "\(record.error)")
            let took = try #require(wait.finishedAt).timeIntervalSince(try #require(wait.startedAt))
            #expect(took < 5 * 60, "\(took) s")
        }
    }

    /// With AWS's target health checks (a task healthy 155 s after launch), a rolling deployment
    /// on task sets that fails in its second batch brings the previous set back to 100%; that
    /// wait outlasts the 30 s after which stopped tasks are looked at, and the previous set's
    /// tasks that its own scale-in stopped are no failure of it.
    @Test func aRollbackWaitsForThePreviousSetDespiteTheTasksItsScaleInStopped() async throws {
        var settings = SimulatorSettings()
        settings.targetHealthCheck = .aws
        let h = try EngineHarness(desiredCount: 8, settings: settings)
        let record = try await h.run(h.request("slow", strategy: .rolling, image: "web:2-crash-after-300s",
                                               config: ["batch_size": "50", "batch_delay": "1m", "timeout": "15m"]))
        #expect(record.status == .rolledBack, "\(record.status): \(record.error)")
        let back = try #require(record.rollbackStages.first { $0.name == "waitTaskSetHealthy(previous)" })
        #expect(back.status == .succeeded, "\(back.message)")
        try expectSettled(h, on: "web:1")
    }

    @Test func failingCustomHealthCheckRollsBack() async throws {
        let h = try EngineHarness()
        _ = try await h.engine.submit(h.request("p", strategy: .bluegreen,
                                                config: ["health_check_url": "http://health.internal/ok", "stabilization_time": "2m"]))
        h.recorder.onStageStart { _, name in if name.hasPrefix("bake") { h.probe.set(503) } }
        let record = try await h.waitUntilFinished("p")
        #expect(record.status == .rolledBack)
        #expect(record.error.contains("answered 503, expected 200"), "\(record.error)")
        try expectSettled(h, on: "web:1")
    }

    @Test func rollbackOnDemandAfterSuccessBringsThePreviousRevisionBack() async throws {
        let h = try EngineHarness()
        #expect(try await h.run(h.request("b", strategy: .bluegreen, config: Self.fast)).status == .succeeded)
        _ = try await h.engine.rollback(id: "b", requestedBy: "ops", reason: "")
        let record = try await h.waitUntilFinished("b")
        #expect(record.status == .rolledBack, "\(record.error)")
        try expectSettled(h, on: "web:1")
        #expect(h.service.taskSets.first?.loadBalancers.first?.targetGroupArn == h.blue)
    }

    @Test func aRollbackThatDoesNotSettleBackEndsFailedWithTheServiceState() async throws {
        let h = try EngineHarness()
        // While the rollback deletes the canary, someone else creates a task set on the new revision.
        h.recorder.onEvent { event, record in
            guard event.type == "stage.started", record.status == .rollingBack, event.stage == "deleteTaskSet(new)",
                  let td = record.facts.newTaskDefinition else { return }
            _ = try? h.sim.createTaskSet(CreateTaskSetInput(cluster: "prod", service: "web", taskDefinition: td,
                                                            externalId: "someone-else", scale: Scale(value: 25)))
        }
        let record = try await h.run(h.request("s", strategy: .canary, image: "web:2-unhealthy",
                                               config: ["timeout": "15m", "stage_timeout": "2m"]))
        #expect(record.status == .failed, "\(record.status) \(record.error)")
        #expect(record.rollbackStages.allSatisfy { $0.status == .succeeded })
        #expect(record.error.hasPrefix("waitTaskSetHealthy(new)"), "\(record.error)")
        #expect(record.error.contains("; rollback failed: the service did not settle back: 2 task sets left"), "\(record.error)")
        #expect(record.error.contains("on the new revision web:2 is still there"), "\(record.error)")
        #expect(record.error.contains("; service left with task sets: PRIMARY "), "\(record.error)")
    }

    @Test func aRollbackStageThatKeepsFailingEndsFailedWithTheServiceState() async throws {
        let h = try EngineHarness()
        h.recorder.onStageStart { _, name in
            if name == "waitTaskSetHealthy(new)" {
                h.sim.failNext(operation: "DeleteTaskSet", code: "ServerException", message: "injected in the rollback", times: 100)
            }
        }
        let record = try await h.run(h.request("k", strategy: .canary, image: "web:2-unhealthy",
                                               config: ["timeout": "15m", "stage_timeout": "2m", "hook_post_rollback": "exec:true"]))
        #expect(record.status == .failed, "\(record.status) \(record.error)")
        #expect(record.error.contains("; rollback failed: deleteTaskSet(new): "), "\(record.error)")
        #expect(record.error.contains("injected in the rollback"), "\(record.error)")
        #expect(record.error.contains("; service left with task sets: "), "\(record.error)")
        #expect(h.service.taskSets.count == 2)
        #expect(h.hooks.calls.contains { $0.hook == "post_rollback" })
    }

    @Test func nothingToUndoStillRunsThePostRollbackHook() async throws {
        let h = try EngineHarness()
        h.sim.failNext(operation: "RegisterTaskDefinition", code: "ServerException", message: "injected")
        let record = try await h.run(h.request("n", strategy: .canary, config: ["hook_post_rollback": "exec:true"]))
        #expect(record.status == .rolledBack, "\(record.status) \(record.error)")
        #expect(record.events.last?.message.contains("nothing to undo") == true)
        #expect(h.hooks.calls.map(\.hook) == ["post_rollback"])
        try expectSettled(h, on: "web:1")
    }

    @Test func rollingOnAnECSServiceUsesTheDeploymentConfiguration() async throws {
        let h = try EngineHarness(controller: .ecs)
        let record = try await h.run(h.request("r", strategy: .rolling, config: ["batch_size": "25"]))
        #expect(record.status == .succeeded, "\(record.error)")
        #expect(h.service.taskDefinition?.hasSuffix("web:2") == true)
        #expect(h.service.deploymentConfiguration?.minimumHealthyPercent == 75)
    }

    @Test func rollingOnAnECSServiceWithAnImageThatNeverBecomesHealthyRollsBack() async throws {
        let h = try EngineHarness(controller: .ecs)
        let before = try #require(h.service.taskDefinition)
        let record = try await h.run(h.request("ru", strategy: .rolling, image: "web:2-unhealthy", config: ["batch_size": "50"]))
        #expect(record.status == .rolledBack, "\(record.status) \(record.error)")
        #expect(record.error.hasPrefix("waitForStability"), "\(record.error)")
        #expect(record.rollbackStages.map(\.name) == ["restorePreviousTaskDefinition", "waitForStabilityOnPrevious"])
        #expect(record.rollbackStages.allSatisfy { $0.status == .succeeded })
        let service = h.service
        #expect(service.taskDefinition == before, "\(service.taskDefinition ?? "-")")
        #expect(ServiceStability.evaluate(service, target: before) == .stable, "\(service.deployments)")
        #expect(h.sim.tasks(cluster: "prod", service: "web").filter { $0.lastStatus == "RUNNING" }.allSatisfy { $0.taskDefinitionArn == before })
    }

    @Test func rollingWithBatchesOfHalfTheTasksTakesTwoBatches() async throws {
        let h = try EngineHarness()
        let record = try await h.run(h.request("r50", strategy: .rolling, config: ["batch_size": "50", "batch_delay": "1m"]))
        #expect(record.status == .succeeded, "\(record.error)")
        let names = record.stages.map(\.name)
        #expect(names.filter { $0.hasPrefix("createTaskSet(new") || $0.hasPrefix("scaleTaskSet(new") }
            == ["createTaskSet(new, 50%)", "scaleTaskSet(new, 100%)"], "\(names)")
        #expect(names.filter { $0.hasPrefix("routeTraffic") } == ["routeTraffic(50%)", "routeTraffic(100%)"], "\(names)")
        #expect(names.filter { $0.hasPrefix("scaleTaskSet(previous") } == ["scaleTaskSet(previous, 50%)", "scaleTaskSet(previous, 0%)"])
        #expect(names.filter { $0.hasPrefix("bake") } == ["bake(1m, batch delay)"], "no delay after the last batch")
        let greenShares = h.sim.weightChanges.compactMap { change in change.weights.first { $0.targetGroupArn == h.green }?.weight }
        #expect(greenShares == [50, 100])
        try expectSettled(h, on: "web:2")

        // The default batch size (25) takes four.
        let d = try EngineHarness()
        let four = try await d.run(d.request("r25", strategy: .rolling, config: ["batch_delay": "1m"]))
        #expect(four.status == .succeeded, "\(four.error)")
        #expect(four.stages.map(\.name).filter { $0.hasPrefix("routeTraffic") }
            == ["routeTraffic(25%)", "routeTraffic(50%)", "routeTraffic(75%)", "routeTraffic(100%)"])
    }

    @Test func rollingOnAnECSServiceWithBatchesOfHalfTheTasks() async throws {
        let h = try EngineHarness(controller: .ecs)
        let record = try await h.run(h.request("re", strategy: .rolling, config: ["batch_size": "50"]))
        #expect(record.status == .succeeded, "\(record.error)")
        #expect(record.stages.map(\.name) == ["registerTaskDefinition", "updateService", "waitForStability"])
        let service = h.service
        #expect(service.deploymentConfiguration?.minimumHealthyPercent == 50)
        #expect(service.deploymentConfiguration?.maximumPercent == 150)
        let target = try #require(service.taskDefinition)
        #expect(target.hasSuffix("web:2"))
        #expect(ServiceStability.evaluate(service, target: target) == .stable)
    }

    /// The listener forwards to the blue target group only; the new version's target group
    /// comes from `canary_target_group`.
    @Test func canaryTargetGroupFromTheConfigReceivesTheTraffic() async throws {
        let h = try EngineHarness()
        let lb = try h.sim.describeTargetGroups(arns: [h.blue])[0].loadBalancerArns[0]
        let canary = try h.sim.createTargetGroup(name: "web-canary", loadBalancerArn: lb).targetGroupArn
        _ = try h.sim.modifyListener(listenerArn: h.listener, defaultActions: [.forward([WeightedTargetGroup(targetGroupArn: h.blue, weight: 100)])])
        let changesBefore = h.sim.weightChanges.count
        let record = try await h.run(h.request("tg", strategy: .canary, config: [
            "canary_stages": "50,100", "stage_timeout": "1m", "canary_target_group": canary,
        ]))
        #expect(record.status == .succeeded, "\(record.error)")
        #expect(h.service.taskSets.first?.loadBalancers.first?.targetGroupArn == canary)
        let shares = h.sim.weightChanges.dropFirst(changesBefore).map { change in
            change.weights.first { $0.targetGroupArn == canary }?.weight
        }
        #expect(shares == [50, 100])
        #expect(h.sim.weightChanges.dropFirst(changesBefore).allSatisfy { change in
            change.weights.allSatisfy { [h.blue, canary].contains($0.targetGroupArn) }
        }, "only blue and the canary target group")
        try expectSettled(h, on: "web:2")
        #expect(try h.weights()[canary] == 100)
    }

    @Test func unknownCanaryTargetGroupIsAClearError() async throws {
        let h = try EngineHarness()
        let missing = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-nope/0123456789abcdef"
        let record = try await h.run(h.request("nope", strategy: .canary, config: ["canary_target_group": missing]))
        #expect(record.status == .rolledBack, "\(record.status) \(record.error)")
        #expect(record.error.contains("canary_target_group"), "\(record.error)")
        #expect(record.error.contains(missing), "\(record.error)")
        #expect(h.sim.callCounts["ecs:CreateTaskSet"] == nil)
        try expectSettled(h, on: "web:1")
    }

    @Test func canaryNeedsAnExternalService() async throws {
        let h = try EngineHarness(controller: .ecs)
        await #expect(throws: EngineError.self) { try await h.engine.submit(h.request("x", strategy: .canary)) }
    }

    @Test func missingListenerIsAClearError() async throws {
        let h = try EngineHarness()
        _ = try h.sim.modifyListener(listenerArn: h.listener, defaultActions: [ListenerAction(type: "fixed-response")])
        let record = try await h.run(h.request("l", strategy: .canary))
        #expect(record.status == .rolledBack)
        #expect(record.error.contains("listener ARN not found"), "\(record.error)")
    }
}
