import CloudModel
import Foundation
import Simulator
import Testing

/// An EXTERNAL service `web` behind a listener, with a blue (serving) and a green target group.
struct BlueGreen {
    let w: World
    let blue: TargetGroup
    let green: TargetGroup
    let listener: Listener
    let v1: String
    let v2: String

    init(settings: SimulatorSettings = .init()) throws {
        w = World(settings: settings)
        let lb = w.sim.createLoadBalancer(name: "front")
        blue = try w.sim.createTargetGroup(name: "web-blue", loadBalancerArn: lb.loadBalancerArn)
        green = try w.sim.createTargetGroup(name: "web-green", loadBalancerArn: lb.loadBalancerArn)
        listener = try w.sim.createListener(loadBalancerArn: lb.loadBalancerArn, defaultActions: [
            .forward([WeightedTargetGroup(targetGroupArn: blue.targetGroupArn, weight: 100),
                      WeightedTargetGroup(targetGroupArn: green.targetGroupArn, weight: 0)]),
        ])
        v1 = try w.register(image: "app:1")
        v2 = try w.register(image: "app:2")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 4, controller: .external,
                                loadBalancers: [LoadBalancerRef(targetGroupArn: blue.targetGroupArn, containerName: "app",
                                                                containerPort: 80)])
    }

    func route(blue b: Int, green g: Int) async throws {
        _ = try await w.elb.modifyListener(listenerArn: listener.listenerArn, defaultActions: [
            .forward([WeightedTargetGroup(targetGroupArn: blue.targetGroupArn, weight: b),
                      WeightedTargetGroup(targetGroupArn: green.targetGroupArn, weight: g)]),
        ])
    }

    func createGreen(scale: Double) async throws -> TaskSet {
        try await w.ecs.createTaskSet(CreateTaskSetInput(
            cluster: "prod", service: "web", taskDefinition: v2, scale: Scale(value: scale),
            loadBalancers: [LoadBalancerRef(targetGroupArn: green.targetGroupArn, containerName: "app", containerPort: 80)]))
    }

    func states(_ group: TargetGroup) async throws -> [String] {
        try await w.elb.describeTargetHealth(targetGroupArn: group.targetGroupArn).map(\.state).sorted()
    }
}

@Suite("EXTERNAL controller, task sets and traffic")
struct TaskSetTests {
    @Test func seededServiceHasOneSteadyPrimaryTaskSet() async throws {
        let bg = try BlueGreen()
        let s = try await bg.w.describe()
        #expect(s.deploymentController == .external && s.deployments.isEmpty)
        let primary = try #require(s.primaryTaskSet)
        #expect(s.taskSets.count == 1 && primary.scale.value == 100 && primary.computedDesiredCount == 4)
        #expect(primary.stabilityStatus == "STEADY_STATE" && primary.runningCount == 4)
        #expect(s.taskDefinition == bg.v1)
        #expect(try await bg.states(bg.blue) == Array(repeating: "healthy", count: 4))
    }

    @Test func blueGreenShiftKeepsTrafficServed() async throws {
        let bg = try BlueGreen()
        let w = bg.w
        var green = try await bg.createGreen(scale: 50)
        #expect(green.status == "ACTIVE" && green.computedDesiredCount == 2 && green.stabilityStatus == "STABILIZING")
        let tasks = try await w.ecs.listTasks(cluster: "prod", serviceName: nil, startedBy: green.id)
        #expect(tasks.count == 2)
        #expect(try await bg.states(bg.green).isEmpty)

        w.advance(6)
        #expect(try await bg.states(bg.green) == ["initial", "initial"])
        w.advance(10)
        #expect(try await bg.states(bg.green) == ["healthy", "healthy"])
        green = try #require(try await w.ecs.describeTaskSets(cluster: "prod", service: "web", taskSets: [green.taskSetArn]).first)
        #expect(green.stabilityStatus == "STEADY_STATE" && green.runningCount == 2)

        // Scale to 100%: two more tasks.
        green = try await w.ecs.updateTaskSet(cluster: "prod", service: "web", taskSet: green.id, scale: Scale(value: 100))
        #expect(green.computedDesiredCount == 4 && green.stabilityStatus == "STABILIZING")
        w.advance(15)
        #expect(try await bg.states(bg.green).count == 4)

        try await bg.route(blue: 90, green: 10)
        try await bg.route(blue: 0, green: 100)
        #expect(w.sim.weightChanges.count == 2)
        #expect(w.sim.weightChanges.last?.resourceArn == bg.listener.listenerArn)
        #expect(w.sim.weightChanges.last?.weights.map(\.weight) == [0, 100])

        let promoted = try await w.ecs.updateServicePrimaryTaskSet(cluster: "prod", service: "web", primaryTaskSet: green.id)
        #expect(promoted.status == "PRIMARY")
        var s = try await w.describe()
        #expect(s.taskDefinition == bg.v2)
        let blue = try #require(s.taskSets.first { $0.taskDefinition == bg.v1 })
        #expect(blue.status == "ACTIVE")

        // The PRIMARY cannot go without force.
        let refused = await cloudError { _ = try await w.ecs.deleteTaskSet(cluster: "prod", service: "web", taskSet: green.id, force: false) }
        #expect(refused?.code == CloudError.invalidParameter)

        let deleted = try await w.ecs.deleteTaskSet(cluster: "prod", service: "web", taskSet: blue.taskSetArn, force: false)
        #expect(deleted.status == "DRAINING")
        #expect(try await bg.states(bg.blue) == Array(repeating: "draining", count: 4))
        w.advance(4)
        #expect(try await bg.states(bg.blue).isEmpty)
        w.advance(2)
        s = try await w.describe()
        #expect(s.taskSets.count == 1 && s.primaryTaskSet?.id == green.id && s.runningCount == 4)
        #expect(w.sim.trafficViolations.isEmpty)
    }

