import CloudModel
import Engine
import Foundation
import Logging
import Simulator
import Synchronization
import Testing
import TestSupport

/// An engine on the simulator and a manual clock, with an EXTERNAL service behind a load
/// balancer: listener -> blue target group (100) + green target group (0).
final class EngineHarness: Sendable {
    let clock = ManualClock()
    let sim: SimulatedCloud
    let engine: DeploymentEngine
    /// The engine's environment (for a release manager, or a second engine on the same store).
    let environment: EngineEnvironment
    let hooks = FakeHooks()
    let probe = FakeProbe()
    let recorder = EventRecorder()
    let blue: String
    let green: String
    let listener: String

    /// - Parameter wrap: what the engine sees of the simulator (a layer of a test's own).
    init(defaults: DeploymentSettings = DeploymentSettings(), controller: DeploymentController = .external,
         desiredCount: Int = 4, store: any DeploymentStore = InMemoryDeploymentStore(),
         observers: [any DeploymentObserver] = [], settings: SimulatorSettings = .init(), native: Bool = false,
         wrap: (Cloud) -> Cloud = { $0 }) throws {
        sim = SimulatedCloud(clock: clock, settings: settings)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        environment = EngineEnvironment(cloud: wrap(sim.cloud), clock: clock, store: store, hooks: hooks, probe: probe,
                                        observers: [recorder] + observers, logger: logger)
        engine = DeploymentEngine(environment: environment, defaults: defaults).started()
        let lb = sim.createLoadBalancer(name: "web-alb")
        blue = try sim.createTargetGroup(name: "web-blue", loadBalancerArn: lb.loadBalancerArn).targetGroupArn
        green = try sim.createTargetGroup(name: "web-green", loadBalancerArn: lb.loadBalancerArn).targetGroupArn
        listener = try sim.createListener(loadBalancerArn: lb.loadBalancerArn, defaultActions: [
            .forward([WeightedTargetGroup(targetGroupArn: blue, weight: 100), WeightedTargetGroup(targetGroupArn: green, weight: 0)]),
        ]).listenerArn
        let td = try sim.seedTaskDefinition(family: "web", image: "web:1")
        if native {
            // ECS's own strategies: a load balancer of its own with production and test rules.
            try sim.createNativeService(cluster: "prod", name: "web", taskDefinition: td.arn!, desiredCount: desiredCount)
            return
        }
        try sim.createService(cluster: "prod", name: "web", taskDefinition: td.arn!, desiredCount: desiredCount, controller: controller,
                              loadBalancers: [LoadBalancerRef(targetGroupArn: blue, containerName: "app", containerPort: 80)])
    }

    static func taskdef(_ image: String) -> String {
        #"{"family":"web","containerDefinitions":[{"name":"app","image":""# + image + #""}]}"#
    }

    func request(_ id: String, strategy: StrategyKind, image: String = "web:2", config: [String: String] = [:]) -> DeploymentRequest {
        DeploymentRequest(id: id, cluster: "prod", service: "web", strategy: strategy, taskDefinition: Self.taskdef(image), config: config)
    }

    /// Submits and moves the clock until the deployment ends.
    func run(_ request: DeploymentRequest) async throws -> DeploymentRecord {
        _ = try await engine.submit(request)
        return try await waitUntilFinished(request.id)
    }

    func waitUntilFinished(_ id: String, maxSimulated: TimeInterval = 6 * 3600) async throws -> DeploymentRecord {
        let start = clock.now()
        while true {
            let record = try await engine.status(id: id)
            if record.status.isTerminal {
                #expect(clock.idleWaitsGivenUp == 0, "the test clock gave up waiting for work: \(clock.heldCredits)")
                return record
            }
            if record.status == .pendingApproval, await engine.runningCount == 0, clock.sleeperCount == 0 { return record }
            guard clock.now().timeIntervalSince(start) < maxSimulated else { throw HarnessError("deployment \(id) did not finish") }
            await clock.waitUntilIdle()
            if !clock.advanceToNextDeadline() { try await Task.sleep(for: .milliseconds(1)) }
        }
    }

    var service: ECSService { sim.service(cluster: "prod", name: "web")! }

    /// Listener weights by target group.
    func weights() throws -> [String: Int] {
        let listener = try sim.describeListeners(loadBalancerArn: try sim.describeTargetGroups(arns: [blue])[0].loadBalancerArns[0])
            .first { $0.listenerArn == self.listener }!
        return Dictionary(listener.defaultActions.flatMap(\.weights).map { ($0.targetGroupArn, $0.weight) }, uniquingKeysWith: +)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Hooks that succeed, except when told to fail the next one; records what it ran.
final class FakeHooks: HookRunner {
    private let state = Mutex<(failNext: Bool, calls: [HookPayload])>((false, []))
    func failNext() { state.withLock { $0.failNext = true } }
    var calls: [HookPayload] { state.withLock { $0.calls } }
    func run(_ target: String, payload: HookPayload, timeout: Duration) async throws {
        let fail = state.withLock { s -> Bool in
            s.calls.append(payload)
            defer { s.failNext = false }
            return s.failNext
        }
        if fail { throw HarnessError("hook refused") }
    }
}

final class FakeProbe: HealthProbe {
    private let answer = Mutex<Int>(200)
    func set(_ status: Int) { answer.withLock { $0 = status } }
    func status(of url: String, timeout: Duration) async throws -> Int { answer.withLock { $0 } }
}

/// Every event, and hooks to act when a forward stage starts or on any event.
final class EventRecorder: DeploymentObserver {
    private struct State {
        var events: [DeploymentEvent] = []
        var onStageStart: (@Sendable (Int, String) -> Void)?
        var onEvent: (@Sendable (DeploymentEvent, DeploymentRecord) -> Void)?
        var started = 0
    }
    private let state = Mutex(State())
    var events: [DeploymentEvent] { state.withLock { $0.events } }
    func onStageStart(_ body: @escaping @Sendable (Int, String) -> Void) { state.withLock { $0.onStageStart = body } }
    /// Called with every event (rollback stages included), outside the recorder's lock.
    func onEvent(_ body: @escaping @Sendable (DeploymentEvent, DeploymentRecord) -> Void) { state.withLock { $0.onEvent = body } }
    func observe(_ event: DeploymentEvent, record: DeploymentRecord) {
        let (action, any) = state.withLock { s -> ((@Sendable () -> Void)?, (@Sendable (DeploymentEvent, DeploymentRecord) -> Void)?) in
            s.events.append(event)
            guard event.type == "stage.started", record.status == .inProgress, let body = s.onStageStart else { return (nil, s.onEvent) }
            let index = s.started
            s.started += 1
            return ({ body(index, event.stage) }, s.onEvent)
        }
        action?()
        any?(event, record)
    }
}
