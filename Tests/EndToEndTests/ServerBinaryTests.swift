import Foundation
import Testing

/// The built programs, run as a user runs them: `MOCK_MODE=true ./bin/grpc-server &`, then
/// the first seed's commands ("Testing in Mock Mode", "Testing Verification") as written.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ServerBinaryTests {
    @Test func seedMockModeCommandsAsWritten() async throws {
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The seed's ports (50051 and 9090): the seed's commands name no -server.
        let server = try await ServerProcess.start(environment: ["MOCK_MODE": "true", "HOME": dir.path], in: dir)
        #expect(server.grpcPort == 50051 && server.httpPort == 9090)
        #expect(server.output.contains("mock mode"), "\(server.output)")

        let deploy = try await ServerProcess.client([
            "-id", "test-001", "-cluster", "my-cluster", "-service", "my-service",
            "-taskdef", #"{"family":"app","containerDefinitions":[]}"#, "-strategy", "quicksync", "-action", "deploy"])
        #expect(deploy.code == 0, "\(deploy.text)")
        #expect(deploy.out.first?.hasPrefix("Deployment test-001 accepted: quicksync of my-cluster/my-service") == true, "\(deploy.text)")

        // Mock mode's time runs 100x: the rollout ends within seconds.
        var status = ClientResult(code: -1, out: [], err: [])
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            status = try await ServerProcess.client(["-id", "test-001", "-action", "status"])
            if status.out.contains(where: { $0.hasPrefix("Status:") && !$0.contains("IN_PROGRESS") && !$0.contains("PENDING") }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(status.code == 0, "\(status.text)")
        #expect(status.out.contains("Status:      SUCCEEDED"), "\(status.text)")
        #expect(status.out.contains("Progress:    100%"), "\(status.text)")

        let health = try await HTTPGet.fetch(host: "127.0.0.1", port: 9090, path: "/health")
        #expect(health.status == 200 && health.body == "OK")
        let metrics = try await HTTPGet.fetch(host: "127.0.0.1", port: 9090, path: "/metrics").body
        #expect(metrics.contains(#"ecs_deployments_total{strategy="quicksync",status="succeeded"} 1"#), "\(metrics.prefix(2000))")
        for name in ["ecs_deployment_duration_seconds", "ecs_active_deployments", "ecs_aws_api_calls_total",
                     "ecs_aws_api_duration_milliseconds", "ecs_errors_total", "ecs_pending_approvals"] {
            #expect(metrics.contains(name), "\(name)")
        }
        // History and the audit log go under ./data in mock mode.
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("data/ecs-deploy.sqlite").path))

        // `pkill -f grpc-server` sends SIGTERM: a graceful stop, exit 0.
        server.signal(SIGTERM)
        let status0 = try await server.exitStatus(within: .seconds(45))
        #expect(status0 == 0, "\(server.output)")
        #expect(server.output.contains("stopped"))
    }

    @Test func configFileFromTheEnvironmentAndSIGINT() async throws {
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("server.yaml")
        try """
            server:
              host: 127.0.0.1
              port: 0
              metrics_port: 0
              graceful_timeout: 2s
            storage:
              path: history/deployments.sqlite
            """.write(to: config, atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(environment: ["MOCK_MODE": "true", "CONFIG_FILE": config.path, "HOME": dir.path],
                                                   in: dir)
        #expect(server.grpcPort != 50051 && server.grpcPort > 0)
        let health = try await HTTPGet.fetch(host: "127.0.0.1", port: server.httpPort, path: "/health")
        #expect(health.body == "OK")
        let list = try await ServerProcess.client(["-server", "127.0.0.1:\(server.grpcPort)", "-action", "list"])
        #expect(list.code == 0, "\(list.text)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("history/deployments.sqlite").path))
        server.signal(SIGINT)
        #expect(try await server.exitStatus(within: .seconds(30)) == 0, "\(server.output)")

        // A config with a bad value: a clear error naming the key, exit 1.
        try "server:\n  graceful_timeout: soon\n".write(to: config, atomically: true, encoding: .utf8)
        do {
            _ = try await ServerProcess.start(arguments: ["-config", config.path], environment: ["MOCK_MODE": "true"], in: dir)
            Issue.record("the server started with a bad config")
        } catch let failure as ServerProcess.StartFailure {
            #expect(failure.status == 1)
            #expect(failure.output.contains("server.graceful_timeout"), "\(failure.output)")
        }
    }
}