    /// `mock.elb`: ELB's own health checks decide a target's state (initial until 5 passes at
    /// 30 s, unhealthy after 2 failures), and ECS counts a task behind a target group as healthy
    /// only once its target is; a stopping target drains for the deregistration delay.
    @Test func targetHealthFollowsELBsChecksAndDrainsForTheDeregistrationDelay() async throws {
        var settings = SimulatorSettings()
        settings.targetHealthCheck = .aws
        settings.draining = 300
        let bg = try BlueGreen(settings: settings)
        // Seeded steady: launched long enough ago for ELB to have decided.
        #expect(try await bg.states(bg.blue) == ["healthy", "healthy", "healthy", "healthy"])
        #expect(settings.timeToHealthy == 2 + 3 + 150)
        _ = try await bg.createGreen(scale: 100)
        bg.w.advance(5 + 10)  // RUNNING + the container's health check: ELB has not decided yet
        #expect(try await bg.states(bg.green) == ["initial", "initial", "initial", "initial"])
        let green = { try await bg.w.describe().taskSets.first { $0.status == "ACTIVE" } }
        #expect(try await green()?.stabilityStatus == "STABILIZING")
        bg.w.advance(5 * 30 - 10)  // five passes 30 s apart after RUNNING
        #expect(try await bg.states(bg.green) == ["healthy", "healthy", "healthy", "healthy"])
        #expect(try await green()?.stabilityStatus == "STEADY_STATE")

        // Scaled to 0: its targets drain for 300 s.
        let blueSet = try #require(try await bg.w.describe().taskSets.first { $0.status == "PRIMARY" })
        _ = try await bg.w.ecs.updateTaskSet(cluster: "prod", service: "web", taskSet: blueSet.id, scale: Scale(value: 0))
        bg.w.advance(1)
        #expect(try await bg.states(bg.blue) == ["draining", "draining", "draining", "draining"])
        bg.w.advance(298)
        #expect(try await bg.states(bg.blue) == ["draining", "draining", "draining", "draining"])
        bg.w.advance(2)
        #expect(try await bg.states(bg.blue) == [])
    }

    /// `mock.elb.listener_lag`: reads show the previous weights for a while after a change;
    /// traffic (and the violation check) follows the change at once.
    @Test func listenerReadsLagWrites() async throws {
        var settings = SimulatorSettings()
        settings.listenerLag = 5
        let bg = try BlueGreen(settings: settings)
        _ = try await bg.createGreen(scale: 100)
        bg.w.advance(20)
        func weights() async throws -> [Int] {
            try await bg.w.elb.describeListeners(loadBalancerArn: bg.listener.loadBalancerArn)[0].defaultActions[0].weights.map(\.weight)
        }
        try await bg.route(blue: 50, green: 50)
        #expect(try await weights() == [100, 0])
        bg.w.advance(3)
        try await bg.route(blue: 0, green: 100)
        bg.w.advance(4)  // 7 s after the first change, 4 s after the second: still the first's state
        #expect(try await weights() == [100, 0])
        bg.w.advance(1)
        #expect(try await weights() == [0, 100])
        #expect(bg.w.sim.weightChanges.count == 2)
    }

