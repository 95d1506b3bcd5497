import CloudModel
import CloudRuntime
import Foundation
import Server
import Testing

/// Failures over the wire: this server in AWS mode against `grpc-server simulate` with one AWS
/// call in ten failing on purpose (`mock.api_faults`: throttled, 500, timed out after it was
/// done, connection reset before it was read) and AWS's throttle buckets, so that every fault
/// crosses the real AWS client, its retries and its idempotency. (ELB's health checks and
/// deregistration delay are shorter than AWS's defaults here, for the run's sake.) The same assertions as the
/// in-process tests: the right final status, traffic back on the old revision before anything
/// is deleted, no orphan task set.
@Suite struct WireFailureTests {
    static let faults = """
        elb: {health_check_interval: 10s, healthy_threshold: 2, deregistration_delay: 30s}
        throttle: true
        api_faults:
          throttle: 0.04
          server_error: 0.03
          timeout: 0.01
          reset: 0.02
          timeout_after: 1500ms
        """

    /// A server on the simulator's time (`aws.endpoint_speedup`, 200x: its bakes, polls and
    /// back-offs below are simulated seconds) whose AWS client times out after 1 s (real) and
    /// retries up to `retries` times.
    static func server(_ sim: ServerProcess, retries: Int = 8, stages: [Int] = [25, 50, 100])
        async throws -> (DeploymentServer, Task<Void, any Error>, Int) {
        try await SimulateEndpointTests.awsModeServer(sim) { config in
            config.endpointSpeedup = 200
            config.awsTimeout = .seconds(1)
            config.maxRetries = retries
            config.retryDelay = .seconds(1)
            config.maxRetryDelay = .seconds(20)
            config.deployment.pollInterval = .seconds(5)
            config.deployment.stageTimeout = .seconds(60)
            config.deployment.stabilizationTime = .seconds(30)
            config.deployment.cleanupDelay = .zero
            config.deployment.canaryStages = stages
        }
    }

    /// The checks' own client, patient with the faults that the simulator injects in its calls too.
    static func checker(_ sim: ServerProcess) throws -> Cloud {
        let retry = RetryMiddleware(policy: RetryPolicy(maxRetries: 12, baseDelay: .milliseconds(10), maxDelay: .milliseconds(100), timeout: nil),
                                    clock: SystemClock())
        return MiddlewareCloud(try SimulateEndpointTests.cloud(sim), middleware: [retry]).cloud
    }

    static func taskDefinition(_ family: String, _ image: String) -> String {
        #"{"family":"\#(family)","containerDefinitions":[{"name":"app","image":"\#(image)"}]}"#
    }

    /// `grpc-client -action deploy -wait` of `image` (family: the service's name) on `demo/service`.
    static func deploy(_ port: Int, id: String, service: String, image: String, strategy: String) async -> ClientResult {
        await SimulateEndpointTests.client(port, ["-id", id, "-cluster", "demo", "-service", service, "-taskdef",
                                                  taskDefinition(service, image), "-strategy", strategy, "-action", "deploy", "-wait"])
    }

    /// What is wrong with an EXTERNAL service once a deployment has ended: it should run one
    /// PRIMARY task set at 100% on `image`, its target group taking all of the listener's
    /// traffic, with healthy targets.
    static func problems(_ cloud: Cloud, service name: String, image: String) async throws -> [String] {
        var found: [String] = []
        let service = try #require(try await cloud.ecs.describeServices(cluster: "demo", services: [name]).first)
        guard service.taskSets.count == 1, let primary = service.taskSets.first, primary.status == "PRIMARY" else {
            return ["\(name): task sets \(service.taskSets.map { "\($0.status) \($0.id)" })"]
        }
        if primary.scale.value != 100 { found.append("\(name): PRIMARY at \(primary.scale.value)%") }
        let running = try await cloud.ecs.describeTaskDefinition(primary.taskDefinition)
        if running.images.map(\.image) != [image] { found.append("\(name): runs \(running.images.map(\.image)), not \(image)") }
        let group = try #require(primary.loadBalancers.first?.targetGroupArn)
        let balancer = try #require(try await cloud.elb.describeTargetGroups(arns: [group]).first?.loadBalancerArns.first)
        for listener in try await cloud.elb.describeListeners(loadBalancerArn: balancer) {
            let weights = listener.defaultActions.first?.targetGroups ?? []
            if weights.map(\.weight).reduce(0, +) != 100 || weights.first(where: { $0.targetGroupArn == group })?.weight != 100 {
                found.append("\(name): listener weights \(weights.map { "\($0.targetGroupArn.suffix(20))=\($0.weight)" })")
            }
        }
        let health = try await cloud.elb.describeTargetHealth(targetGroupArn: group)
        if health.isEmpty || !health.allSatisfy({ $0.state == "healthy" }) { found.append("\(name): targets \(health.map(\.state))") }
        return found
    }

