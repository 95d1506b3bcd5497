import AWSAuth
import AWSCloud
import ClientCLI
import CloudModel
import Foundation
import Logging
import MotoHarness
import Server
import Testing

/// Canary and blue-green on task sets, end to end over the AWS client: the real server outside
/// mock mode with its AWS client pointed at moto, driven by the real client. Each test gives
/// the seeded EXTERNAL service `web-ext` a PRIMARY task set on `worker:1` behind `web-blue`, and
/// the listener a weighted forward [blue 100, green 0]; after the deployment it reads moto and
/// finds one PRIMARY task set on `worker:2` behind `web-green`, with every route's traffic on it.
@Suite(.enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")),
       .timeLimit(.minutes(5)))
struct AWSStrategiesTests {
    /// Also against moto patched only for what it does not model (`.dynamics`): its answers
    /// lack computedDesiredCount, createdAt and startedAt, as an SDK allows.
    @Test(arguments: [MotoPatches.full, .dynamics])
    func canaryShiftsTrafficInStagesToTheNewTaskSet(patches: MotoPatches) async throws {
        let moto = try await MotoServer.start(patches: patches)
        defer { moto.stop() }
        let estate = try await Estate.prepare(moto)
        let outcome = try await deploy(moto, id: "canary-1", strategy: "canary",
                                       config: ["canary_stages": "50,100", "stage_timeout": "1s"])
        #expect(outcome.deploy.code == 0, "\(outcome.deploy.text)")
        #expect(outcome.deploy.out.last?.contains("SUCCEEDED") == true, "\(outcome.deploy.text)")
        // It went through both canary stages: 50% (a half-size task set), then 100%.
        for stage in ["createTaskSet(new, 50%)", "routeTraffic(50%)", "scaleTaskSet(new, 100%)", "routeTraffic(100%)",
                      "promote(new)", "deleteTaskSet(previous)"] {
            #expect(outcome.stages.contains("SUCCEEDED  \(stage)"), "\(stage) in \(outcome.stages)")
        }
        #expect(outcome.calls("UpdateTaskSet") == 1, outcome.apiCalls)
        // Listener and rule, once at 50% and once at 100%.
        #expect(outcome.calls("ModifyListener") == 2 && outcome.calls("ModifyRule") == 2, outcome.apiCalls)
        try await estate.expectDeployed(image: "busybox:1.37")
    }

    @Test(arguments: [MotoPatches.full, .dynamics])
    func blueGreenSwitchesAllTrafficToGreen(patches: MotoPatches) async throws {
        let moto = try await MotoServer.start(patches: patches)
        defer { moto.stop() }
        let estate = try await Estate.prepare(moto)
        let outcome = try await deploy(moto, id: "bluegreen-1", strategy: "bluegreen",
                                       config: ["stabilization_time": "1s", "cleanup_delay": "1s"])
        #expect(outcome.deploy.code == 0, "\(outcome.deploy.text)")
        #expect(outcome.deploy.out.last?.contains("SUCCEEDED") == true, "\(outcome.deploy.text)")
        for stage in ["createTaskSet(new, 100%)", "waitTaskSetHealthy(new)", "routeTraffic(100%)", "bake(1s, stabilization)",
                      "promote(new)", "bake(1s, cleanup delay)", "deleteTaskSet(previous)"] {
            #expect(outcome.stages.contains("SUCCEEDED  \(stage)"), "\(stage) in \(outcome.stages)")
        }
        // One switch: no scaling, the listener and the rule each modified once.
        #expect(outcome.calls("UpdateTaskSet") == 0, outcome.apiCalls)
        #expect(outcome.calls("ModifyListener") == 1 && outcome.calls("ModifyRule") == 1, outcome.apiCalls)
        try await estate.expectDeployed(image: "busybox:1.37")
    }

    // MARK: Deploying through the real server and client

    struct Outcome {
        /// The client's `-action deploy -wait`.
        let deploy: ClientResult
        /// The client's `-action status` afterwards: one line per stage.
        let stages: String
        /// The server's /metrics text.
        let metrics: String

        /// The metrics' lines that count AWS API calls.
        var apiCalls: Comment {
            Comment(rawValue: metrics.split(separator: "\n").filter { $0.hasPrefix("ecs_aws_api_calls_total{") }.joined(separator: "\n"))
        }

