import DeployAPI
import Foundation
import Simulator
import Testing

/// The first seed's commands, as written there, against a server in mock mode (services
/// created on the fly with the EXTERNAL controller and a load balancer).
@Suite struct SeedCommandsTests {
    static var mockMode: SimulatorSettings {
        var s = SimulatorSettings()
        s.autoCreate = true
        s.autoCreateController = .external
        return s
    }

    func run(_ t: TestServer, _ args: [String]) async throws -> Deployment_V1_Deployment {
        let accepted = await t.client(args)
        #expect(accepted.code == 0, "\(accepted.text)")
        let id = args[args.firstIndex(of: "-id")! + 1]
        return try await t.waitUntilFinished(id)
    }

    @Test func testingVerificationCommands() async throws {
        let t = try await TestServer(simulator: Self.mockMode)
        let quicksync = try await run(t, ["-id", "test-001", "-cluster", "my-cluster", "-service", "my-service", "-taskdef",
                                          #"{"family":"app","containerDefinitions":[]}"#, "-strategy", "quicksync", "-action", "deploy"])
        #expect(quicksync.status == .succeeded, "\(quicksync.error)")
        let canary = try await run(t, ["-id", "test-002", "-cluster", "my-cluster", "-service", "my-service", "-taskdef",
                                       #"{"family":"app"}"#, "-strategy", "canary", "-config", #"{"canary_stages":"10,25,50,100"}"#,
                                       "-action", "deploy"])
        #expect(canary.status == .succeeded, "\(canary.error)")
        let bluegreen = try await run(t, ["-id", "test-003", "-cluster", "my-cluster", "-service", "my-service", "-taskdef",
                                          #"{"family":"app"}"#, "-strategy", "bluegreen", "-action", "deploy"])
        #expect(bluegreen.status == .succeeded, "\(bluegreen.error)")
        let rolling = try await run(t, ["-id", "test-004", "-cluster", "my-cluster", "-service", "my-service", "-taskdef",
                                        #"{"family":"app"}"#, "-strategy", "rolling", "-config", #"{"batch_size":"25"}"#,
                                        "-action", "deploy"])
        #expect(rolling.status == .succeeded, "\(rolling.error)")
        let status = await t.client(["-id", "test-001", "-action", "status"])
        #expect(status.out.contains("Status:      SUCCEEDED"))

        let service = try #require(t.service(cluster: "my-cluster", "my-service"))
        #expect(service.taskSets.count == 1)
        #expect(service.taskSets.first?.taskDefinition.hasSuffix("app:4") == true)
        #expect(t.sim.trafficViolations.isEmpty)
        let metrics = try await t.http("/metrics").body
        for strategy in ["quicksync", "canary", "bluegreen", "rolling"] {
            #expect(metrics.contains(#"ecs_deployments_total{strategy="\#(strategy)",status="succeeded"} 1"#), "\(strategy)")
        }
        try await t.stop()
    }

    /// The seed's verification script as the README shows it: four deployments to one service,
    /// each with -wait, so that each starts when the one before has ended.
    @Test func verificationScriptWithWait() async throws {
        let t = try await TestServer(simulator: Self.mockMode)
        let common = ["-cluster", "my-cluster", "-service", "my-service", "-action", "deploy", "-wait"]
        for (id, strategy, td, config) in [("test-001", "quicksync", #"{"family":"app","containerDefinitions":[]}"#, ""),
                                           ("test-002", "canary", #"{"family":"app"}"#, #"{"canary_stages":"10,25,50,100"}"#),
                                           ("test-003", "bluegreen", #"{"family":"app"}"#, ""),
                                           ("test-004", "rolling", #"{"family":"app"}"#, #"{"batch_size":"25"}"#)] {
            let args = ["-id", id, "-taskdef", td, "-strategy", strategy] + (config.isEmpty ? [] : ["-config", config]) + common
            let r = try await t.driving { await t.client(args) }
            #expect(r.code == 0, "\(id): \(r.text)")
            #expect(r.out.last?.contains("SUCCEEDED") == true, "\(id): \(r.text)")
        }
        try await t.stop()
    }

    /// The strategy commands of the seed's "Quicksync", "Canary", "Blue-Green" and "Rolling"
    /// sections, exactly as written there, one after the other on the same service.
    @Test func strategyCommandsAsTheSeedWritesThem() async throws {
        let t = try await TestServer(simulator: Self.mockMode)
        let cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
        let taskdef = #"{"family":"api","containerDefinitions":[{"name":"app","image":"nginx:latest","memory":512}]}"#
        let common = ["-cluster", cluster, "-service", "api-service", "-taskdef", taskdef]

        let quicksync = try await run(t, ["-id", "deploy-1"] + common + ["-strategy", "quicksync", "-action", "deploy"])
        #expect(quicksync.status == .succeeded, "\(quicksync.error)")

        let changesBeforeCanary = t.sim.weightChanges.count
        let canary = try await run(t, ["-id", "deploy-2"] + common + ["-strategy", "canary", "-config",
                                                                      #"{"canary_stages":"10,25,50,100","stage_timeout":"5m"}"#,
                                                                      "-action", "deploy"])
        #expect(canary.status == .succeeded, "\(canary.error)")
        let names = canary.stages.map(\.name)
        #expect(names.filter { $0.hasPrefix("routeTraffic") }
            == ["routeTraffic(10%)", "routeTraffic(25%)", "routeTraffic(50%)", "routeTraffic(100%)"], "\(names)")
        #expect(names.filter { $0.hasPrefix("bake") }
            == ["bake(5m, canary at 10%)", "bake(5m, canary at 25%)", "bake(5m, canary at 50%)", "bake(5m, canary at 100%)"])
        // The simulator saw the canary's target group take 10, 25, 50 and then 100% of the traffic.
        let canaryGroup = try #require(t.service(cluster: "prod", "api-service")?.primaryTaskSet?.loadBalancers.first?.targetGroupArn)
        let shares = t.sim.weightChanges[changesBeforeCanary...].compactMap { change in
            change.weights.first { $0.targetGroupArn == canaryGroup }?.weight
        }
        #expect(shares == [10, 25, 50, 100])
        let canaryTime = try #require(canary.hasFinishedAt ? canary.finishedAt.date.timeIntervalSince(canary.createdAt.date) : nil)
        #expect(canaryTime >= 4 * 300, "four bakes of 5m: \(canaryTime)s")

        let bluegreen = try await run(t, ["-id", "deploy-3"] + common + ["-strategy", "bluegreen", "-action", "deploy"])
        #expect(bluegreen.status == .succeeded, "\(bluegreen.error)")

        let rolling = try await run(t, ["-id", "deploy-4"] + common + ["-strategy", "rolling", "-config",
                                                                       #"{"batch_size":"25","batch_delay":"2m"}"#, "-action", "deploy"])
        #expect(rolling.status == .succeeded, "\(rolling.error)")
        #expect(rolling.stages.map(\.name).filter { $0.hasPrefix("bake") } == Array(repeating: "bake(2m, batch delay)", count: 3))

        for id in ["deploy-1", "deploy-2", "deploy-3", "deploy-4"] {
            let status = await t.client(["-id", id, "-action", "status"])
            #expect(status.out.contains("Status:      SUCCEEDED"), "\(id): \(status.text)")
        }
        let service = try #require(t.service(cluster: "prod", "api-service"))
        #expect(service.taskSets.count == 1, "\(service.taskSets.map { "\($0.status) \($0.taskDefinition)" })")
        let only = try #require(service.taskSets.first)
        #expect(only.status == "PRIMARY")
        #expect(only.taskDefinition.hasSuffix("task-definition/api:4"), "\(only.taskDefinition)")
        let group = try #require(only.loadBalancers.first?.targetGroupArn)
        let lb = try #require(try t.sim.describeTargetGroups(arns: [group]).first?.loadBalancerArns.first)
        let weights = try t.sim.describeListeners(loadBalancerArn: lb).flatMap { $0.defaultActions.flatMap(\.weights) }
        #expect(weights.filter { $0.weight > 0 }.map(\.targetGroupArn) == [group], "\(weights)")
        #expect(weights.map(\.weight).reduce(0, +) == 100)
        #expect(t.sim.trafficViolations.isEmpty, "\(t.sim.trafficViolations)")
        try await t.stop()
    }

    @Test func approvalWorkflowCommands() async throws {
        let t = try await TestServer(simulator: Self.mockMode)
        let accepted = await t.client(["-id", "deploy-5", "-cluster", "my-cluster", "-service", "my-service", "-taskdef",
                                       #"{"family":"app"}"#, "-strategy", "canary", "-config", #"{"require_approval":"true"}"#,
                                       "-action", "deploy"])
        #expect(accepted.out.first?.hasSuffix("status PENDING_APPROVAL") == true, "\(accepted.text)")
        let approved = await t.client(["-id", "deploy-5", "-action", "approve", "-approver", "ops-team", "-reason", "Passed security review"])
        #expect(approved.code == 0, "\(approved.text)")
        #expect(try await t.waitUntilFinished("deploy-5").status == .succeeded)

        _ = await t.client(["-id", "deploy-6", "-cluster", "my-cluster", "-service", "my-service", "-taskdef", #"{"family":"app"}"#,
                            "-strategy", "canary", "-config", #"{"require_approval":"true"}"#, "-action", "deploy"])
        let rejected = await t.client(["-id", "deploy-6", "-action", "reject", "-approver", "ops-team", "-reason", "Version not ready"])
        #expect(rejected.code == 0, "\(rejected.text)")
        #expect(try await t.status("deploy-6").status == .rejected)
        try await t.stop()
    }
}