    @Test func deletingATaskSetThatStillHasTrafficIsAViolation() async throws {
        let bg = try BlueGreen()
        let w = bg.w
        let green = try await bg.createGreen(scale: 100)
        w.advance(15)
        try await bg.route(blue: 50, green: 50)
        #expect(w.sim.trafficViolations.isEmpty)
        _ = try await w.ecs.deleteTaskSet(cluster: "prod", service: "web", taskSet: green.id, force: false)
        #expect(w.sim.trafficViolations.count == 1)
        #expect(w.sim.trafficViolations.first?.contains(bg.green.targetGroupArn) == true)
    }

    @Test func weightOnAnEmptyTargetGroupIsAViolation() async throws {
        let bg = try BlueGreen()
        try await bg.route(blue: 90, green: 10)
        #expect(bg.w.sim.trafficViolations.count == 1)
        #expect(bg.w.sim.trafficViolations.first?.contains("weight 10") == true)
    }

    @Test func scalingTheServiceRescalesTaskSets() async throws {
        let bg = try BlueGreen()
        let green = try await bg.createGreen(scale: 25)
        #expect(green.computedDesiredCount == 1)
        _ = try await bg.w.ecs.updateService(UpdateServiceInput(cluster: "prod", service: "web", desiredCount: 8))
        let sets = try await bg.w.ecs.describeTaskSets(cluster: "prod", service: "web", taskSets: nil)
        #expect(sets.compactMap(\.computedDesiredCount).sorted() == [2, 8])
    }

    @Test func listenerAndRuleValidation() async throws {
        let bg = try BlueGreen()
        let elb = bg.w.elb
        let tooHeavy = await cloudError { try await bg.route(blue: 1000, green: 0) }
        #expect(tooHeavy?.code == "ValidationError")
        let unknownGroup = await cloudError {
            _ = try await elb.modifyListener(listenerArn: bg.listener.listenerArn, defaultActions: [
                .forward([WeightedTargetGroup(targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/1", weight: 1)]),
            ])
        }
        #expect(unknownGroup?.code == CloudError.targetGroupNotFound)
        let unknownListener = await cloudError { _ = try await elb.modifyListener(listenerArn: "arn:nope", defaultActions: []) }
        #expect(unknownListener?.code == CloudError.listenerNotFound)
        let unknownRule = await cloudError { _ = try await elb.modifyRule(ruleArn: "arn:nope", actions: []) }
        #expect(unknownRule?.code == CloudError.ruleNotFound)
        #expect(bg.w.sim.weightChanges.isEmpty)

        let rule = try bg.w.sim.createRule(listenerArn: bg.listener.listenerArn, priority: 10, actions: [
            .forward([WeightedTargetGroup(targetGroupArn: bg.blue.targetGroupArn, weight: 1)]),
        ])
        let rules = try await elb.describeRules(listenerArn: bg.listener.listenerArn)
        #expect(rules.map(\.priority) == ["10", "default"] && rules.last?.isDefault == true)
        let defaultRule = await cloudError { _ = try await elb.modifyRule(ruleArn: rules[1].ruleArn, actions: []) }
        #expect(defaultRule?.code == "OperationNotPermitted")
        let modified = try await elb.modifyRule(ruleArn: rule.ruleArn, actions: [
            .forward([WeightedTargetGroup(targetGroupArn: bg.blue.targetGroupArn, weight: 3)]),
        ])
        #expect(modified.actions.first?.weights.first?.weight == 3)
        #expect(bg.w.sim.weightChanges.map(\.resourceArn) == [rule.ruleArn])
        #expect(try await elb.describeListeners(loadBalancerArn: bg.listener.loadBalancerArn).count == 1)
        #expect(try await elb.describeTargetGroups(arns: [bg.green.targetGroupArn]).first?.targetGroupName == "web-green")
    }

    @Test func taskSetErrors() async throws {
        let bg = try BlueGreen()
        let missing = await cloudError {
            _ = try await bg.w.ecs.updateTaskSet(cluster: "prod", service: "web", taskSet: "ecs-svc/1", scale: Scale(value: 10))
        }
        #expect(missing?.code == CloudError.taskSetNotFound)
        let v1 = bg.v1
        try bg.w.sim.createService(cluster: "prod", name: "rolling", taskDefinition: v1)
        let notExternal = await cloudError {
            _ = try await bg.w.ecs.createTaskSet(CreateTaskSetInput(cluster: "prod", service: "rolling", taskDefinition: v1,
                                                                   scale: Scale(value: 10)))
        }
        #expect(notExternal?.code == CloudError.invalidParameter)
    }
}
