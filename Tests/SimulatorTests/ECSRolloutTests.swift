import CloudModel
import Foundation
import Simulator
import Testing

@Suite("ECS deployment controller")
struct ECSRolloutTests {
    @Test func rolloutReplacesTasksAndCompletes() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        let v2 = try w.register(image: "nginx:2")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 3)

        let steady = try await w.describe()
        #expect(steady.runningCount == 3 && steady.pendingCount == 0)
        #expect(steady.deployments.count == 1 && steady.primaryDeployment?.rolloutState == "COMPLETED")

        try await w.deploy(taskDefinition: v2)
        var s = try await w.describe()
        #expect(s.deployments.count == 2)
        #expect(s.primaryDeployment?.taskDefinition == v2)
        #expect(s.primaryDeployment?.rolloutState == "IN_PROGRESS")
        #expect(s.deployments.last?.status == "ACTIVE" && s.deployments.last?.taskDefinition == v1)
        #expect(s.taskDefinition == v2)
        #expect(s.pendingCount == 3 && s.runningCount == 3)

        w.advance(10)  // new tasks RUNNING, health unknown: nothing old stops yet
        s = try await w.describe()
        #expect(s.deployments.count == 2 && s.runningCount == 6)
        #expect(s.primaryDeployment?.runningCount == 3)

        w.advance(6)  // +16: new tasks HEALTHY at +15, old ones stopping
        s = try await w.describe()
        #expect(s.deployments.count == 2 && s.runningCount == 3)
        #expect(s.primaryDeployment?.rolloutState == "IN_PROGRESS")

        w.advance(4)  // +20: old tasks STOPPED at +17
        s = try await w.describe()
        #expect(s.deployments.count == 1)
        #expect(s.primaryDeployment?.rolloutState == "COMPLETED")
        #expect(s.primaryDeployment?.taskDefinition == v2)
        #expect(s.runningCount == 3 && s.desiredCount == 3 && s.pendingCount == 0)
        let live = w.sim.tasks(cluster: "prod", service: "web").filter { $0.lastStatus == "RUNNING" }
        #expect(live.count == 3 && live.allSatisfy { $0.taskDefinitionArn == v2 && $0.healthStatus == "HEALTHY" })
        #expect(w.stoppedReasons().count == 3)
    }

    @Test func desiredCountOnlyScalesWithoutNewDeployment() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 2)
        _ = try await w.ecs.updateService(UpdateServiceInput(cluster: "prod", service: "web", desiredCount: 5))
        var s = try await w.describe()
        #expect(s.deployments.count == 1 && s.desiredCount == 5 && s.pendingCount == 3)
        w.advance(15)
        s = try await w.describe()
        #expect(s.runningCount == 5 && s.deployments.count == 1)
        _ = try await w.ecs.updateService(UpdateServiceInput(cluster: "prod", service: "web", desiredCount: 1))
        w.advance(3)
        s = try await w.describe()
        #expect(s.runningCount == 1 && s.deployments.count == 1)
    }

    @Test func unhealthyImageTripsCircuitBreaker() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        let bad = try w.register(image: "nginx:2-unhealthy")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 3,
                                circuitBreaker: CircuitBreaker(enable: true, rollback: false))
        try await w.deploy(taskDefinition: bad)

        w.advance(16)
        let sick = w.sim.tasks(cluster: "prod", service: "web").filter { $0.taskDefinitionArn == bad }
        #expect(sick.count == 3 && sick.allSatisfy { $0.lastStatus == "RUNNING" && $0.healthStatus == "UNHEALTHY" })

        w.advance(60)
        let s = try await w.describe()
        let primary = try #require(s.primaryDeployment)
        #expect(primary.rolloutState == "FAILED")
        #expect(primary.rolloutStateReason?.contains("circuit breaker") == true)
        #expect(primary.failedTasks >= 3)
        #expect(primary.runningCount == 0)
        // The old deployment keeps serving.
        #expect(s.deployments.count == 2 && s.runningCount == 3)
        #expect(s.deployments.last?.taskDefinition == v1 && s.deployments.last?.runningCount == 3)
        #expect(w.stoppedReasons().contains("Task failed container health checks"))
    }

    @Test func circuitBreakerRollbackSettlesOnOldRevision() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        let bad = try w.register(image: "nginx:2-unhealthy")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 3,
                                circuitBreaker: CircuitBreaker(enable: true, rollback: true))
        try await w.deploy(taskDefinition: bad)

        w.advance(21)  // failures at +20 trip the breaker and start the rollback
        var s = try await w.describe()
        #expect(s.primaryDeployment?.taskDefinition == v1)
        #expect(s.primaryDeployment?.rolloutState == "IN_PROGRESS")
        #expect(s.primaryDeployment?.rolloutStateReason?.contains("rolling back") == true)
        #expect(s.deployments.contains { $0.taskDefinition == bad && $0.rolloutState == "FAILED" })

        w.advance(60)
        s = try await w.describe()
        #expect(s.deployments.count == 1)
        #expect(s.primaryDeployment?.rolloutState == "COMPLETED")
        #expect(s.taskDefinition == v1 && s.runningCount == 3)
    }

    @Test func crashAfterStopsTasksAndReplacesThem() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        let crashy = try w.register(image: "nginx:2-crash-after-30s")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 3,
                                circuitBreaker: CircuitBreaker(enable: false, rollback: false))
        try await w.deploy(taskDefinition: crashy)

        w.advance(34)  // healthy at +15, old tasks gone at +17: the rollout COMPLETED
        var s = try await w.describe()
        #expect(s.runningCount == 3 && s.primaryDeployment?.failedTasks == 0)
        #expect(s.primaryDeployment?.rolloutState == "COMPLETED")

        w.advance(2)  // crashed at +35: stopping, replacements provisioning
        s = try await w.describe()
        #expect(s.primaryDeployment?.failedTasks == 3)
        #expect(s.pendingCount == 3 && s.runningCount == 0)
        #expect(w.stoppedReasons().filter { $0 == "Essential container in task exited" }.count == 3)
    }

    @Test func earlyCrashTripsCircuitBreakerDuringRollout() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        let crashy = try w.register(image: "nginx:crash-after-5s")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 3)
        try await w.deploy(taskDefinition: crashy)
        w.advance(11)  // crashed at +10, before any health result
        let s = try await w.describe()
        #expect(s.primaryDeployment?.rolloutState == "FAILED" && s.primaryDeployment?.failedTasks == 3)
        #expect(s.runningCount == 3 && s.deployments.last?.taskDefinition == v1)
    }

    @Test func failToStartNeverRunsAndRollsBack() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        let broken = try w.register(image: "nginx:fail-to-start")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 3,
                                circuitBreaker: CircuitBreaker(enable: true, rollback: true))
        try await w.deploy(taskDefinition: broken)

        w.advance(6)
        let failed = w.sim.tasks(cluster: "prod", service: "web").filter { $0.taskDefinitionArn == broken }
        #expect(failed.count == 3)
        #expect(failed.allSatisfy { $0.startedAt == nil && $0.stoppedReason?.hasPrefix("CannotPullContainerError") == true })

        w.advance(30)
        let s = try await w.describe()
        #expect(s.deployments.count == 1 && s.taskDefinition == v1)
        #expect(s.primaryDeployment?.rolloutState == "COMPLETED")
    }

    @Test func programmaticImageBehavior() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        let v2 = try w.register(image: "nginx:2")
        w.sim.setImageBehavior(image: "nginx:2", .unhealthy)
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 3,
                                circuitBreaker: CircuitBreaker(enable: true, rollback: false))
        try await w.deploy(taskDefinition: v2)
        w.advance(30)
        let s = try await w.describe()
        #expect(s.primaryDeployment?.rolloutState == "FAILED")
    }

    @Test func targetsDrainDuringRollout() async throws {
        let w = World()
        let lb = w.sim.createLoadBalancer(name: "front")
        let tg = try w.sim.createTargetGroup(name: "web", loadBalancerArn: lb.loadBalancerArn)
        let v1 = try w.register(image: "nginx:1")
        let v2 = try w.register(image: "nginx:2")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 2,
                                loadBalancers: [LoadBalancerRef(targetGroupArn: tg.targetGroupArn, containerName: "app",
                                                                containerPort: 8080)])
        var health = try await w.elb.describeTargetHealth(targetGroupArn: tg.targetGroupArn)
        #expect(health.map(\.state) == ["healthy", "healthy"] && health.allSatisfy { $0.port == 8080 })

        try await w.deploy(taskDefinition: v2)
        w.advance(6)
        health = try await w.elb.describeTargetHealth(targetGroupArn: tg.targetGroupArn)
        #expect(health.map(\.state).sorted() == ["healthy", "healthy", "initial", "initial"])
        w.advance(10)  // +16
        health = try await w.elb.describeTargetHealth(targetGroupArn: tg.targetGroupArn)
        #expect(health.map(\.state).sorted() == ["draining", "draining", "healthy", "healthy"])
        w.advance(3)  // +19: draining ended at +18
        health = try await w.elb.describeTargetHealth(targetGroupArn: tg.targetGroupArn)
        #expect(health.map(\.state) == ["healthy", "healthy"])
    }

    @Test func idsAreDeterministic() throws {
        func taskArns() throws -> [String] {
            let w = World()
            let v1 = try w.register(image: "nginx:1")
            try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1)
            return w.sim.tasks(cluster: "prod", service: "web").map(\.taskArn)
        }
        let first = try taskArns()
        #expect(first == (try taskArns()))
        #expect(first.allSatisfy { $0.hasPrefix("arn:aws:ecs:us-east-1:123456789012:task/prod/") })
    }
}
