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
