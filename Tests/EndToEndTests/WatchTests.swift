import Testing

/// `-action watch` follows a deployment that is already running: live stage and percent
/// lines, then one outcome line, and an exit code that says how it ended.
@Suite struct WatchTests {
    static func taskdef(_ image: String) -> String {
        #"{"family":"web","containerDefinitions":[{"name":"app","image":"\#(image)"}]}"#
    }

    @Test func watchFollowsADeploymentToSuccess() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        let accepted = await t.client(["-id", "w1", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef("nginx:1.9")])
        #expect(accepted.code == 0, "\(accepted.text)")
        #expect(accepted.out.last == "Follow it with: grpc-client -action watch -id w1")
        let watched = try await t.driving { await t.client(["-id", "w1", "-action", "watch"]) }
        #expect(watched.code == 0, "\(watched.text)")
        // Stage lines carry the percent done and the stage's name.
        #expect(watched.out.contains { $0.contains("stage.succeeded waitForStability") }, "\(watched.text)")
        #expect(watched.out.contains { $0.contains("[100%] SUCCEEDED deployment.succeeded") }, "\(watched.text)")
        #expect(watched.out.contains { $0.range(of: #"\[ *[0-9]+%\] IN_PROGRESS stage\.started"#, options: .regularExpression) != nil })
        #expect(watched.out.last?.hasPrefix("Deployment w1: SUCCEEDED") == true, "\(watched.text)")
        try await t.stop()
    }

    @Test func watchExitsNonZeroWhenTheDeploymentIsRolledBack() async throws {
        let t = try await TestServer()
        try t.seedService(name: "web")
        _ = await t.client(["-id", "w2", "-cluster", "prod", "-service", "web", "-taskdef", Self.taskdef("nginx:2-unhealthy")])
        let watched = try await t.driving { await t.client(["-id", "w2", "-action", "watch"]) }
        #expect(watched.code != 0)
        #expect(watched.out.contains { $0.contains("rollback.started") }, "\(watched.text)")
        #expect(watched.out.last?.hasPrefix("Deployment w2: ROLLED_BACK") == true, "\(watched.text)")
        // Watching a finished deployment replays it and gives the same answer.
        let again = await t.client(["-id", "w2", "-action", "watch"])
        #expect(again.code == watched.code)
        #expect(again.out.last == watched.out.last)
        let missing = await t.client(["-id", "nope", "-action", "watch"])
        #expect(missing.code != 0)
        #expect(missing.err.joined().contains("nope"), "\(missing.text)")
        try await t.stop()
    }
}