    /// No problem found (the problems shown when there are some).
    static func expectNone(_ problems: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(problems == [], "\(problems)", sourceLocation: sourceLocation)
    }

    /// What the simulator saw: calls, injected faults, traffic sent where nothing was live.
    static func stats(_ sim: ServerProcess) async throws -> (faults: Int, throttled: Int, violations: [String]) {
        let answer = try await HTTPGet.fetch(host: "127.0.0.1", port: sim.httpPort, path: "/_simulator/stats")
        let stats = try JSONDecoder().decode(JSONValue.self, from: Data(answer.body.utf8))
        let faults = stats["faults"]?.objectValue?.values.compactMap { $0.intValue }.reduce(0, +) ?? 0
        return (faults, stats["throttled"]?.intValue ?? -1, stats["traffic_violations"]?.arrayValue?.compactMap { $0.stringValue } ?? ["?"])
    }

    /// The run's end: faults were injected (else it proved nothing), no traffic went where
    /// nothing was live; the server stops.
    static func end(_ sim: ServerProcess, _ server: DeploymentServer, _ task: Task<Void, any Error>) async throws {
        let seen = try await stats(sim)
        #expect(seen.faults > 0, "no fault was injected: the test proved nothing")
        #expect(seen.violations == [], "traffic went to a target group with nothing live: \(seen.violations)")
        await server.shutdown()
        try await task.value
    }

    @Test func canaryAndBlueGreenSucceedAndRollBackThroughAPIFaults() async throws {
        let (sim, dir) = try await SimulateEndpointTests.simulator(controller: "external", more: Self.faults)
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let (server, task, port) = try await Self.server(sim)
        let cloud = try Self.checker(sim)
        for strategy in ["canary", "bluegreen"] {
            let name = "\(strategy)-svc"
            let good = await Self.deploy(port, id: "\(strategy)-1", service: name, image: "nginx:1.28", strategy: strategy)
            #expect(good.code == 0 && good.out.last?.contains("SUCCEEDED") == true, "\(strategy): \(good.text)")
            try await Self.expectNone(Self.problems(cloud, service: name, image: "nginx:1.28"))

            let bad = await Self.deploy(port, id: "\(strategy)-2", service: name, image: "nginx:v2-unhealthy", strategy: strategy)
            #expect(bad.code != 0, "\(strategy): \(bad.text)")
            let record = try await server.engine.status(id: "\(strategy)-2")
            #expect(record.status == .rolledBack, "\(strategy): \(record.status) \(record.error)")
            try await Self.expectNone(Self.problems(cloud, service: name, image: "nginx:1.28"))
        }
        try await Self.end(sim, server, task)
    }

    /// ECS's own canary, linear and blue/green through the same faults: the server finds and
    /// follows ECS's service deployment over the AWS client; an unhealthy image is rolled back
    /// by ECS and reported so; the production rule ends on the target group whose targets run
    /// the image.
    @Test func ecssOwnStrategiesSucceedAndRollBackThroughAPIFaults() async throws {
        let (sim, dir) = try await SimulateEndpointTests.simulator(controller: "native", more: Self.faults)
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let (server, task, port) = try await Self.server(sim)
        let cloud = try Self.checker(sim)
        let config = #"{"canary_percent":"25","canary_bake":"1m","linear_step_percent":"50","linear_step_bake":"1m","bake_time":"1m"}"#
        for strategy in ["canary", "linear", "bluegreen"] {
            let name = "\(strategy)-native"
            let good = await SimulateEndpointTests.client(port, ["-id", "\(strategy)-n1", "-cluster", "demo", "-service", name, "-taskdef",
                                                                Self.taskDefinition(name, "nginx:1.28"), "-strategy", strategy,
                                                                "-config", config, "-action", "deploy", "-wait"])
            #expect(good.code == 0 && good.out.last?.contains("SUCCEEDED") == true, "\(strategy): \(good.text)")
            try await Self.expectNone(Self.nativeProblems(cloud, service: name, image: "nginx:1.28"))

            let bad = await SimulateEndpointTests.client(port, ["-id", "\(strategy)-n2", "-cluster", "demo", "-service", name, "-taskdef",
                                                               Self.taskDefinition(name, "nginx:fail-to-start"), "-strategy", strategy,
                                                               "-config", config, "-action", "deploy", "-wait"])
            #expect(bad.code != 0, "\(strategy): \(bad.text)")
            let record = try await server.engine.status(id: "\(strategy)-n2")
            #expect(record.status == .rolledBack, "\(strategy): \(record.status) \(record.error)")
            #expect(record.error.contains("Circuit breaker"), "\(record.error)")
            try await Self.expectNone(Self.nativeProblems(cloud, service: name, image: "nginx:1.28"))
        }
        try await Self.end(sim, server, task)
    }

