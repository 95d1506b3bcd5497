import AWSAuth
import AWSCloud
import CloudModel
import ClientCLI
import Foundation
import Logging
import MotoHarness
import Server
import Testing

/// `grpc-server simulate`: the simulator as a local AWS endpoint, driven over HTTP by this
/// server in AWS mode (through its real AWS client), by our ECS client, and by the AWS CLI and
/// boto3 unmodified.
@Suite struct SimulateEndpointTests {
    /// `grpc-server simulate -port 0` in a folder of its own: services created on the fly with
    /// `controller` (EXTERNAL ones behind a load balancer), time at 200x (a 60 s rollout in 0.3 s).
    /// `more` adds lines under `mock:` (YAML, indented as if at the top level).
    static func simulator(controller: String = "ecs", more: String = "", arguments: [String] = []) async throws -> (ServerProcess, URL) {
        let dir = try ServerProcess.workingDirectory()
        try """
            server:
              host: 127.0.0.1
            storage:
              path: \(dir.path)/data/ecs-deploy.sqlite
            mock:
              controller: \(controller)
              speedup: 200
            \(more.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            """.write(to: dir.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        return (try await ServerProcess.simulate(arguments, in: dir), dir)
    }

    static func endpoint(_ sim: ServerProcess) -> String { "http://127.0.0.1:\(sim.httpPort)" }

    static let awsEnvironment = ["AWS_ACCESS_KEY_ID": "AKIDSIMULATE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
                                 "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"]

    static func cloud(_ sim: ServerProcess) throws -> Cloud {
        let environment = try AWSEnvironment(environment: Self.awsEnvironment, configuredRegion: nil, configuredEndpoint: Self.endpoint(sim))
        return AWSCloudFactory(environment: environment, credentials: EnvironmentCredentialProvider(environment: Self.awsEnvironment))
            .makeRawCloud()
    }

    func cloud(_ sim: ServerProcess) throws -> Cloud { try Self.cloud(sim) }

    func awsModeServer(_ sim: ServerProcess) async throws -> (DeploymentServer, Task<Void, any Error>, Int) {
        try await Self.awsModeServer(sim)
    }

    /// The server outside mock mode, its AWS client pointed at the simulator.
    static func awsModeServer(_ sim: ServerProcess, configure: (inout ServerConfig) -> Void = { _ in })
        async throws -> (DeploymentServer, Task<Void, any Error>, Int) {
        var config = ServerConfig()
        config.host = "127.0.0.1"
        config.port = 0
        config.metricsPort = 0
        config.endpointURL = Self.endpoint(sim)
        config.deployment.pollInterval = .milliseconds(50)
        configure(&config)
        var logger = Logger(label: "simulate-test")
        logger.logLevel = .critical
        let environment = Self.awsEnvironment.merging(["HOME": FileManager.default.temporaryDirectory.path]) { a, _ in a }
        let target = try ServerCommand.makeCloud(config, environment: environment, logger: logger)
        let server = try DeploymentServer(config: config, cloud: target.cloud, clock: target.clock, logger: logger, preflight: target.preflight)
        let task = Task { try await server.run() }
        return (server, task, try await server.grpcPort())
    }

    func client(_ port: Int, _ args: [String]) async -> ClientResult { await Self.client(port, args) }

    static func client(_ port: Int, _ args: [String]) async -> ClientResult {
        let output = CapturedOutput()
        let code = await ClientCLI.run(["-server", "127.0.0.1:\(port)"] + args, output: output)
        return ClientResult(code: code, out: output.outLines, err: output.errLines)
    }

    @Test func ourClientReadsAndChangesTheSimulatorOverTheWire() async throws {
        let (sim, dir) = try await Self.simulator()
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let cloud = try cloud(sim)
        let me = try await cloud.identity.getCallerIdentity()
        #expect(me.account == "123456789012" && me.arn.hasSuffix(":user/simulator"), "\(me)")
        // Named for the first time: created on the fly, as in mock mode.
        let before = try #require(try await cloud.ecs.describeServices(cluster: "demo", services: ["web"]).first)
        #expect(before.deploymentController == .ecs && before.desiredCount > 0 && before.deployments.count == 1, "\(before)")
        let live = try await cloud.ecs.describeTaskDefinition(try #require(before.taskDefinition))
        let registered = try await cloud.ecs.registerTaskDefinition(live.withImage("nginx:1.28"))
        #expect(registered.revision == (live.revision ?? 0) + 1)
        let updated = try await cloud.ecs.updateService(UpdateServiceInput(cluster: "demo", service: "web", taskDefinition: registered.arn))
        #expect(updated.primaryDeployment?.taskDefinition == registered.arn && updated.deployments.count == 2, "\(updated.deployments)")
        var service = updated
        for _ in 0..<200 where service.deployments.count > 1 || service.runningCount != service.desiredCount {
            try await Task.sleep(for: .milliseconds(20))
            service = try #require(try await cloud.ecs.describeServices(cluster: "demo", services: ["web"]).first)
        }
        #expect(service.deployments.map(\.taskDefinition) == [registered.arn!] && service.runningCount == service.desiredCount,
                "\(service.deployments)")
        let tasks = try await cloud.ecs.describeTasks(cluster: "demo", tasks: try await cloud.ecs.listTasks(cluster: "demo", serviceName: "web",
                                                                                                       startedBy: nil))
        #expect(tasks.contains { $0.taskDefinitionArn == registered.arn && $0.lastStatus == "RUNNING" }, "\(tasks.map(\.lastStatus))")
        // What the cloud refuses comes back as AWS says it, with its code.
        await #expect(throws: CloudError.self) { _ = try await cloud.ecs.describeTaskDefinition("nothing-here:9") }
        // A request on the endpoint may ask anything: the simulator keeps AWS's bounds.
        do {
            _ = try await cloud.ecs.updateService(UpdateServiceInput(cluster: "demo", service: "web", desiredCount: 100_000))
            Issue.record("100000 tasks were accepted")
        } catch let error as CloudError {
            #expect(error.code == "InvalidParameterException" && error.message.contains("at most 5000"), "\(error)")
        }
    }

    @Test func theServerInAWSModeDeploysAndRollsBackThroughTheSimulator() async throws {
        let (sim, dir) = try await Self.simulator()
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let (server, task, port) = try await awsModeServer(sim)
        let good = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:1.28"}]}"#
        let deployed = await client(port, ["-id", "w1", "-cluster", "demo", "-service", "web", "-taskdef", good,
                                           "-strategy", "rolling", "-action", "deploy", "-wait"])
        #expect(deployed.code == 0 && deployed.out.last?.contains("SUCCEEDED") == true, "\(deployed.text)\n\(sim.output)")
        // An image whose health checks fail: the rollout never gets healthy; the deployment is
        // rolled back to the revision that ran.
        let bad = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:v3-unhealthy"}]}"#
        let failed = await client(port, ["-id", "w2", "-cluster", "demo", "-service", "web", "-taskdef", bad, "-strategy", "rolling",
                                         "-config", #"{"stage_timeout":"10m"}"#, "-action", "deploy", "-wait"])
        #expect(failed.code != 0, "\(failed.text)")
        let record = try await server.engine.status(id: "w2")
        #expect(record.status == .rolledBack, "\(record.status) \(record.error)")
        let service = try #require(try await cloud(sim).ecs.describeServices(cluster: "demo", services: ["web"]).first)
        let running = try await cloud(sim).ecs.describeTaskDefinition(try #require(service.taskDefinition))
        #expect(running.images.map(\.image) == ["nginx:1.28"], "\(service)")
        let metrics = server.metrics.render()
        #expect(metrics.contains(#"ecs_aws_api_calls_total{service="ecs",operation="UpdateService"}"#), "\(metrics)")
        await server.shutdown()
        try await task.value
    }

    /// Canaries on an EXTERNAL service: task sets and the listener's weights over the wire
    /// (ECS and ELBv2); an unhealthy canary is rolled back with the traffic first.
    @Test func aCanaryRunsAndRollsBackOverECSAndELBv2() async throws {
        let (sim, dir) = try await Self.simulator(controller: "external")
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let (server, task, port) = try await awsModeServer(sim)
        let config = #"{"canary_stages":"50,100","stage_timeout":"1s"}"#
        let good = #"{"family":"shop","containerDefinitions":[{"name":"app","image":"nginx:1.28"}]}"#
        let deployed = await client(port, ["-id", "c1", "-cluster", "demo", "-service", "shop", "-taskdef", good,
                                           "-strategy", "canary", "-config", config, "-action", "deploy", "-wait"])
        #expect(deployed.code == 0 && deployed.out.last?.contains("SUCCEEDED") == true, "\(deployed.text)\n\(sim.output)")
        let cloud = try cloud(sim)
        func state() async throws -> (sets: [TaskSet], weights: [String: Int]) {
            let service = try #require(try await cloud.ecs.describeServices(cluster: "demo", services: ["shop"]).first)
            let group = try #require(service.taskSets.first?.loadBalancers.first?.targetGroupArn)
            let balancer = try #require(try await cloud.elb.describeTargetGroups(arns: [group]).first?.loadBalancerArns.first)
            let listener = try #require(try await cloud.elb.describeListeners(loadBalancerArn: balancer).first)
            var weights: [String: Int] = [:]
            for g in listener.defaultActions.first?.targetGroups ?? [] { weights[g.targetGroupArn] = g.weight }
            return (service.taskSets, weights)
        }
        let after = try await state()
        let primary = try #require(after.sets.first)
        #expect(after.sets.count == 1 && primary.status == "PRIMARY", "\(after.sets)")
        #expect(after.weights[primary.loadBalancers[0].targetGroupArn] == 100, "\(after.weights)")
        let health = try await cloud.elb.describeTargetHealth(targetGroupArn: primary.loadBalancers[0].targetGroupArn)
        #expect(!health.isEmpty && health.allSatisfy { $0.state == "healthy" }, "\(health)")

        let bad = #"{"family":"shop","containerDefinitions":[{"name":"app","image":"nginx:v3-unhealthy"}]}"#
        let failed = await client(port, ["-id", "c2", "-cluster", "demo", "-service", "shop", "-taskdef", bad,
                                         "-strategy", "canary", "-config", config, "-action", "deploy", "-wait"])
        #expect(failed.code != 0, "\(failed.text)")
        #expect(try await server.engine.status(id: "c2").status == .rolledBack)
        let back = try await state()
        #expect(back.sets.map(\.id) == [primary.id], "\(back.sets)")
        #expect(back.weights[primary.loadBalancers[0].targetGroupArn] == 100, "\(back.weights)")
        let metrics = server.metrics.render()
        #expect(metrics.contains(#"ecs_aws_api_calls_total{service="elasticloadbalancing",operation="ModifyListener"}"#), "\(metrics)")
        await server.shutdown()
        try await task.value
    }

    /// The AWS CLI, boto3 and fabfuel's `ecs deploy` as users run them, with `AWS_ENDPOINT_URL`.
    @Test(.enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
    func theAWSCLIBoto3AndEcsDeployWorkUnmodified() async throws {
        let (sim, dir) = try await Self.simulator()
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("check.py")
        // boto3 (installed with moto): describe, register, update, then its waiter (every 0.2 s).
        try """
            from boto3 import client
            ecs = client("ecs")
            before = ecs.describe_services(cluster="demo", services=["api"])["services"][0]
            td = ecs.describe_task_definition(taskDefinition=before["taskDefinition"])["taskDefinition"]
            new = ecs.register_task_definition(family=td["family"], containerDefinitions=[
                dict(td["containerDefinitions"][0], image="nginx:1.28")])["taskDefinition"]["taskDefinitionArn"]
            ecs.update_service(cluster="demo", service="api", taskDefinition=new)
            ecs.get_waiter("services_stable").wait(cluster="demo", services=["api"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
            after = ecs.describe_services(cluster="demo", services=["api"])["services"][0]
            assert after["taskDefinition"] == new and len(after["deployments"]) == 1, after["deployments"]
            missing = ecs.describe_services(cluster="demo", services=["api", "arn:aws:ecs:us-east-1:123456789012:service/other/gone"])
            assert missing["failures"] == [{"arn": "arn:aws:ecs:us-east-1:123456789012:service/other/gone", "reason": "MISSING"}], missing
            try:
                ecs.update_service(cluster="demo")
            except Exception as error:
                print("refused:", type(error).__name__)
            print("ok", new)
            """.write(to: script, atomically: true, encoding: .utf8)
        let environment = ProcessInfo.processInfo.environment.merging(Self.awsEnvironment) { _, b in b }
            .merging(["AWS_ENDPOINT_URL": Self.endpoint(sim), "HOME": dir.path]) { _, b in b }
        let python = try await ServerProcess.runOnPath(["python3", script.path], environment: environment)
        #expect(python.code == 0 && python.out.contains { $0.hasPrefix("ok arn:aws:ecs:us-east-1:123456789012:task-definition/") },
                "\(python.text)\n\(sim.output)")
        // boto3 checks a call's parameters itself before sending it.
        #expect(python.out.contains("refused: ParamValidationError"), "\(python.text)")

        let aws = "aws"
        let identity = try await ServerProcess.runOnPath([aws, "sts", "get-caller-identity", "--query", "Arn", "--output", "text"], environment: environment)
        #expect(identity.out == ["arn:aws:iam::123456789012:user/simulator"], "\(identity.text)")
        let described = try await ServerProcess.runOnPath([aws, "ecs", "describe-services", "--cluster", "demo", "--services", "api",
                                            "--query", "services[0].[serviceName,status,length(deployments)]", "--output", "text"],
                                           environment: environment)
        #expect(described.out == ["api\tACTIVE\t1"], "\(described.text)")
        let groups = try await ServerProcess.runOnPath([aws, "elbv2", "describe-target-groups", "--query", "length(TargetGroups)"],
                                                       environment: environment)
        #expect(groups.code == 0 && groups.out == ["0"], "\(groups.text)")
        // `api` is stable since boto3's waiter: the CLI's waiter sees it at its first look.
        let waited = try await ServerProcess.runOnPath([aws, "ecs", "wait", "services-stable", "--cluster", "demo", "--services", "api"],
                                                       environment: environment)
        #expect(waited.code == 0, "\(waited.text)")
        // fabfuel's ecs-deploy: a new revision with the image, the service updated, its wait, the
        // old revision deregistered.
        let deployed = try await ServerProcess.runOnPath(["ecs", "deploy", "demo", "shop", "--image", "app", "nginx:1.29", "--timeout", "60"],
                                                         environment: environment)
        #expect(deployed.code == 0 && deployed.out.contains("Deployment successful")
            && deployed.out.contains("Successfully deregistered revision: 1"), "\(deployed.text)")
        let image = try await ServerProcess.runOnPath([aws, "ecs", "describe-task-definition", "--task-definition", "shop:2",
                                                       "--query", "taskDefinition.containerDefinitions[0].image", "--output", "text"],
                                                      environment: environment)
        #expect(image.out == ["nginx:1.29"], "\(image.text)")
        let old = try await ServerProcess.runOnPath([aws, "ecs", "describe-task-definition", "--task-definition", "shop:1",
                                                     "--query", "taskDefinition.status", "--output", "text"], environment: environment)
        #expect(old.out == ["INACTIVE"], "\(old.text)")
        let unknown = try await ServerProcess.runOnPath([aws, "ecs", "list-clusters"], environment: environment)
        #expect(unknown.code != 0 && unknown.text.contains("UnknownOperationException"), "\(unknown.text)")
    }


    /// EventBridge (JSON 1.1) and CloudWatch (Query) on the wire: a rule put with the AWS CLI
    /// fires on its schedule and runs its ECS target's task, which exits; our client reads the
    /// simulator's alarms and metrics.
    @Test(.enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
    func rulesFireAndCloudWatchAnswersOverTheWire() async throws {
        let (sim, dir) = try await Self.simulator(controller: "external", more: """
            alarms:
              shop-5xx: {metric: HTTPCode_Target_5XX_Count, target_group: shop-green, threshold: "> 10"}
            """)
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let environment = ProcessInfo.processInfo.environment.merging(Self.awsEnvironment) { _, b in b }
            .merging(["AWS_ENDPOINT_URL": Self.endpoint(sim), "HOME": dir.path]) { _, b in b }
        func aws(_ args: String...) async throws -> ClientResult { try await ServerProcess.runOnPath(["aws"] + args, environment: environment) }
        let td = try await aws("ecs", "register-task-definition", "--family", "job", "--container-definitions",
                               #"[{"name":"job","image":"busybox:1.36"}]"#, "--query", "taskDefinition.taskDefinitionArn", "--output", "text")
        let arn = try #require(td.out.first, "\(td.text)")
        let rule = try await aws("events", "put-rule", "--name", "nightly", "--schedule-expression", "rate(1 minute)")
        #expect(rule.code == 0 && rule.text.contains("arn:aws:events:us-east-1:123456789012:rule/nightly"), "\(rule.text)")
        let targets = try await aws("events", "put-targets", "--rule", "nightly", "--targets", """
            [{"Id":"1","Arn":"arn:aws:ecs:us-east-1:123456789012:cluster/demo","RoleArn":"arn:aws:iam::123456789012:role/ecsEventsRole",
              "EcsParameters":{"TaskDefinitionArn":"\(arn)","TaskCount":1}}]
            """)
        #expect(targets.code == 0 && targets.text.contains(#""FailedEntryCount": 0"#), "\(targets.text)")
        // 200x: a minute is 0.3 s, a job's run another 0.3 s. Looked at until two jobs have ended
        // (bounded: the rule must fire on the simulator's clock).
        let cloud = try cloud(sim)
        var ended: [String] = []
        for _ in 0..<600 where ended.count < 2 {
            ended = try await cloud.ecs.listTasks(cluster: "demo", serviceName: nil, startedBy: "events-rule/nightly", desiredStatus: "STOPPED")
            if ended.count < 2 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ended.count >= 2, "the rule did not fire twice")
        let listed = try await aws("ecs", "list-tasks", "--cluster", "demo", "--started-by", "events-rule/nightly", "--desired-status", "STOPPED",
                                   "--query", "length(taskArns)")
        #expect((Int(listed.out.first ?? "") ?? 0) >= 2, "\(listed.text)")
        let stopped = try await cloud.ecs.describeTasks(cluster: "demo", tasks: try await cloud.ecs.listTasks(
            cluster: "demo", serviceName: nil, startedBy: "events-rule/nightly", desiredStatus: "STOPPED"))
        #expect(!stopped.isEmpty && stopped.allSatisfy { $0.group == "family:job" && $0.stoppedReason == "Essential container in task exited" },
                "\(stopped)")
        let described = try await cloud.events.describeRule(name: "nightly")
        #expect(described.scheduleExpression == "rate(1 minute)" && described.state == "ENABLED")
        #expect(try await cloud.events.listTargetsByRule(rule: "nightly").first?.taskDefinitionArn == arn)

        // CloudWatch over Query, as this server's client reads it.
        let alarms = try await cloud.cloudWatch.describeAlarms(names: ["shop-5xx", "no-such-alarm"])
        // No service serves shop-green: the alarm has no data, and says so.
        #expect(alarms.contains { $0.name == "shop-5xx" && $0.state == .insufficientData && $0.reason.contains("0 datapoints") }, "\(alarms)")
        let query = MetricDataQuery(id: "m1", metricStat: .init(metric: MetricName(namespace: "AWS/ApplicationELB", name: "RequestCount",
                                                                                   dimensions: [MetricDimension(name: "TargetGroup", value: "targetgroup/none/0")]),
                                                               period: 60, stat: "Sum"))
        let data = try await cloud.cloudWatch.getMetricData(queries: [query], start: Date().addingTimeInterval(-600), end: Date())
        #expect(data.map(\.id) == ["m1"], "\(data)")
        let stats = try await HTTPGet.fetch(host: "127.0.0.1", port: sim.httpPort, path: "/_simulator/stats")
        for call in ["events:PutRule", "events:PutTargets", "monitoring:DescribeAlarms", "monitoring:GetMetricData"] {
            #expect(stats.body.contains(call), "\(call) not counted: \(stats.body)")
        }
    }

    /// With `mock.credentials` the simulator checks SigV4 as AWS does: the AWS CLI's and our
    /// client's signatures with the key pass, a wrong secret or key is refused.
    @Test(.enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
    func signaturesAreCheckedWhenTheSimulatorHasKeys() async throws {
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("sim-secret-\(UUID().uuidString)")
        try "secret\n".write(to: secretFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        let (sim, dir) = try await Self.simulator(more: """
            credentials: {access_key_id: AKIDSIMULATE, secret_access_key_file: \(secretFile.path)}
            """)
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        // Our client, signing with the right key (Self.awsEnvironment's).
        #expect(try await cloud(sim).ecs.describeServices(cluster: "demo", services: ["web"]).count == 1)
        let wrong = Self.awsEnvironment.merging(["AWS_SECRET_ACCESS_KEY": "not-the-secret"]) { _, b in b }
        let environment = try AWSEnvironment(environment: wrong, configuredRegion: nil, configuredEndpoint: Self.endpoint(sim))
        let refused = AWSCloudFactory(environment: environment, credentials: EnvironmentCredentialProvider(environment: wrong)).makeRawCloud()
        do {
            _ = try await refused.ecs.describeServices(cluster: "demo", services: ["web"])
            Issue.record("a wrong secret was accepted")
        } catch let error as CloudError {
            #expect(error.code == "InvalidSignatureException" && !error.message.contains("secret\n"), "\(error)")
        }
        // The AWS CLI (botocore's signer), right and wrong.
        let base = ProcessInfo.processInfo.environment.merging(Self.awsEnvironment) { _, b in b }
            .merging(["AWS_ENDPOINT_URL": Self.endpoint(sim), "HOME": dir.path]) { _, b in b }
        let ok = try await ServerProcess.runOnPath(["aws", "ecs", "describe-services", "--cluster", "demo", "--services", "web",
                                                    "--query", "services[0].serviceName", "--output", "text"], environment: base)
        #expect(ok.out == ["web"], "\(ok.text)")
        let sts = try await ServerProcess.runOnPath(["aws", "sts", "get-caller-identity", "--query", "Account", "--output", "text"], environment: base)
        #expect(sts.out == ["123456789012"], "\(sts.text)")
        let bad = try await ServerProcess.runOnPath(["aws", "ecs", "list-services", "--cluster", "demo"],
                                                    environment: base.merging(["AWS_ACCESS_KEY_ID": "AKIDUNKNOWN"]) { _, b in b })
        #expect(bad.code != 0 && bad.text.contains("UnrecognizedClientException"), "\(bad.text)")
    }

    /// `make simulate` (`-seed`): the demo estate is there before anything names it.
    @Test func theSeedIsAnEstateToDeployTo() async throws {
        let (sim, dir) = try await Self.simulator(arguments: ["-seed"])
        defer { sim.signal(SIGKILL); try? FileManager.default.removeItem(at: dir) }
        let cloud = try cloud(sim)
        let listed = try await cloud.ecs.listServices(cluster: "demo", nextToken: nil).serviceArns.map(\.arnResourceName)
        #expect(Set(listed) == ["web", "api", "shop", "checkout"], "\(listed)")
        let services = try await cloud.ecs.describeServices(cluster: "demo", services: ["web", "api", "shop", "checkout"])
        #expect(services.map(\.deploymentController) == [.ecs, .ecs, .external, .ecs])
        #expect(services.map(\.supportsNativeStrategies) == [false, false, false, true])
        #expect(services.allSatisfy { $0.runningCount == $0.desiredCount && $0.desiredCount == 3 }, "\(services)")
        let balancers = try await cloud.elb.describeLoadBalancers(arns: [])
        #expect(balancers.map(\.loadBalancerName) == ["shop-alb", "checkout-alb"])
        #expect(try await cloud.events.listTargetsByRule(rule: "nightly-report").count == 1)
    }
}
