import AWSAuth
import AWSCloud
import CloudModel
import DeployAPI
import Foundation
import Logging
import MotoHarness
import Server
import ClientCLI
import Testing

/// The real server outside mock mode, its AWS client pointed at moto (`AWS_ENDPOINT_URL`),
/// driven by the real client; the test then reads moto directly.
@Suite(.enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct AWSModeTests {
    struct Running {
        let server: DeploymentServer
        let task: Task<Void, any Error>
        let port: Int
    }

    func start(_ moto: MotoServer, secret: String = "secret", key: String = "AKIDMOTOTEST") async throws -> Running {
        var config = ServerConfig()
        config.host = "127.0.0.1"
        config.port = 0
        config.metricsPort = 0
        config.endpointURL = moto.endpoint
        config.maxRetries = 2
        config.retryDelay = .milliseconds(10)
        config.deployment.pollInterval = .milliseconds(100)
        var logger = Logger(label: "aws-mode-test")
        logger.logLevel = .critical
        let environment = ["AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1",
                           "HOME": FileManager.default.temporaryDirectory.path, "AWS_EC2_METADATA_DISABLED": "true"]
        let target = try ServerCommand.makeCloud(config, environment: environment, logger: logger)
        let server = try DeploymentServer(config: config, cloud: target.cloud, clock: target.clock, logger: logger,
                                          preflight: target.preflight)
        let task = Task { try await server.run() }
        return Running(server: server, task: task, port: try await server.grpcPort())
    }

    func client(_ r: Running, _ args: [String]) async -> ClientResult {
        let output = CapturedOutput()
        let code = await ClientCLI.run(["-server", "127.0.0.1:\(r.port)"] + args, output: output)
        return ClientResult(code: code, out: output.outLines, err: output.errLines)
    }

    /// Our ECS client, straight to moto (no server in between).
    func ecs(_ moto: MotoServer, key: String = "AKIDREADER", secret: String = "x") throws -> ECSClient {
        let credentials = EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret])
        return AWSCloudFactory(environment: try moto.environment(), credentials: credentials).ecs
    }

    /// Also against moto patched only for what it does not model (`.dynamics`): no service
    /// createdAt, no task timestamps in its answers.
    @Test(arguments: [MotoPatches.full, .dynamics])
    func quicksyncDeploysToAWS(patches: MotoPatches) async throws {
        let moto = try await MotoServer.start(patches: patches)
        defer { moto.stop() }
        let r = try await start(moto)
        let taskdef = #"{"family":"web","executionRoleArn":""# + moto.string("executionRoleArn")
            + #"","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"nginx:1.27","memory":256}]}"#
        let result = await client(r, ["-id", "aws-1", "-cluster", "demo", "-service", "web", "-taskdef", taskdef,
                                      "-strategy", "quicksync", "-action", "deploy", "-wait"])
        #expect(result.code == 0, "\(result.text)")
        #expect(result.out.last?.contains("SUCCEEDED") == true, "\(result.text)")

        let service = try #require(try await ecs(moto).describeServices(cluster: "demo", services: ["web"]).first)
        #expect(service.taskDefinition?.hasSuffix("task-definition/web:2") == true, "\(service.taskDefinition ?? "-")")
        let td = try await ecs(moto).describeTaskDefinition(service.taskDefinition!)
        #expect(td.images.map(\.image) == ["nginx:1.27"])
        #expect(td.json["executionRoleArn"]?.stringValue == moto.string("executionRoleArn"))
        let metrics = r.server.metrics.render()
        #expect(metrics.contains(#"ecs_aws_api_calls_total{service="ecs",operation="RegisterTaskDefinition"} 1"#), "\(metrics)")
        // The pre-flight's STS and IAM calls are counted too.
        #expect(metrics.contains(#"ecs_aws_api_calls_total{service="sts",operation="GetCallerIdentity"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"ecs_aws_api_calls_total{service="iam",operation="SimulatePrincipalPolicy"}"#), "\(metrics)")
        await r.server.shutdown()
        try await r.task.value
    }

    @Test func wrongSecretIsAClearErrorAndNotRetried() async throws {
        let moto = try await MotoServer.start(auth: true)
        defer { moto.stop() }
        let r = try await start(moto, secret: "not-the-secret", key: moto.string("accessKeyId"))
        let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:1.27"}]}"#
        let result = await client(r, ["-id", "aws-2", "-cluster", "demo", "-service", "web", "-taskdef", taskdef])
        #expect(result.code == 1)
        let line = result.err.first ?? ""
        #expect(line.contains("SignatureDoesNotMatch") || line.contains("signature"), "\(result.text)")
        #expect(!line.contains("not-the-secret"))
        // One attempt per call: DescribeServices was not retried.
        let metrics = r.server.metrics.render()
        #expect(metrics.contains(#"ecs_aws_api_calls_total{service="ecs",operation="DescribeServices"} 1"#), "\(metrics)")
        await r.server.shutdown()
        try await r.task.value
    }

    /// Moto with request authentication on, so that the caller is the seeded IAM user and
    /// SimulatePrincipalPolicy evaluates its (allow-all) policy: the permissions pass, and the
    /// task definition's missing execution role is what refuses the deployment.
    @Test func missingExecutionRoleIsRefusedByPreflight() async throws {
        let moto = try await MotoServer.start(auth: true)
        defer { moto.stop() }
        let key = moto.string("accessKeyId"), secret = moto.string("secretAccessKey")
        let r = try await start(moto, secret: secret, key: key)
        let missing = moto.string("executionRoleArn").replacingOccurrences(of: "ecsTaskExecutionRole", with: "noSuchExecutionRole")
        #expect(missing.hasSuffix(":role/noSuchExecutionRole"), "\(missing)")
        let taskdef = #"{"family":"web","executionRoleArn":""# + missing
            + #"","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"nginx:1.27","memory":256}]}"#
        let result = await client(r, ["-id", "aws-role", "-cluster", "demo", "-service", "web", "-taskdef", taskdef,
                                      "-strategy", "quicksync", "-action", "deploy"])
        #expect(result.code == 1, "\(result.text)")
        let line = result.err.first ?? ""
        #expect(line.hasPrefix("error: pre-flight check failed: "), "\(result.text)")
        #expect(line.contains("executionRoleArn \(missing) does not exist"), "\(line)")
        #expect(line.contains("NoSuchEntity"), "\(line)")
        #expect(!line.contains("lacks"), "the permissions passed: \(line)")
        #expect(!line.contains(secret))
        #expect(line.hasSuffix("(FAILED_PRECONDITION)"), "\(line)")
        let status = await client(r, ["-id", "aws-role", "-action", "status"])
        #expect(status.code == 1, "no deployment was recorded: \(status.text)")

        // Nothing was registered: moto has no web:2, and the service still runs web:1.
        let ecs = try ecs(moto, key: key, secret: secret)
        await #expect(throws: (any Error).self) { _ = try await ecs.describeTaskDefinition("web:2") }
        let service = try #require(try await ecs.describeServices(cluster: "demo", services: ["web"]).first)
        #expect(service.taskDefinition?.hasSuffix("task-definition/web:1") == true, "\(service.taskDefinition ?? "-")")
        let metrics = r.server.metrics.render()
        #expect(!metrics.contains(#"operation="RegisterTaskDefinition""#), "\(metrics)")
        await r.server.shutdown()
        try await r.task.value
    }
}
