import CloudModel
import DeployAPI
import Foundation
import Logging
import Server
import Simulator
import Testing

@Suite struct ConfigTests {
    /// The config.yaml of the first seed, as written there.
    static let seedConfig = """
        server:
          port: 50051
          enable_metrics: true
          metrics_port: 9090
          graceful_timeout: 30s

        aws:
          region: us-east-1
          timeout: 30s
          max_retries: 3
          retry_delay: 1s
          max_retry_delay: 30s

        strategy:
          timeout: 10m
          canary:
            stages: [10, 25, 50, 100]
            stage_timeout: 5m
          bluegreen:
            stabilization_time: 30s
            cleanup_delay: 1m
        """

    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func seedConfigLoads() throws {
        let config = try ServerConfig.load(path: try write(Self.seedConfig), environment: [:])
        #expect(config.port == 50051)
        #expect(config.metricsPort == 9090)
        #expect(config.gracefulTimeout == .seconds(30))
        #expect(config.deployment.timeout == .seconds(600))
        #expect(config.deployment.canaryStages == [10, 25, 50, 100])
        #expect(config.deployment.stageTimeout == .seconds(300))
        #expect(config.deployment.cleanupDelay == .seconds(60))
        #expect(config.mockMode == false)
    }

    @Test func exampleConfigLoads() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config.example.yaml").path
        let config = try ServerConfig.load(path: example, environment: [:])
        #expect(config == ServerConfig())
    }

    @Test func environmentOverridesTheFile() throws {
        let config = try ServerConfig.load(path: try write(Self.seedConfig), environment: [
            "MOCK_MODE": "true", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://localhost:5000",
            "LOG_LEVEL": "debug", "TLS_CERT_FILE": "/c.pem", "TLS_KEY_FILE": "/k.pem",
        ])
        #expect(config.mockMode)
        #expect(config.region == "eu-west-1")
        #expect(config.endpointURL == "http://localhost:5000")
        #expect(config.logLevel == .debug)
        #expect(config.tlsCertFile == "/c.pem")
    }

    @Test(arguments: [
        ("server:\n  prot: 1\n", "server.prot: unknown key"),
        ("server:\n  graceful_timeout: soon\n", "server.graceful_timeout: 'soon' is not a duration"),
        ("strategy:\n  canary:\n    stages: [10, x]\n", "strategy.canary.stages: 'x' is not a percentage"),
        ("strategy:\n  canary:\n    stages: [50, 25, 100]\n", "strategy.canary.stages: stages must ascend"),
        ("strategy:\n  hooks:\n    pre_traffic: ftp://x\n", "strategy.hooks.pre_traffic: 'ftp://x' is not an http(s) URL"),
        ("server: [1, 2]\n", "server must be a mapping"),
        ("server:\n  port: 99999\n", "server.port: '99999' is not a port"),
        ("server: {port: 1\n", "not valid YAML"),
        ("mock:\n  api_faults:\n    throttle: 1.5\n", "mock.api_faults.throttle: '1.5' is a fraction of the calls"),
        ("mock:\n  api_faults:\n    reset: -0.1\n", "mock.api_faults.reset: '-0.1' must be a number from 0"),
        ("mock:\n  api_faults:\n    throttle: 0.6\n    timeout: 0.6\n", "mock.api_faults.throttle: and server_error, timeout, reset add up to more than 1"),
        ("mock:\n  api_faults:\n    drop: 0.1\n", "mock.api_faults.drop: unknown key"),
        ("mock:\n  elb:\n    healthy_threshold: 1\n", "mock.elb.healthy_threshold"),
        ("mock:\n  elb:\n    deregistration_delay: 2h\n", "mock.elb.deregistration_delay: is at most 3600s"),
        ("mock:\n  background_calls:\n    ecs.nope: 1\n", "mock.background_calls.ecs.nope: unknown key"),
    ])
    func badConfigNamesTheKey(yaml: String, expected: String) throws {
        let path = try write(yaml)
        #expect { try ServerConfig.load(path: path, environment: [:]) } throws: { "\($0)".contains(expected) }
    }

    @Test func strategyKeysOfConfigYamlSetTheDeploymentDefaults() throws {
        let yaml = """
            strategy:
              require_approval: true
              rolling: {batch_size: 50, batch_delay: 2m}
              health_check: {url: "http://svc/health", status: 204}
              hooks: {post_success: "exec:notify", timeout: 5s}
            """
        let config = try ServerConfig.load(path: try write(yaml), environment: [:])
        #expect(config.deployment.requireApproval)
        #expect(config.deployment.batchSize == 50)
        #expect(config.deployment.batchDelay == .seconds(120))
        #expect(config.deployment.healthCheckURL == "http://svc/health")
        #expect(config.deployment.healthCheckStatus == 204)
        #expect(config.deployment.hooks[.postSuccess] == "exec:notify")
        #expect(config.deployment.hookTimeout == .seconds(5))
    }

    @Test func apiFaultsOfTheSimulatorAreRead() throws {
        let yaml = "mock:\n  api_faults: {throttle: 0.04, server_error: 0.03, timeout: 0.01, reset: 0.02, timeout_after: 2s}\n"
        let config = try ServerConfig.load(path: try write(yaml), environment: [:])
        #expect(config.mockAPIFaults == APIFaultRates(throttle: 0.04, serverError: 0.03, timeout: 0.01, reset: 0.02))
        #expect(config.mockTimeoutHold == .seconds(2))
        #expect(try ServerConfig.load(path: nil, environment: [:]).mockAPIFaults == nil)
    }

    /// `mock.elb` and `mock.background_calls`; `grpc-server simulate` takes AWS's defaults for
    /// what is not set, mock mode its short ones.
    @Test func theSimulatorsLoadBalancersTakeAWSDefaultsOnTheEndpoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("elb-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = "storage:\n  path: \(dir.path)/h.sqlite\nmock:\n  elb: {healthy_threshold: 3, listener_lag: 2s}\n  background_calls: {ecs.service-reads: 5}\n"
        let config = try ServerConfig.load(path: try write(yaml), environment: [:])
        let logger = Logger(label: "config-test")
        let endpoint = ServerCommand.makeSimulator(config, logger: logger, awsTimings: true).0.settings
        #expect(endpoint.targetHealthCheck == TargetHealthCheck(interval: 30, healthyThreshold: 3, unhealthyThreshold: 2))
        #expect(endpoint.draining == 300 && endpoint.listenerLag == 2 && endpoint.backgroundCalls == ["ecs.service-reads": 5])
        let mock = ServerCommand.makeSimulator(try ServerConfig.load(path: try write("storage:\n  path: \(dir.path)/m.sqlite\n"), environment: [:]),
                                               logger: logger).0.settings
        #expect(mock.targetHealthCheck == nil && mock.draining == SimulatorSettings().draining && mock.listenerLag == 0)
    }

    /// `aws.endpoint_speedup`: the server's clock runs as fast as a local simulator's, and
    /// only against an endpoint of one's own.
    @Test func endpointSpeedupNeedsAnEndpoint() throws {
        let config = try ServerConfig.load(path: try write("aws:\n  endpoint_speedup: 20\n"), environment: [:])
        #expect(config.endpointSpeedup == 20)
        let logger = Logger(label: "config-test")
        #expect { _ = try ServerCommand.makeCloud(config, environment: ["AWS_REGION": "us-east-1"], logger: logger) } throws: {
            "\($0)".contains("aws.endpoint_speedup: 20.0 needs aws.endpoint_url")
        }
        var local = config
        local.endpointURL = "http://127.0.0.1:4566"
        let target = try ServerCommand.makeCloud(local, environment: ["AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDX", "AWS_SECRET_ACCESS_KEY": "s"],
                                                 logger: logger)
        #expect((target.clock as? ScaledClock)?.speedup == 20, "the server's clock runs 20x: \(target.clock)")
        #expect(target.wallClock is SystemClock, "records keep real time: \(target.wallClock)")
    }

    @Test func rateLimitsAreConfigurableByCategory() throws {
        let yaml = "aws:\n  rate_limits:\n    ecs.register-task-definition: {capacity: 40, refill_per_second: 2}\n"
        let config = try ServerConfig.load(path: try write(yaml), environment: [:])
        #expect(config.rateLimits.limits["ecs.register-task-definition"] == RateLimit(capacity: 40, refillPerSecond: 2))
        #expect(config.rateLimits.limits["ecs.service-mutations"] == RateLimits.aws.limits["ecs.service-mutations"])
        let bad = try write("aws:\n  rate_limits:\n    ecs.nope: {capacity: 1}\n")
        #expect { try ServerConfig.load(path: bad, environment: [:]) } throws: { "\($0)".contains("aws.rate_limits.ecs.nope: unknown key") }
    }

    @Test func tlsNeedsBothFiles() {
        #expect { try ServerConfig.load(path: nil, environment: ["TLS_CERT_FILE": "/c.pem"]) } throws: {
            "\($0)".contains("both a certificate and a key")
        }
    }

    /// `strategy.canary.stages` of config.yaml is the default of a deployment without
    /// `-config`; `-config` overrides it for one deployment.
    @Test func canaryStagesOfConfigYamlAreTheDefaultAndConfigOverridesThem() async throws {
        let yaml = "strategy:\n  canary:\n    stages: [20, 100]\n    stage_timeout: 1m\n"
        let loaded = try ServerConfig.load(path: try write(yaml), environment: [:])
        #expect(loaded.deployment.canaryStages == [20, 100])
        let t = try await TestServer(configure: { $0.deployment = loaded.deployment }, simulator: SeedCommandsTests.mockMode)
        let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#
        func routes(_ d: Deployment_V1_Deployment) -> [String] { d.stages.map(\.name).filter { $0.hasPrefix("routeTraffic") } }

        let plain = await t.client(["-id", "y1", "-cluster", "prod", "-service", "web", "-taskdef", taskdef, "-strategy", "canary"])
        #expect(plain.code == 0, "\(plain.text)")
        let first = try await t.waitUntilFinished("y1")
        #expect(first.status == .succeeded, "\(first.error)")
        #expect(routes(first) == ["routeTraffic(20%)", "routeTraffic(100%)"], "\(first.stages.map(\.name))")
        #expect(first.stages.map(\.name).filter { $0.hasPrefix("bake") } == ["bake(1m, canary at 20%)", "bake(1m, canary at 100%)"])

        let overridden = await t.client(["-id", "y2", "-cluster", "prod", "-service", "web", "-taskdef", taskdef, "-strategy", "canary",
                                         "-config", #"{"canary_stages":"50,100"}"#])
        #expect(overridden.code == 0, "\(overridden.text)")
        let second = try await t.waitUntilFinished("y2")
        #expect(second.status == .succeeded, "\(second.error)")
        #expect(routes(second) == ["routeTraffic(50%)", "routeTraffic(100%)"], "\(second.stages.map(\.name))")
        // The rest of config.yaml still applies to it.
        #expect(second.stages.map(\.name).filter { $0.hasPrefix("bake") } == ["bake(1m, canary at 50%)", "bake(1m, canary at 100%)"])
        #expect(t.sim.trafficViolations.isEmpty)
        try await t.stop()
    }
}
