import CloudModel
import DeployAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import Server
import Simulator
import Testing
import TestSupport

@Suite struct ServerTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#

    @Test func healthAndMetricsEndpoints() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let health = try await t.http("/health")
        #expect(health.status == 200)
        #expect(health.body == "OK")

        _ = await t.client(["-id", "m1", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef])
        _ = try await t.waitUntilFinished("m1")
        _ = await t.client(["-id", "missing", "-action", "status"])
        let metrics = try await t.http("/metrics")
        #expect(metrics.status == 200)
        for name in ["ecs_deployments_total", "ecs_deployment_duration_seconds", "ecs_active_deployments",
                     "ecs_aws_api_calls_total", "ecs_aws_api_duration_milliseconds", "ecs_errors_total", "ecs_pending_approvals"] {
            #expect(metrics.body.contains("# TYPE \(name)"), "metric \(name) missing")
        }
        #expect(metrics.body.contains(#"ecs_deployments_total{strategy="quicksync",status="succeeded"} 1"#))
        #expect(metrics.body.contains(#"ecs_aws_api_calls_total{service="ecs",operation="RegisterTaskDefinition"} 1"#))
        #expect(metrics.body.contains(#"ecs_aws_api_calls_total{service="ecs",operation="UpdateService"} 1"#))
        // The client asked for the deployment, then for a release of that id: two lookups, both not found.
        #expect(metrics.body.contains(#"ecs_errors_total{component="grpc",type="notFound"} 2"#))
        #expect(metrics.body.contains("ecs_active_deployments 0"))
        #expect(metrics.body.contains("ecs_deployment_duration_seconds_count 1"))
        try await t.stop()
    }

    @Test func grpcHealthService() async throws {
        let t = try await TestServer(network: true)
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: t.port), transportSecurity: .plaintext)
        let status = try await withGRPCClient(transport: transport) { client in
            try await Grpc_Health_V1_Health.Client(wrapping: client).check(Grpc_Health_V1_HealthCheckRequest()).status
        }
        #expect(status == .serving)
        try await t.stop()
    }

    @Test func gracefulShutdownLetsAnInFlightDeploymentFinish() async throws {
        // The grace period is wall time: generous, so that a busy machine does not end it first.
        let t = try await TestServer { $0.gracefulTimeout = .seconds(120) }
        try t.seedService(name: "web")
        let watch = Task { await t.client(["-id", "g1", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-wait"]) }
        // Step the clock a second at a time until the deployment waits for its tasks (it needs
        // about 15 simulated seconds more to finish), and until its watcher is there.
        for step in 0... {
            guard step < 10_000 else { throw TestFailure("g1 never reached waitForStability with a watcher") }
            let stage = (try? await t.status("g1"))?.currentStage
            if stage == "waitForStability", await t.server.engine.watcherCount(id: "g1") > 0 { break }
            if t.clock.sleeperCount > 0 { t.clock.advance(by: .seconds(1)) }
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(try await t.status("g1").status == .inProgress)
        await t.server.shutdown()
        // New work is refused while the server drains...
        let refused = await t.client(["-id", "g2", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef])
        #expect(refused.code == 1)
        // ...and the deployment in flight runs to its end, its watcher sees it, then the server exits.
        let result = try await t.driving { await watch.value }
        #expect(result.code == 0, "\(result.text)")
        #expect(result.out.last?.contains("SUCCEEDED") == true)
        try await t.running.value
        #expect(t.service("web")?.taskDefinition?.hasSuffix("web:2") == true)
    }

    @Test func gracefulShutdownRecordsADeploymentItCouldNotFinish() async throws {
        let t = try await TestServer { $0.gracefulTimeout = .milliseconds(200) }
        try t.seedService(name: "web", circuitBreaker: nil)
        let stuck = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:fail-to-start"}]}"#
        _ = await t.client(["-id", "g1", "-cluster", "prod", "-service", "web", "-taskdef", stuck])
        try await t.driving {
            while (try? await t.status("g1").currentStage) != "waitForStability" { try await Task.sleep(for: .milliseconds(1)) }
        }
        // Its tasks never start and the clock no longer moves: it cannot finish in the grace period.
        let record = try await t.server.engine.status(id: "g1")
        #expect(record.status == .inProgress)
        await t.server.shutdown()
        try await t.running.value
        let final = try await t.server.engine.status(id: "g1")
        #expect(final.status == .interrupted)
        #expect(final.error.contains("the server stopped during stage waitForStability"), "\(final.error)")
        #expect(final.error.contains("service left on"), "\(final.error)")
    }

    @Test func tlsServerAndClient() async throws {
        let cert = TestServer.fixtures.appendingPathComponent("tls/server-cert.pem").path
        let key = TestServer.fixtures.appendingPathComponent("tls/server-key.pem").path
        let t = try await TestServer {
            $0.tlsCertFile = cert
            $0.tlsKeyFile = key
        }
        try t.seedService(name: "web")
        let secure = await t.client(["-id", "s1", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef, "-ca", cert])
        #expect(secure.code == 0, "\(secure.text)")
        let status = await t.client(["-id", "s1", "-action", "status", "-tls", "-ca", cert])
        #expect(status.code == 0, "\(status.text)")
        let plain = await t.client(["-id", "s1", "-action", "status", "-timeout", "1"])
        #expect(plain.code == 1)
        #expect(plain.err.first?.hasPrefix("error: ") == true)
        _ = try await t.waitUntilFinishedTLS("s1", ca: cert)
        try await t.stop()
    }

    @Test func portInUseIsAClearError() async throws {
        let first = try await TestServer(network: true)
        var config = ServerConfig()
        config.host = "127.0.0.1"
        config.port = first.port
        config.metricsPort = 0
        let clock = ManualClock()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let second = try DeploymentServer(config: config, cloud: SimulatedCloud(clock: clock).cloud, clock: clock, logger: logger)
        await #expect {
            try await second.run()
        } throws: { error in
            "\(error)".contains("the gRPC port \(first.port) is already in use")
        }
        try await first.stop()
    }
}

extension TestServer {
    func waitUntilFinishedTLS(_ id: String, ca: String) async throws -> String {
        try await driving {
            while true {
                let r = await self.client(["-id", id, "-action", "status", "-ca", ca])
                if let line = r.out.first(where: { $0.hasPrefix("Status:") }), !line.contains("IN_PROGRESS"), !line.contains("PENDING") {
                    return line
                }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }
}