        /// AWS API calls the server made to `operation` (any service).
        func calls(_ operation: String) -> Int {
            metrics.split(separator: "\n")
                .filter { $0.hasPrefix("ecs_aws_api_calls_total{") && $0.contains(#"operation="\#(operation)""#) }
                .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
                .reduce(0) { $0 + Int($1) }
        }
    }

    /// Starts the server on moto, deploys a new revision of `worker` (another image) to
    /// `web-ext` and waits for the end, then shuts the server down (also when a step throws).
    func deploy(_ moto: MotoServer, id: String, strategy: String, config: [String: String]) async throws -> Outcome {
        var serverConfig = ServerConfig()
        serverConfig.host = "127.0.0.1"
        serverConfig.port = 0
        serverConfig.metricsPort = 0
        serverConfig.endpointURL = moto.endpoint
        serverConfig.maxRetries = 2
        serverConfig.retryDelay = .milliseconds(10)
        serverConfig.deployment.pollInterval = .milliseconds(100)
        // A stage that cannot finish fails the test in a minute, not in the default ten.
        serverConfig.deployment.timeout = .seconds(60)
        var logger = Logger(label: "aws-strategies-test")
        logger.logLevel = .critical
        let environment = ["AWS_ACCESS_KEY_ID": "AKIDMOTOTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
                           "HOME": FileManager.default.temporaryDirectory.path, "AWS_EC2_METADATA_DISABLED": "true"]
        let target = try ServerCommand.makeCloud(serverConfig, environment: environment, logger: logger)
        let server = try DeploymentServer(config: serverConfig, cloud: target.cloud, clock: target.clock, logger: logger,
                                          preflight: target.preflight)
        let running = Task { try await server.run() }
        func stop() async throws {
            await server.shutdown()
            try await running.value
        }
        do {
            let port = try await server.grpcPort()
            func client(_ args: [String]) async -> ClientResult {
                let output = CapturedOutput()
                let code = await ClientCLI.run(["-server", "127.0.0.1:\(port)"] + args, output: output)
                return ClientResult(code: code, out: output.outLines, err: output.errLines)
            }
            let taskdef = #"{"family":"worker","containerDefinitions":[{"name":"worker","image":"busybox:1.37","memory":128,"#
                + #""portMappings":[{"containerPort":80,"protocol":"tcp"}]}]}"#
            let configJSON = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]),
                                    as: UTF8.self)
            let deployed = await client(["-id", id, "-cluster", "demo", "-service", "web-ext", "-taskdef", taskdef,
                                         "-strategy", strategy, "-config", configJSON, "-action", "deploy", "-wait"])
            let status = await client(["-id", id, "-action", "status"])
            let outcome = Outcome(deploy: deployed, stages: status.text, metrics: server.metrics.render())
            try await stop()
            return outcome
        } catch {
            try? await stop()
            throw error
        }
    }

    // MARK: The estate in moto

    /// The seeded estate, read and changed straight through our AWS clients (no server).
    struct Estate {
        let ecs: ECSClient
        let elb: ELBClient
        let blue: String, green: String
        let loadBalancer: String, listener: String, rule: String
        let previousTaskSet: String
        /// moto's answers carry computedDesiredCount (full patches) or leave it out.
        let reportsDesired: Bool

        /// Gives `web-ext` a PRIMARY task set on `worker:1` behind the blue target group, and
        /// the listener a weighted forward with blue at 100 and green at 0 (the rule keeps its
        /// plain forward to blue).
        static func prepare(_ moto: MotoServer) async throws -> Estate {
            let credentials = EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": "AKIDREADER",
                                                                          "AWS_SECRET_ACCESS_KEY": "x"])
            let factory = AWSCloudFactory(environment: try moto.environment(), credentials: credentials)
            let ecs = factory.ecs, elb = factory.elb
            let blue = moto.string("blueTargetGroupArn"), green = moto.string("greenTargetGroupArn")
            let created = try await ecs.createTaskSet(CreateTaskSetInput(
                cluster: "demo", service: "web-ext", taskDefinition: moto.string("workerTaskDefinitionArn"), externalId: "seed",
                scale: Scale(value: 100), loadBalancers: [LoadBalancerRef(targetGroupArn: blue, containerName: "worker", containerPort: 80)]))
            _ = try await ecs.updateServicePrimaryTaskSet(cluster: "demo", service: "web-ext", primaryTaskSet: created.id)
            let weighted = [WeightedTargetGroup(targetGroupArn: blue, weight: 100), WeightedTargetGroup(targetGroupArn: green, weight: 0)]
            let listener = try await elb.modifyListener(listenerArn: moto.string("listenerArn"), defaultActions: [.forward(weighted)])
            #expect(listener.defaultActions.first?.weights == weighted)
            let estate = Estate(ecs: ecs, elb: elb, blue: blue, green: green, loadBalancer: moto.string("loadBalancerArn"),
                                listener: moto.string("listenerArn"), rule: moto.string("ruleArn"), previousTaskSet: created.id,
                                reportsDesired: moto.patches == .full)
            // What moto shows before the deployment: the old task set's 4 tasks are blue's targets.
            let before = try #require(try await ecs.describeServices(cluster: "demo", services: ["web-ext"]).first)
            #expect(before.primaryTaskSet?.id == created.id && before.primaryTaskSet?.computedDesiredCount == (moto.patches == .full ? 4 : nil))
            #expect(try await estate.healthyTargets(blue) >= 4)
            #expect(try await estate.healthyTargets(green) == 0)
            return estate
        }

        func healthyTargets(_ targetGroup: String) async throws -> Int {
            try await elb.describeTargetHealth(targetGroupArn: targetGroup).filter { $0.state == "healthy" }.count
        }

        /// Weight by target group over a route's forward actions.
        static func weights(_ actions: [ListenerAction]) -> [String: Int] {
            var out: [String: Int] = [:]
            for action in actions where action.type == "forward" {
                for group in action.weights { out[group.targetGroupArn, default: 0] += group.weight }
            }
            return out
        }

        /// One task set, PRIMARY, on `worker:2` with `image`, behind green; the listener and
        /// the rule send green 100 and blue nothing; the old task set and its targets are gone.
        func expectDeployed(image: String) async throws {
            let sets = try await ecs.describeTaskSets(cluster: "demo", service: "web-ext", taskSets: nil)
            #expect(sets.count == 1, "\(sets.map { "\($0.status) \($0.taskDefinition)" })")
            let set = try #require(sets.first)
            #expect(set.status == "PRIMARY")
            #expect(set.taskDefinition.hasSuffix(":task-definition/worker:2"), "\(set.taskDefinition)")
            #expect(set.loadBalancers.map(\.targetGroupArn) == [green])
            #expect(set.loadBalancers.first?.containerName == "worker" && set.loadBalancers.first?.containerPort == 80)
            #expect(set.scale.value == 100 && set.computedDesiredCount == (reportsDesired ? 4 : nil) && set.runningCount == 4)
            #expect(set.id != previousTaskSet)

            let service = try #require(try await ecs.describeServices(cluster: "demo", services: ["web-ext"]).first)
            #expect(service.primaryTaskSet?.id == set.id)
            #expect(service.taskSets.map(\.id) == [set.id])
            let td = try await ecs.describeTaskDefinition(set.taskDefinition)
            #expect(td.images.map(\.image) == [image])

            let listener = try #require(try await elb.describeListeners(loadBalancerArn: loadBalancer).first { $0.listenerArn == self.listener })
            let listenerWeights = Self.weights(listener.defaultActions)
            #expect(listenerWeights[green] == 100 && (listenerWeights[blue] ?? 0) == 0, "listener: \(listenerWeights)")
            let rule = try #require(try await elb.describeRules(listenerArn: self.listener).first { $0.ruleArn == self.rule })
            let ruleWeights = Self.weights(rule.actions)
            #expect(ruleWeights[green] == 100 && (ruleWeights[blue] ?? 0) == 0, "rule: \(ruleWeights)")

            // Green holds the new task set's 4 tasks; blue only the seeded stand-alone target.
            let greenTargets = try await elb.describeTargetHealth(targetGroupArn: green)
            #expect(greenTargets.count == 4 && greenTargets.allSatisfy { $0.state == "healthy" && $0.port == 80 }, "\(greenTargets)")
            let blueTargets = try await elb.describeTargetHealth(targetGroupArn: blue)
            #expect(blueTargets.map(\.targetId) == ["10.0.1.10"], "\(blueTargets)")
        }
    }
}
