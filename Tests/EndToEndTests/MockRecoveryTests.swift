import Foundation
import Testing

/// Mock mode keeps its simulated cloud beside the history (`data/simulator.json`): a server
/// killed with SIGKILL in the middle of a canary resumes it on the same task sets after a
/// restart, records carry real time although the simulator runs 100x, and a state file that
/// cannot be read is moved aside rather than stopping the server.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct MockRecoveryTests {
    static func status(_ port: Int, _ id: String) async throws -> ClientResult {
        try await ServerProcess.client(["-server", "127.0.0.1:\(port)", "-id", id, "-action", "status"])
    }

    static func waitFor(_ port: Int, _ id: String, within limit: Duration = .seconds(90),
                        until done: (ClientResult) -> Bool) async throws -> ClientResult {
        var result = try await status(port, id)
        let deadline = ContinuousClock.now + limit
        while !done(result), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            result = try await status(port, id)
        }
        return result
    }

    static func taskdef(_ family: String) -> String {
        #"{"family":"\#(family)","containerDefinitions":[{"name":"app","image":"nginx:1.27","memory":512}]}"#
    }

    /// A mock-mode server's environment: config.yaml in `dir` on ephemeral ports with
    /// `recovery: resume`, and `more` (YAML) after it.
    static func mockEnvironment(_ dir: URL, more: String = "") throws -> [String: String] {
        let config = dir.appendingPathComponent("config.yaml")
        try """
            server:
              host: 127.0.0.1
              port: 0
              metrics_port: 0
            recovery: resume
            \(more)
            """.write(to: config, atomically: true, encoding: .utf8)
        return ["MOCK_MODE": "true", "CONFIG_FILE": config.path, "HOME": dir.path]
    }

    static func created(_ result: ClientResult) -> Date? {
        result.out.first { $0.hasPrefix("Created:") }
            .flatMap { ISO8601DateFormatter().date(from: $0.dropFirst("Created:".count).trimmingCharacters(in: .whitespaces)) }
    }

    @Test func sigkillMidCanaryResumesOnTheSavedCloud() async throws {
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = try Self.mockEnvironment(dir)
        var server = try await ServerProcess.start(environment: environment, in: dir)

        let before = Date()
        // Two canary stages that hold for 20 simulated minutes each: 12 s of real time at 100x,
        // so the kill lands in the first one.
        let deploy = try await ServerProcess.client([
            "-server", "127.0.0.1:\(server.grpcPort)", "-id", "mock-crash-1", "-cluster", "demo", "-service", "web",
            "-taskdef", Self.taskdef("web"), "-strategy", "canary",
            "-config", #"{"canary_stages":"50,100","stage_timeout":"20m"}"#, "-action", "deploy"])
        #expect(deploy.code == 0, "\(deploy.text)")
        let baking = try await Self.waitFor(server.grpcPort, "mock-crash-1") { result in
            result.out.contains { $0.hasPrefix("Stage:") && $0.contains("bake") }
        }
        #expect(baking.out.contains { $0.hasPrefix("Stage:") && $0.contains("bake") }, "\(baking.text)")
        let after = Date()
        // Real time on the record, although the simulator is 100x ahead by now.
        let created = try #require(Self.created(baking), "\(baking.text)")
        #expect(created >= before.addingTimeInterval(-1) && created <= after.addingTimeInterval(1), "\(created) not in \(before)...\(after)")
        let stateFile = dir.appendingPathComponent("data/simulator.json")
        #expect(FileManager.default.fileExists(atPath: stateFile.path))

        server.signal(SIGKILL)
        _ = try await server.exitStatus(within: .seconds(10))
        server = try await ServerProcess.start(environment: environment, in: dir)
        #expect(server.output.contains("its cloud was read from"), "\(server.output)")

        let done = try await Self.waitFor(server.grpcPort, "mock-crash-1") { result in
            result.out.contains { $0.hasPrefix("Status:") && ($0.contains("SUCCEEDED") || $0.contains("FAILED") || $0.contains("ROLLED")) }
        }
        #expect(done.out.contains("Status:      SUCCEEDED"), "\(done.text)\n\(server.output)")

        // A deployment after the restart is listed first (newest first across restarts).
        let second = try await ServerProcess.client([
            "-server", "127.0.0.1:\(server.grpcPort)", "-id", "mock-crash-2", "-cluster", "demo", "-service", "api",
            "-taskdef", Self.taskdef("api"), "-strategy", "quicksync", "-action", "deploy"])
        #expect(second.code == 0, "\(second.text)")
        let list = try await ServerProcess.client(["-server", "127.0.0.1:\(server.grpcPort)", "-action", "list"])
        let order = list.out.compactMap { line in ["mock-crash-2", "mock-crash-1"].first { line.contains($0) } }
        #expect(order == ["mock-crash-2", "mock-crash-1"], "\(list.text)")

        // The services the simulator made are still there after a restart: the resumed canary
        // left web on the new image.
        server.signal(SIGTERM)
        _ = try await server.exitStatus(within: .seconds(30))
        let saved = try String(contentsOf: stateFile, encoding: .utf8)
        #expect(saved.contains("nginx:1.27"))

        // A state file that cannot be read: moved aside, the server starts on an empty cloud.
        try "{ not json".write(to: stateFile, atomically: true, encoding: .utf8)
        server = try await ServerProcess.start(environment: environment, in: dir)
        #expect(server.output.contains("simulator.json cannot be read"), "\(server.output)")
        let aside = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("data").path)
            .filter { $0.hasPrefix("simulator.json.unreadable-") }
        #expect(aside.count == 1, "\(aside)")
        let listAgain = try await ServerProcess.client(["-server", "127.0.0.1:\(server.grpcPort)", "-action", "list"])
        #expect(listAgain.code == 0 && listAgain.text.contains("mock-crash-1"), "\(listAgain.text)")
        server.signal(SIGTERM)
        _ = try await server.exitStatus(within: .seconds(30))
    }

    /// `mock.controller: native`: a canary that ECS runs itself, killed with SIGKILL during its
    /// bake, goes on after the restart following the same service deployment (not a second one).
    @Test func sigkillMidNativeCanaryFollowsTheSameServiceDeployment() async throws {
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = try Self.mockEnvironment(dir, more: "mock:\n  controller: native")
        var server = try await ServerProcess.start(environment: environment, in: dir)
        // The canary bakes 20 simulated minutes: 12 s of real time at 100x, so the kill lands in it.
        let deploy = try await ServerProcess.client([
            "-server", "127.0.0.1:\(server.grpcPort)", "-id", "native-crash", "-cluster", "demo", "-service", "web",
            "-taskdef", Self.taskdef("web"), "-strategy", "canary",
            "-config", #"{"canary_percent":"10","canary_bake":"20m","bake_time":"0m"}"#, "-action", "deploy"])
        #expect(deploy.code == 0, "\(deploy.text)")
        let baking = try await Self.waitFor(server.grpcPort, "native-crash") { result in
            result.out.contains { $0.contains("followServiceDeployment") && $0.contains("PRODUCTION_TRAFFIC_SHIFT") }
        }
        let started = try #require(baking.out.first { $0.contains("startServiceDeployment") && $0.contains("ECS's deployment") },
                                   "\(baking.text)")
        let arn = try #require(started.split(separator: " ").firstIndex(of: "deployment").map { started.split(separator: " ")[$0 + 1] })

        server.signal(SIGKILL)
        _ = try await server.exitStatus(within: .seconds(10))
        server = try await ServerProcess.start(environment: environment, in: dir)
        #expect(server.output.contains("picked up 1 unfinished deployment"), "\(server.output)")

        let done = try await Self.waitFor(server.grpcPort, "native-crash") { result in
            result.out.contains { $0.hasPrefix("Status:") && ($0.contains("SUCCEEDED") || $0.contains("FAILED") || $0.contains("ROLLED")) }
        }
        #expect(done.out.contains("Status:      SUCCEEDED"), "\(done.text)\n\(server.output)")
        // The same service deployment, followed to its end.
        #expect(done.out.contains { $0.contains("followServiceDeployment") && $0.contains("ECS's deployment \(arn) succeeded") }, "\(done.text)")
        server.signal(SIGTERM)
        _ = try await server.exitStatus(within: .seconds(30))
        let saved = try String(contentsOf: dir.appendingPathComponent("data/simulator.json"), encoding: .utf8)
        #expect(saved.components(separatedBy: "\"serviceDeployments\"").count == 2, "one service with service deployments")
        #expect(saved.components(separatedBy: ":service-deployment").count == 2, "exactly one service deployment")
    }
}
