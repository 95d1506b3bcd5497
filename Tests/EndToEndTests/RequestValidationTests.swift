import DeployAPI
import Foundation
import GRPCCore
import Testing

/// Bad input gets one clear line naming the field, and the server keeps serving.
@Suite struct RequestValidationTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#

    func deploy(_ t: TestServer, id: String = "x", cluster: String = "prod", service: String = "web",
                taskdef: String = taskdef, extra: [String] = []) async -> ClientResult {
        await t.client(["-id", id, "-cluster", cluster, "-service", service, "-taskdef", taskdef] + extra)
    }

    @Test(arguments: [
        (#"{"containerDefinitions":[]}"#, "error: taskdef.family: is required (INVALID_ARGUMENT)"),
        (#"{"family":42}"#, "error: taskdef.family: must be a string, not number (INVALID_ARGUMENT)"),
        (#"{"family":"web","containerDefinitions":{}}"#,
         "error: taskdef.containerDefinitions: must be an array, not object (INVALID_ARGUMENT)"),
        (#"{"family":"web","containerDefinitions":[{"name":"app"}]}"#,
         "error: taskdef.containerDefinitions[0].image: is required (INVALID_ARGUMENT)"),
        (#"["web"]"#, "error: taskdef: must be a JSON object, not array (INVALID_ARGUMENT)"),
    ])
    func invalidTaskDefinitionNamesTheField(taskdef: String, expected: String) async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let result = await deploy(t, taskdef: taskdef)
        #expect(result.code == 1)
        #expect(result.err == [expected])
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:1") == true)
        try await t.stop()
    }

    @Test func malformedJSONIsRefused() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let result = await deploy(t, taskdef: #"{"family":"web","#)
        #expect(result.code == 1)
        #expect(result.err.first?.hasPrefix("error: taskdef: malformed JSON") == true, "\(result.text)")
        // The server still serves.
        #expect(await deploy(t, id: "ok").code == 0)
        #expect(try await t.waitUntilFinished("ok").status == .succeeded)
        try await t.stop()
    }

    /// Durations and ports from outside are bounded: each is refused naming its key, and the
    /// server keeps serving (these trapped in duration and sleep arithmetic before).
    @Test func outOfRangeDurationsAndPortsAreRefused() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        for (key, value) in [("timeout", "inf"), ("stage_timeout", "1e30"), ("batch_delay", "99999999999999999999h"),
                             ("approval_timeout", "1e18"), ("hook_timeout", "3651d"), ("poll_interval", "nan"),
                             ("health_check_url", "http://127.0.0.1:99999/health")] {
            let r = await deploy(t, extra: ["-config", #"{"\#(key)":"\#(value)","require_approval":"true"}"#])
            #expect(r.code == 1 && r.err.first?.hasPrefix("error: config.\(key): ") == true && r.text.contains("(INVALID_ARGUMENT)"),
                    "\(key)=\(value): \(r.text)")
        }
        #expect(await deploy(t, id: "fine").code == 0)
        try await t.stop()
    }

    @Test func unknownActionIsRefused() async throws {
        let t = try await TestServer()
        let result = await t.client(["-id", "x", "-action", "explode"])
        #expect(result.code == 2)
        #expect(result.err == ["error: unknown action 'explode' (use one of: deploy, status, rollback, approve, reject, list, watch, drift, release, plan, windows)"])
        try await t.stop()
    }

    @Test func unknownStrategyAndConfigKeyAreRefused() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let strategy = await deploy(t, extra: ["-strategy", "yolo"])
        #expect(strategy.err == ["error: strategy: unknown strategy 'yolo' (available: quicksync, canary, bluegreen, rolling, linear) (INVALID_ARGUMENT)"])
        let key = await deploy(t, extra: ["-config", #"{"timeuot":"5m"}"#])
        #expect(key.err.first?.hasPrefix("error: config.timeuot: unknown key (known keys: alarms, analysis, approval_timeout, approve_at, bake_time, batch_delay,") == true, "\(key.text)")
        let value = await deploy(t, extra: ["-config", #"{"timeout":"soon"}"#])
        #expect(value.err == ["error: config.timeout: 'soon' is not a duration (e.g. 30s, 5m, 1h) up to 3650d (INVALID_ARGUMENT)"])
        let json = await deploy(t, extra: ["-config", "{timeout"])
        #expect(json.code == 2)
        #expect(json.err == ["error: -config: malformed JSON"])
        try await t.stop()
    }

    @Test(arguments: [
        ("50,10", "error: config.canary_stages: stages must ascend: 10 comes after 50 (INVALID_ARGUMENT)"),
        ("0,100", "error: config.canary_stages: '0' is not a percentage in 1...100 (e.g. \"10,25,50,100\") (INVALID_ARGUMENT)"),
        ("10,50", "error: config.canary_stages: the last stage must be 100, not 50 (INVALID_ARGUMENT)"),
    ])
    func badCanaryStagesAreRefused(stages: String, expected: String) async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let result = await deploy(t, extra: ["-strategy", "canary", "-config", #"{"canary_stages":""# + stages + #""}"#])
        #expect(result.code == 1)
        #expect(result.err == [expected], "\(result.text)")
        #expect(t.sim.callCounts["ecs:RegisterTaskDefinition"] == nil)
        let status = await t.client(["-id", "x", "-action", "status"])
        #expect(status.err == ["error: no deployment or release x (NOT_FOUND)"], "nothing was recorded")
        try await t.stop()
    }

    @Test func missingServiceAndClusterAreNotFound() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let service = await deploy(t, service: "nope")
        #expect(service.err == ["error: service nope not found in cluster prod (NOT_FOUND)"])
        let cluster = await deploy(t, cluster: "nowhere")
        #expect(cluster.err == ["error: cluster nowhere not found (NOT_FOUND)"])
        let status = await t.client(["-id", "ghost", "-action", "status"])
        #expect(status.err == ["error: no deployment or release ghost (NOT_FOUND)"])
        try await t.stop()
    }

    @Test func oversizedRequestIsRefused() async throws {
        let t = try await TestServer { $0.maxRequestBytes = 4096 }
        try t.seedService(name: "web")
        let big = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx","x":""# + String(repeating: "a", count: 10000) + "\"}]}"
        let result = await deploy(t, taskdef: big)
        #expect(result.code == 1)
        #expect(result.err.first?.contains("RESOURCE_EXHAUSTED") == true, "\(result.text)")
        #expect(await deploy(t, id: "ok").code == 0)
        #expect(try await t.waitUntilFinished("ok").status == .succeeded)
        try await t.stop()
    }

    @Test func secondDeploymentToABusyServiceIsRefusedOthersRunConcurrently() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        try t.seedService(name: "api")
        #expect(await deploy(t, id: "first").code == 0)
        let second = await deploy(t, id: "second")
        #expect(second.code == 1)
        #expect(second.err == ["error: service prod/web already has a deployment in progress: first; wait for it to end "
            + "(grpc-client -action watch -id first), or deploy with -wait to follow each deployment to its end (FAILED_PRECONDITION)"])
        let arn = await deploy(t, id: "third", service: "arn:aws:ecs:us-east-1:123456789012:service/prod/web")
        #expect(arn.err.first?.contains("in progress: first") == true, "an ARN names the same service")
        let other = await deploy(t, id: "other", service: "api",
                                 taskdef: #"{"family":"api","containerDefinitions":[{"name":"app","image":"api:2"}]}"#)
        #expect(other.code == 0)
        #expect(try await t.waitUntilFinished("first").status == .succeeded)
        #expect(try await t.waitUntilFinished("other").status == .succeeded)
        // Once the first is done, the service takes a new deployment.
        #expect(await deploy(t, id: "second").code == 0)
        #expect(try await t.waitUntilFinished("second").status == .succeeded)
        try await t.stop()
    }

    @Test func idIsTheIdempotencyKey() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        #expect(await deploy(t, id: "same").code == 0)
        let again = await deploy(t, id: "same")
        #expect(again.code == 0)
        #expect(again.out.first?.hasPrefix("Deployment same already exists") == true)
        #expect(try await t.waitUntilFinished("same").status == .succeeded)
        let afterwards = await deploy(t, id: "same")
        #expect(afterwards.out.first?.hasPrefix("Deployment same already exists") == true)
        let different = await deploy(t, id: "same", taskdef: #"{"family":"web","containerDefinitions":[{"name":"app","image":"other"}]}"#)
        #expect(different.code == 1)
        #expect(different.err.first?.contains("ALREADY_EXISTS") == true)
        // Only one new revision was registered.
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:2") == true)
        try await t.stop()
    }

    @Test func listShowsDeploymentsNewestFirst() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        try t.seedService(name: "api")
        _ = await deploy(t, id: "a")
        _ = await deploy(t, id: "b", service: "api", taskdef: #"{"family":"api","containerDefinitions":[{"name":"app","image":"api:2"}]}"#)
        _ = try await t.waitUntilFinished("a")
        _ = try await t.waitUntilFinished("b")
        let all = await t.client(["-action", "list"])
        #expect(all.out.first?.hasPrefix("ID") == true)
        #expect(all.out.count == 3)
        let filtered = await t.client(["-action", "list", "-service", "api"])
        #expect(filtered.out.count == 2)
        #expect(filtered.out.last?.hasPrefix("b ") == true)
        try await t.stop()
    }

    @Test func approvalActionsOnADeploymentNotWaitingAreRefused() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        _ = await deploy(t, id: "d")
        _ = try await t.waitUntilFinished("d")
        let approve = await t.client(["-id", "d", "-action", "approve", "-approver", "ops"])
        #expect(approve.err == ["error: deployment d is not waiting for approval (status SUCCEEDED) (FAILED_PRECONDITION)"])
        try await t.stop()
    }
}
