import CloudModel
import DeployAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MotoHarness
import Testing

/// The real `grpc-server` as a separate process, deploying over the AWS client to moto (a
/// cloud that outlives it), killed with SIGKILL at chosen stages and at random moments, and
/// started again on the same history and audit log. Every deployment must end SUCCEEDED or
/// ROLLED_BACK with its whole history, and after each one the cloud must be consistent: one
/// PRIMARY task set, every route's weights summing to 100 on that task set's target group,
/// no orphan task set.
@Suite(.enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")),
       .timeLimit(.minutes(10)))
struct CrashRecoveryTests {
    /// Where a kill lands: when the named stage is running (or done), or after a random pause.
    enum KillPoint: CustomStringConvertible {
        case atStage(String)
        case random
        var description: String {
            switch self {
            case .atStage(let s): "at \(s)"
            case .random: "at random"
            }
        }
    }

    struct Plan {
        let strategy: String
        let config: [String: String]
        let kills: [KillPoint]
        /// Asks for a rollback after the first kill, then kills during the rollback.
        var rollbackOnDemand = false
    }

    @Test func sigkillAtTwentyAndMorePointsLeavesNothingHalfDone() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let estate = try await AWSStrategiesTests.Estate.prepare(moto)
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = try Self.configure(dir, moto: moto, recovery: "resume")
        var seed = UInt64(ProcessInfo.processInfo.environment["CRASH_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...1_000_000))
        print("crash test seed \(seed) (CRASH_SEED=\(seed) repeats it)")
        func random(_ range: ClosedRange<Int>) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return range.lowerBound + Int((seed >> 33) % UInt64(range.count))
        }

        // Bakes of a few seconds, so that a kill lands while the deployment runs even when a busy
        // machine makes each restart slow (a kill after the end still counts as a kill, not as a
        // kill mid-deployment; the test needs 20 of those).
        let canary = ["canary_stages": "50,100", "stage_timeout": "3s"]
        let blueGreen = ["stabilization_time": "3s", "cleanup_delay": "2s"]
        let plans = [
            Plan(strategy: "canary", config: canary, kills: [.atStage("createTaskSet"), .random, .atStage("routeTraffic(50%)"), .random,
                                                             .atStage("bake(3s, canary at 100%)")]),
            Plan(strategy: "bluegreen", config: blueGreen, kills: [.atStage("routeTraffic"), .random, .atStage("promote"), .random]),
            Plan(strategy: "canary", config: canary, kills: [.atStage("routeTraffic(50%)"), .random, .random, .random],
                 rollbackOnDemand: true),
            Plan(strategy: "bluegreen", config: blueGreen, kills: [.atStage("createTaskSet"), .random, .atStage("bake(2s, cleanup"),
                                                                   .atStage("deleteTaskSet")]),
            Plan(strategy: "canary", config: canary, kills: [.random, .atStage("scaleTaskSet"), .random, .atStage("promote"),
                                                             .atStage("deleteTaskSet")]),
            Plan(strategy: "bluegreen", config: blueGreen, kills: [.random, .random, .atStage("waitTaskSetHealthy"), .random,
                                                                   .atStage("bake(3s, stabilization")]),
        ]
        var server = try await ServerProcess.start(environment: environment, in: dir)
        var logs: [String] = []
        defer { if ProcessInfo.processInfo.environment["CRASH_LOG"] != nil { print((logs + [server.output]).joined(separator: "\n----- restart\n")) } }
        var kills = 0
        var midDeployment = 0
        var image = "busybox:1.0"  // what web-ext runs (the seeded worker:1)
        var finished: [(id: String, status: Deployment_V1_DeploymentStatus)] = []
        // The plans once, then again while fewer than 20 kills have landed mid-deployment (a
        // busy machine can make a kill come after the end), up to twice over.
        var n = 0
        while n < plans.count || (midDeployment < 20 && n < 3 * plans.count) {
            let plan = plans[n % plans.count]
            defer { n += 1 }
            let id = "crash-\(n + 1)"
            let newImage = "busybox:1.\(n + 1)"
            let taskdef = Self.taskdef(newImage)
            let json = String(decoding: try JSONSerialization.data(withJSONObject: plan.config, options: [.sortedKeys]), as: UTF8.self)
            let accepted = try await ServerProcess.client(["-server", "127.0.0.1:\(server.grpcPort)", "-id", id, "-cluster", "demo",
                                                           "-service", "web-ext", "-taskdef", taskdef, "-strategy", plan.strategy,
                                                           "-config", json, "-action", "deploy"])
            try #require(accepted.code == 0, "\(accepted.text)")
            var killed = 0
            var points = plan.kills
            if plan.rollbackOnDemand { points += [.random, .random] }
            for (k, point) in points.enumerated() {
                switch point {
                case .atStage(let stage):
                    try await Self.waitFor(stage: stage, id: id, port: server.grpcPort)
                case .random:
                    try await Task.sleep(for: .milliseconds(random(0...1500)))
                }
                server.signal(SIGKILL)
                _ = try await server.exitStatus(within: .seconds(10))
                logs.append("killed \(point) of \(id)\n" + server.output)
                kills += 1
                server = try await ServerProcess.start(environment: environment, in: dir)
                // The new server says when it picked up what the kill interrupted.
                if server.output.contains("picked up 1 unfinished deployment") {
                    killed += 1
                    midDeployment += 1
                }
                if plan.rollbackOnDemand, k == 0 {
                    let rollback = try await ServerProcess.client(["-server", "127.0.0.1:\(server.grpcPort)", "-id", id,
                                                                   "-action", "rollback"])
                    #expect(rollback.code == 0, "\(rollback.text)")
                }
            }
            let d = try await Self.waitUntilFinished(id, port: server.grpcPort)
            #expect([.succeeded, .rolledBack].contains(d.status), "\(id) (\(plan.strategy)) ended \(d.status): \(d.error)")
            if plan.rollbackOnDemand { #expect(d.status == .rolledBack, "\(id): \(d.error)") }
            if d.status == .succeeded { image = newImage }
            finished.append((id, d.status))

            // Its whole history: every event from the acceptance to the outcome, numbered without a gap.
            let events = try await Self.events(id, port: server.grpcPort)
            #expect(events.first?.type == "deployment.accepted")
            #expect(events.map(\.sequence) == Array(1...Int64(events.count)), "\(id): event numbers have a gap")
            #expect(events.last?.status == d.status)
 let recovered = events.filter { $0.type == "deployment.recovered" }.count
            #expect(recovered == killed, "\(id): killed \(killed) times, recovered \(recovered) times: \(events.map { "\($0.type) \($0.stage)" }) \(logs.suffix(killed))")
            try await Self.expectConsistent(estate, image: image, id: id)
        }
        #expect(midDeployment >= 20, "\(kills) kills, \(midDeployment) of them while a deployment ran")
        #expect(finished.count == n)

        // The audit log's chain holds across the kills.
        server.signal(SIGTERM)
        #expect(try await server.exitStatus(within: .seconds(30)) == 0, "\(server.output)")
        let verify = try await ServerProcess.run(["audit", "verify", dir.path + "/data/audit.log"])
        #expect(verify.code == 0, "\(verify.text)")
        let audit = try String(contentsOfFile: dir.path + "/data/audit.log", encoding: .utf8)
        for (id, status) in finished {
            let outcome = status == .succeeded ? "deployment.succeeded" : "deployment.rolled_back"
            #expect(audit.contains(#""deployment_id":"\#(id)""#) && audit.contains(outcome), "\(id) in the audit log")
        }
    }

    /// After a SIGKILL: a deployment waiting for approval still waits and can be approved; `-id`
    /// still names the deployment it named; and with `recovery: rollback` a deployment the
    /// kill interrupted is rolled back from its recorded facts.
    @Test func restartKeepsApprovalsIdempotencyAndRollsBackOnRequest() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let estate = try await AWSStrategiesTests.Estate.prepare(moto)
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = try Self.configure(dir, moto: moto, recovery: "resume")
        var server = try await ServerProcess.start(environment: environment, in: dir)
        func client(_ args: [String]) async throws -> ClientResult {
            try await ServerProcess.client(["-server", "127.0.0.1:\(server.grpcPort)"] + args)
        }
        func restart() async throws {
            server.signal(SIGKILL)
            _ = try await server.exitStatus(within: .seconds(10))
            server = try await ServerProcess.start(environment: environment, in: dir)
        }
        let gated = ["-id", "gate-1", "-cluster", "demo", "-service", "web-ext", "-taskdef", Self.taskdef("busybox:2.1"),
                     "-strategy", "canary", "-config", #"{"canary_stages":"50,100","require_approval":"true","stage_timeout":"1s"}"#,
                     "-action", "deploy"]
        let asked = try await client(gated)
        #expect(asked.out.first?.hasSuffix("status PENDING_APPROVAL") == true, "\(asked.text)")

        try await restart()
        #expect(try await Self.status("gate-1", port: server.grpcPort).status == .pendingApproval)
        let metrics = try await HTTPGet.fetch(host: "127.0.0.1", port: server.httpPort, path: "/metrics").body
        #expect(metrics.contains("ecs_pending_approvals 1"), "\(metrics.prefix(600))")
        // The same id and request: the deployment that exists. The same id, another request: refused.
        let again = try await client(gated)
        #expect(again.code == 0 && again.out.first?.contains("gate-1 already exists") == true, "\(again.text)")
        var other = gated
        other[other.firstIndex(of: "canary")!] = "bluegreen"
        let clash = try await client(other)
        #expect(clash.code != 0 && clash.text.contains("gate-1"), "\(clash.text)")
        let approved = try await client(["-id", "gate-1", "-action", "approve", "-approver", "ops", "-reason", "after a restart"])
        #expect(approved.code == 0, "\(approved.text)")
        let gate = try await Self.waitUntilFinished("gate-1", port: server.grpcPort)
        #expect(gate.status == .succeeded, "\(gate.error)")
        #expect(gate.approval.approver == "ops")
        try await Self.expectConsistent(estate, image: "busybox:2.1", id: "gate-1")

        // recovery: rollback
        _ = try Self.configure(dir, moto: moto, recovery: "rollback")
        try await restart()
        let started = try await client(["-id", "rb-1", "-cluster", "demo", "-service", "web-ext", "-taskdef", Self.taskdef("busybox:2.2"),
                                        "-strategy", "canary", "-config", #"{"canary_stages":"50,100","stage_timeout":"5s"}"#])
        #expect(started.code == 0, "\(started.text)")
        try await Self.waitFor(stage: "bake", id: "rb-1", port: server.grpcPort)
        try await restart()
        #expect(server.output.contains("picked up 1 unfinished deployment(s) (recovery: rollback)"), "\(server.output)")
        let rolledBack = try await Self.waitUntilFinished("rb-1", port: server.grpcPort)
        #expect(rolledBack.status == .rolledBack, "\(rolledBack.error)")
        #expect(rolledBack.error.contains("recovery: rollback"), "\(rolledBack.error)")
        try await Self.expectConsistent(estate, image: "busybox:2.1", id: "rb-1")
        server.signal(SIGTERM)
        #expect(try await server.exitStatus(within: .seconds(30)) == 0)
    }

    /// One PRIMARY task set running `image`, every route sending 100% to its target group, no other task set.
    static func expectConsistent(_ estate: AWSStrategiesTests.Estate, image: String, id: String) async throws {
        let sets = try await estate.ecs.describeTaskSets(cluster: "demo", service: "web-ext", taskSets: nil)
        #expect(sets.count == 1, "\(id): task sets \(sets.map { "\($0.id) \($0.status) \($0.taskDefinition)" })")
        let set = try #require(sets.first)
        #expect(set.status == "PRIMARY" && set.scale.value == 100, "\(id): \(set.status) at \(set.scale.value)%")
        let service = try #require(try await estate.ecs.describeServices(cluster: "demo", services: ["web-ext"]).first)
        #expect(service.primaryTaskSet?.id == set.id)
        #expect(try await estate.ecs.describeTaskDefinition(set.taskDefinition).images.map(\.image) == [image], "\(id)")
        let targetGroup = try #require(set.loadBalancers.first?.targetGroupArn)
        let listener = try #require(try await estate.elb.describeListeners(loadBalancerArn: estate.loadBalancer)
            .first { $0.listenerArn == estate.listener })
        let rule = try #require(try await estate.elb.describeRules(listenerArn: estate.listener).first { $0.ruleArn == estate.rule })
        for (name, weights) in [("listener", AWSStrategiesTests.Estate.weights(listener.defaultActions)),
                                ("rule", AWSStrategiesTests.Estate.weights(rule.actions))] {
            #expect(weights.values.reduce(0, +) == 100, "\(id): \(name) weights \(weights)")
            #expect(weights[targetGroup] == 100, "\(id): \(name) sends \(weights) but the task set is behind \(targetGroup)")
        }
    }

    /// Writes `dir/config.yaml` for a server on moto with its history and audit log in
    /// `dir/data`, and returns the environment that runs it (AWS mode, static credentials).
    static func configure(_ dir: URL, moto: MotoServer, recovery: String) throws -> [String: String] {
        let config = dir.appendingPathComponent("config.yaml")
        try """
            server: {host: 127.0.0.1, port: 0, metrics_port: 0, graceful_timeout: 2s}
            aws: {endpoint_url: "\(moto.endpoint)", max_retries: 2, retry_delay: 10ms}
            strategy: {timeout: 60s, poll_interval: 100ms}
            storage: {path: \(dir.path)/data/history.sqlite}
            audit: {path: \(dir.path)/data/audit.log}
            recovery: \(recovery)
            """.write(to: config, atomically: true, encoding: .utf8)
        return ["CONFIG_FILE": config.path, "AWS_ACCESS_KEY_ID": "AKIDMOTOTEST", "AWS_SECRET_ACCESS_KEY": "secret",
                "AWS_REGION": "us-east-1", "HOME": dir.path, "AWS_EC2_METADATA_DISABLED": "true"]
    }

    /// The seeded `worker` definition with another image.
    static func taskdef(_ image: String) -> String {
        #"{"family":"worker","containerDefinitions":[{"name":"worker","image":"\#(image)","memory":128,"#
            + #""portMappings":[{"containerPort":80,"protocol":"tcp"}]}]}"#
    }

    // MARK: Reading the server

    static func withAPI<T: Sendable>(_ port: Int,
                                     _ body: @escaping @Sendable (Deployment_V1_DeploymentService.Client<HTTP2ClientTransport.Posix>) async throws -> T)
        async throws -> T {
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            try await body(Deployment_V1_DeploymentService.Client(wrapping: client))
        }
    }