    /// What is wrong with a service ECS deploys itself once a deployment has ended: one ECS
    /// deployment, on `image`; its production and test rules send all traffic to one target
    /// group, whose targets are healthy.
    static func nativeProblems(_ cloud: Cloud, service name: String, image: String) async throws -> [String] {
        var found: [String] = []
        let service = try #require(try await cloud.ecs.describeServices(cluster: "demo", services: [name]).first)
        if service.deployments.count != 1 { found.append("\(name): deployments \(service.deployments.map { "\($0.status) \($0.taskDefinition)" })") }
        let running = try await cloud.ecs.describeTaskDefinition(try #require(service.taskDefinition))
        if running.images.map(\.image) != [image] { found.append("\(name): runs \(running.images.map(\.image)), not \(image)") }
        let advanced = try #require(service.advancedLoadBalancer?.advancedConfiguration)
        let group = try #require(service.advancedLoadBalancer?.targetGroupArn)
        let balancer = try #require(try await cloud.elb.describeTargetGroups(arns: [group]).first?.loadBalancerArns.first)
        var served: Set<String> = []
        for listener in try await cloud.elb.describeListeners(loadBalancerArn: balancer) {
            for rule in try await cloud.elb.describeRules(listenerArn: listener.listenerArn)
            where [advanced.productionListenerRule, advanced.testListenerRule].contains(rule.ruleArn) {
                let weights = rule.actions.flatMap(\.weights).filter { $0.weight > 0 }
                if weights.count != 1 || weights.first?.weight != 100 { found.append("\(name): rule weights \(weights.map(\.weight))") }
                served.formUnion(weights.map(\.targetGroupArn))
            }
        }
        if served.count != 1 { found.append("\(name): the rules send traffic to \(served.count) target groups") }
        for group in served {
            let health = try await cloud.elb.describeTargetHealth(targetGroupArn: group)
            if health.isEmpty || !health.allSatisfy({ $0.state == "healthy" }) { found.append("\(name): targets \(health.map(\.state))") }
        }
        return found
    }

    /// A release of a scheduled task (an EventBridge rule's target) and four services, then one
    /// with an image that never gets healthy: the whole release is rolled back, every service
    /// and the rule back on what they ran, through the same faults.
    @Test func aReleaseDeploysAndRollsBackAllThroughAPIFaults() async throws {
        let (sim, dir) = try await SimulateEndpointTests.simulator(controller: "external", more: Self.faults)
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let (server, task, port) = try await Self.server(sim)
        let cloud = try Self.checker(sim)
        let names = ["rel-a", "rel-b", "rel-c", "rel-d"]
        func manifest(report: String, _ image: (String) -> String) -> String {
            "tasks:\n  - service: nightly-report\n    cwRuleName: nightly-report\n    image: \"repo/report:\(report)\"\n"
            + "services:\n" + names.enumerated().map { i, name in
                """
                  - service: \(name)
                    clusterName: demo
                    serviceName: \(name)
                    image: "\(image(name))"
                    strategy: \(i % 2 == 0 ? "canary" : "bluegreen")

                """
            }.joined()
        }
        let first = dir.appendingPathComponent("first.yaml")
        try manifest(report: "2.0") { "repo/\($0):2.0" }.write(to: first, atomically: true, encoding: .utf8)
        let released = await SimulateEndpointTests.client(port, ["-action", "release", "-file", first.path, "-id", "r1", "-wait"])
        #expect(released.code == 0, "\(released.text)")
        for name in names { try await Self.expectNone(Self.problems(cloud, service: name, image: "repo/\(name):2.0")) }
        func reportImage() async throws -> [String] {
            let target = try #require(try await cloud.events.listTargetsByRule(rule: "nightly-report").first?.taskDefinitionArn)
            return try await cloud.ecs.describeTaskDefinition(target).images.map(\.image)
        }
        #expect(try await reportImage() == ["repo/report:2.0"])

        let second = dir.appendingPathComponent("second.yaml")
        try manifest(report: "3.0") { $0 == "rel-c" ? "repo/\($0):3.0-unhealthy" : "repo/\($0):3.0" }.write(to: second, atomically: true, encoding: .utf8)
        let failed = await SimulateEndpointTests.client(port, ["-action", "release", "-file", second.path, "-id", "r2", "-wait"])
        #expect(failed.code != 0, "\(failed.text)")
        let status = await SimulateEndpointTests.client(port, ["-action", "status", "-id", "r2"])
        #expect(status.text.contains("ROLLED_BACK"), "\(status.text)")
        for name in names { try await Self.expectNone(Self.problems(cloud, service: name, image: "repo/\(name):2.0")) }
        #expect(try await reportImage() == ["repo/report:2.0"])
        try await Self.end(sim, server, task)
    }

    /// Rolling and quicksync on services with the ECS controller, through the same faults: an
    /// unhealthy image ends ROLLED_BACK with the service on its previous revision.
    @Test func rollingAndQuicksyncOnTheECSControllerThroughAPIFaults() async throws {
        let (sim, dir) = try await SimulateEndpointTests.simulator(controller: "ecs", more: Self.faults)
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let (server, task, port) = try await Self.server(sim)
        let cloud = try Self.checker(sim)
        func runs(_ name: String) async throws -> (images: [String], deployments: Int, stable: Bool) {
            let service = try #require(try await cloud.ecs.describeServices(cluster: "demo", services: [name]).first)
            let td = try await cloud.ecs.describeTaskDefinition(try #require(service.taskDefinition))
            return (td.images.map(\.image), service.deployments.count, service.runningCount == service.desiredCount)
        }
        for strategy in ["rolling", "quicksync"] {
            let name = "\(strategy)-svc"
            let good = await Self.deploy(port, id: "\(strategy)-1", service: name, image: "nginx:1.28", strategy: strategy)
            #expect(good.code == 0 && good.out.last?.contains("SUCCEEDED") == true, "\(strategy): \(good.text)")
            let after = try await runs(name)
            #expect(after.images == ["nginx:1.28"] && after.deployments == 1 && after.stable, "\(strategy): \(after)")

            let bad = await Self.deploy(port, id: "\(strategy)-2", service: name, image: "nginx:v2-unhealthy", strategy: strategy)
            #expect(bad.code != 0, "\(strategy): \(bad.text)")
            let record = try await server.engine.status(id: "\(strategy)-2")
            #expect(record.status == .rolledBack, "\(strategy): \(record.status) \(record.error)")
            #expect(try await runs(name).images == ["nginx:1.28"])
        }
        try await Self.end(sim, server, task)
    }

    /// A throttling storm (a third of the calls answered ThrottlingException, the rest under
    /// AWS's buckets) with a listener whose reads lag its writes by 5 s: a canary succeeds and an
    /// unhealthy blue-green is rolled back, the traffic where it belongs after each.
    @Test func aThrottlingStormAndALaggingListener() async throws {
        let (sim, dir) = try await SimulateEndpointTests.simulator(controller: "external", more: """
            elb: {health_check_interval: 10s, healthy_threshold: 2, deregistration_delay: 30s, listener_lag: 5s}
            throttle: true
            api_faults: {throttle: 0.35}
            """)
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let (server, task, port) = try await Self.server(sim, retries: 14, stages: [50, 100])
        let cloud = try Self.checker(sim)
        let good = await Self.deploy(port, id: "storm-1", service: "storm", image: "nginx:1.28", strategy: "canary")
        #expect(good.code == 0 && good.out.last?.contains("SUCCEEDED") == true, "\(good.text)")
        try await Self.expectNone(Self.problems(cloud, service: "storm", image: "nginx:1.28"))
        let bad = await Self.deploy(port, id: "storm-2", service: "storm", image: "nginx:v2-unhealthy", strategy: "bluegreen")
        #expect(bad.code != 0, "\(bad.text)")
        #expect(try await server.engine.status(id: "storm-2").status == .rolledBack)
        try await Self.expectNone(Self.problems(cloud, service: "storm", image: "nginx:1.28"))
        let throttled = try await Self.stats(sim).throttled
        #expect(throttled > 20, "no storm: \(throttled) calls throttled")
        try await Self.end(sim, server, task)
    }
}
