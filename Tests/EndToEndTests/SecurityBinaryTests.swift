import Foundation
import Testing

/// The built programs with authentication on: `grpc-server token create`, tokens from every
/// source of the client, a token removed while the server runs, SIGHUP, the refusal to serve
/// anonymous callers on a public address, and no secret in any log.
@Suite(.timeLimit(.minutes(5)))
struct SecurityBinaryTests {
    static func writeConfig(_ dir: URL, _ text: String) throws -> String {
        let path = dir.appendingPathComponent("config.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func tokensCreatedByTheServerProgram() async throws {
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokensFile = dir.appendingPathComponent("secrets/tokens.yaml").path
        let config = try Self.writeConfig(dir, """
            server: {host: 127.0.0.1, port: 0, metrics_port: 0}
            mock: {enabled: true}
            auth: {tokens_file: \(tokensFile)}
            """)
        let created = try await ServerProcess.run(["token", "create", "ci-bot", "--role", "deployer", "--scope", "prod/*", "-config", config])
        #expect(created.code == 0, "\(created.text)")
        let token = try #require(created.out.last)
        #expect(token.hasPrefix("ecsd_") && created.out.dropLast().allSatisfy { !$0.contains(token) })
        let viewer = try #require(try await ServerProcess.run(["token", "create", "watcher", "--role", "viewer", "-config", config]).out.last)
        #expect(try String(contentsOfFile: tokensFile, encoding: .utf8).contains(token) == false, "only the hash is stored")
        let bad = try await ServerProcess.run(["token", "create", "x", "--role", "boss", "-config", config])
        #expect(bad.code == 1 && bad.text.contains("'boss' is not a role"), "\(bad.text)")

        let server = try await ServerProcess.start(arguments: ["-config", config], environment: ["HOME": dir.path], in: dir)
        let target = ["-server", "127.0.0.1:\(server.grpcPort)"]
        let anonymous = try await ServerProcess.client(target + ["-action", "list"])
        #expect(anonymous.code == 1 && anonymous.text.contains("UNAUTHENTICATED"), "\(anonymous.text)")
        let deploy = target + ["-id", "t1", "-cluster", "prod", "-service", "web", "-taskdef", #"{"family":"web"}"#, "-action", "deploy"]
        var env = ProcessInfo.processInfo.environment
        env["ECS_DEPLOY_TOKEN"] = token
        #expect(try await ServerProcess.client(deploy, environment: env).code == 0)
        let tokenFile = dir.appendingPathComponent("viewer.token").path
        try "\(viewer)\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let status = try await ServerProcess.client(target + ["-token-file", tokenFile, "-id", "t1", "-action", "status"])
        #expect(status.code == 0 && status.text.contains("Requested by: token:ci-bot"), "\(status.text)")

        // ci-bot's entry removed while the server runs: its token stops working at once.
        let kept = try String(contentsOfFile: tokensFile, encoding: .utf8).components(separatedBy: "  - name: ")
            .filter { !$0.hasPrefix("\"ci-bot\"") }.joined(separator: "  - name: ")
        try kept.write(toFile: tokensFile, atomically: true, encoding: .utf8)
        let removed = try await ServerProcess.client(target + ["-token", token, "-action", "list"])
        #expect(removed.code == 1 && removed.text.contains("UNAUTHENTICATED"), "\(removed.text)")
        // SIGHUP reads the file again and does not stop the server.
        server.signal(SIGHUP)
        // The server says it read the file again (within 30 s even on a busy machine).
        var waited = 0
        while !server.output.contains("SIGHUP"), waited < 3000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(server.output.contains("SIGHUP"), "\(server.output)")
        #expect(try await ServerProcess.client(target + ["-token", viewer, "-action", "list"]).code == 0, "\(server.output)")
        server.signal(SIGTERM)
        #expect(try await server.exitStatus(within: .seconds(45)) == 0, "\(server.output)")
    }

    @Test func noAnonymousCallersOnAPublicAddress() async throws {
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try Self.writeConfig(dir, "server: {port: 0, metrics_port: 0}\n")
        let env = ["HOME": dir.path, "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
                   "AWS_SECRET_ACCESS_KEY": "not-used", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"]
        do {
            let server = try await ServerProcess.start(arguments: ["-config", config], environment: env, in: dir)
            server.signal(SIGKILL)
            Issue.record("the server started on 0.0.0.0 with no authentication")
        } catch let failure as ServerProcess.StartFailure {
            #expect(failure.status == 1)
            #expect(failure.output.contains("refusing to start") && failure.output.contains("auth.tokens_file"), "\(failure.output)")
        }
    }

    /// A token, an AWS secret key and a hook URL's credentials planted in the environment, the
    /// config and the requests: none reaches the server's log (at debug level), the audit log,
    /// or an answer.
    @Test func secretsReachNoLog() async throws {
        let planted = "PLANTED-\(UUID().uuidString.prefix(8))"
        let stub = try HookStub.start()
        defer { stub.stop() }
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokensFile = dir.appendingPathComponent("tokens.yaml").path
        let hook = "http://hook-user:\(planted)@127.0.0.1:\(stub.port)"
        let config = try Self.writeConfig(dir, """
            server: {host: 127.0.0.1, port: 0, metrics_port: 0}
            mock: {enabled: true, speedup: 1000}
            auth: {tokens_file: \(tokensFile)}
            strategy:
              hooks:
                definitions:
                  notify: "\(hook)/ok/done?token=\(planted)"
                  gate: "\(hook)/fail/pre?token=\(planted)"
            """)
        let token = try #require(try await ServerProcess.run(["token", "create", "ops", "--role", "admin", "-config", config]).out.last)
        let env = ["HOME": dir.path, "LOG_LEVEL": "debug", "AWS_SECRET_ACCESS_KEY": planted, "ECS_DEPLOY_TOKEN": token]
        let server = try await ServerProcess.start(arguments: ["-config", config], environment: env, in: dir)
        let target = ["-server", "127.0.0.1:\(server.grpcPort)", "-token", token]
        func deploy(_ id: String, _ strategy: String, _ settings: String) async throws -> ClientResult {
            try await ServerProcess.client(target + ["-id", id, "-cluster", "prod", "-service", id, "-taskdef", #"{"family":"web"}"#,
                                                     "-strategy", strategy, "-config", settings, "-wait"])
        }
        let ok = try await deploy("s1", "quicksync", #"{"hook_post_success":"notify"}"#)
        #expect(ok.code == 0, "\(ok.text)")
        let failed = try await deploy("s2", "canary", #"{"hook_pre_traffic":"gate"}"#)
        #expect(failed.code == 1 && failed.text.contains("ROLLED_BACK"), "\(failed.text)")
        let refused = try await deploy("s3", "quicksync", #"{"health_check_url":"http://u:\#(planted)@169.254.169.254/?k=\#(planted)"}"#)
        #expect(refused.code == 1 && refused.text.contains("PERMISSION_DENIED"), "\(refused.text)")
        #expect(try await ServerProcess.client(target + ["-token", "ecsd_wrong-\(planted)", "-action", "list"]).code == 1)
        #expect(stub.received.contains { $0.path.hasPrefix("/ok/done") }, "the hooks were called")
        var outputs = [ok.text, failed.text, refused.text]
        for id in ["s1", "s2"] { outputs.append(try await ServerProcess.client(target + ["-id", id, "-action", "status"]).text) }
        server.signal(SIGTERM)
        #expect(try await server.exitStatus(within: .seconds(45)) == 0)
        let audit = try String(contentsOfFile: dir.appendingPathComponent("data/audit.log").path, encoding: .utf8)
        #expect(audit.contains("auth.refused"), "refused calls are audited")
        for (name, text) in [("server log", server.output), ("audit log", audit)] + outputs.map({ ("answer", $0) }) {
            #expect(!text.contains(planted), "\(name) shows the planted secret")
            #expect(!text.contains(token), "\(name) shows the token")
        }
    }

    /// The keyed audit chain and the server's anchor, through the built server: a log whose
    /// last line was dropped stops the next start until it is acknowledged.
    @Test func auditLogCheckedAtStart() async throws {
        let dir = try ServerProcess.workingDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyFile = dir.appendingPathComponent("audit.key").path
        try "f3b1c2d4e5f60718293a4b5c6d7e8f90aabbccddeeff00112233445566778899\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        let config = try Self.writeConfig(dir, """
            server: {host: 127.0.0.1, port: 0, metrics_port: 0}
            mock: {enabled: true, speedup: 1000}
            audit: {key_file: \(keyFile)}
            storage: {path: \(dir.path)/data/ecs-deploy.sqlite}
            """)
        let env = ["HOME": dir.path]
        let server = try await ServerProcess.start(arguments: ["-config", config], environment: env, in: dir)
        let deploy = try await ServerProcess.client(["-server", "127.0.0.1:\(server.grpcPort)", "-id", "a1", "-cluster", "prod",
                                                     "-service", "web", "-taskdef", #"{"family":"web"}"#, "-action", "deploy", "-wait"])
        #expect(deploy.code == 0, "\(deploy.text)")
        server.signal(SIGTERM)
        #expect(try await server.exitStatus(within: .seconds(45)) == 0)

        let audit = dir.appendingPathComponent("data/audit.log").path
        let lines = try String(contentsOfFile: audit, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count >= 3 && lines.allSatisfy { $0.contains(#""chain":"hmac-sha256""#) })
        let verified = try await ServerProcess.run(["audit", "verify", audit, "--key-file", keyFile, "--expect-last-seq", "\(lines.count)"])
        #expect(verified.code == 0 && verified.text.contains("chain intact"), "\(verified.text)")
        let unkeyed = try await ServerProcess.run(["audit", "verify", audit])
        #expect(unkeyed.code == 1 && unkeyed.text.contains("--key-file"), "\(unkeyed.text)")

        // The last line dropped: the chain alone cannot tell, the expected end and the anchor can.
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: audit, atomically: true, encoding: .utf8)
        #expect(try await ServerProcess.run(["audit", "verify", audit, "--key-file", keyFile]).code == 0)
        let short = try await ServerProcess.run(["audit", "verify", audit, "--key-file", keyFile, "--expect-last-seq", "\(lines.count)"])
        #expect(short.code == 1 && short.text.contains("lines were removed"), "\(short.text)")
        do {
            let again = try await ServerProcess.start(arguments: ["-config", config], environment: env, in: dir)
            again.signal(SIGKILL)
            Issue.record("the server started on a log that lost its last line")
        } catch let failure as ServerProcess.StartFailure {
            #expect(failure.status == 1 && failure.output.contains("is not as the server left it"), "\(failure.output)")
            #expect(failure.output.contains("audit acknowledge"))
        }
        let ack = try await ServerProcess.run(["audit", "acknowledge", "--reason", "restored from backup", "-config", config])
        #expect(ack.code == 0 && ack.text.contains("taken as it is"), "\(ack.text)")
        let restarted = try await ServerProcess.start(arguments: ["-config", config], environment: env, in: dir)
        restarted.signal(SIGTERM)
        #expect(try await restarted.exitStatus(within: .seconds(45)) == 0)
        let after = try String(contentsOfFile: audit, encoding: .utf8)
        #expect(after.contains("audit.mismatch_acknowledged") && after.contains("restored from backup"))
    }
}