    static func status(_ id: String, port: Int) async throws -> Deployment_V1_Deployment {
        try await withAPI(port) { api in
            var request = Deployment_V1_GetStatusRequest()
            request.deploymentID = id
            return try await api.getStatus(request)
        }
    }

    static func isFinal(_ d: Deployment_V1_Deployment) -> Bool {
        [.succeeded, .failed, .rolledBack, .rejected, .interrupted].contains(d.status)
    }

    /// Returns once the stage whose name starts with `stage` has started (or the deployment ended).
    static func waitFor(stage: String, id: String, port: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let d = try await status(id, port: port)
            if isFinal(d) { return }
            if d.stages.contains(where: { $0.name.hasPrefix(stage) && [.stageRunning, .stageSucceeded, .stageFailed].contains($0.status) }) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("\(id) did not reach \(stage) within 60 s")
    }

    static func waitUntilFinished(_ id: String, port: Int) async throws -> Deployment_V1_Deployment {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let d = try await status(id, port: port)
            if isFinal(d) { return d }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("\(id) did not finish within 120 s")
    }

    /// Every event of a finished deployment (the watch replays them, then ends).
    static func events(_ id: String, port: Int) async throws -> [Deployment_V1_DeploymentEvent] {
        try await withAPI(port) { api in
            var request = Deployment_V1_WatchRequest()
            request.deploymentID = id
            return try await api.watchDeployment(request) { response in
                var events: [Deployment_V1_DeploymentEvent] = []
                for try await event in response.messages { events.append(event) }
                return events
            }
        }
    }
}
