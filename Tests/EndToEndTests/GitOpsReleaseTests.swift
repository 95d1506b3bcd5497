import CloudModel
import DeployAPI
import Foundation
import MotoHarness
import Server
import Testing

/// A real git repository drives releases on the simulator through the real server.
@Suite struct GitOpsReleaseTests {
    static func git(_ args: [String], in dir: URL) async throws {
        try await offThePool { try gitNow(args, in: dir) }
    }

    static func gitNow(_ args: [String], in dir: URL) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-c", "user.name=Release Bot", "-c", "user.email=bot@example.com"] + args
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestFailure("git \(args.joined(separator: " ")) failed") }
    }

    static func head(_ dir: URL) async throws -> String {
        try await offThePool { try headNow(dir) }
    }

    static func headNow(_ dir: URL) throws -> String {
        let p = Process()
        let out = Pipe()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "rev-parse", "HEAD"]
        p.currentDirectoryURL = dir
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func manifest(version: (Int) -> String) -> String {
        var text = "tasks:\n"
        for t in 1...2 { text += "  - service: job-\(t)\n    cwRuleName: job-\(t)-schedule\n    image: repo/job-\(t):2\n" }
        text += "services:\n"
        for i in 1...50 { text += "  - service: svc-\(i)\n    clusterName: prod\n    serviceName: svc-\(i)\n    image: repo/svc-\(i):\(version(i))\n" }
        return text
    }

    func get(_ t: TestServer, _ id: String) async -> Deployment_V1_Release? {
        try? await t.withAPI { api in
            var request = Deployment_V1_GetStatusRequest()
            request.deploymentID = id
            return try await api.getRelease(request)
        }
    }

    /// Moves the clock until the poller has recorded the release and it has ended (planning
    /// itself waits on the clock: the client-side rate limits pace its reads).
    func release(_ t: TestServer, _ id: String) async throws -> Deployment_V1_Release {
        try await t.driving(maxSimulated: .seconds(30 * 24 * 3600)) {
            while true {
                if let found = await get(t, id), [.succeeded, .failed, .rolledBack, .rejected].contains(found.status) { return found }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    // The test is about git, not deadlines: a stage timeout far beyond the release's length
    // keeps a leap of the test clock (while a busy machine delays some deployment's work)
    // from failing a deployment.
    @Test
    func commitsToTheRepositoryReleaseTheManifest() async throws {
        let repo = FileManager.default.temporaryDirectory.appendingPathComponent("gitops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: repo) }
        try await Self.git(["init", "-q", "-b", "main"], in: repo)
        let file = repo.appendingPathComponent("deployment.yaml")
        try Self.manifest { _ in "2" }.write(to: file, atomically: true, encoding: .utf8)
        try await Self.git(["add", "."], in: repo)
        try await Self.git(["commit", "-q", "-m", "release 2"], in: repo)
        let first = try await Self.head(repo)

        let data = repo.deletingLastPathComponent().appendingPathComponent("data-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let t = try await TestServer(configure: {
            var git = ServerConfigGitOps.make(repo: repo.path)
            git.pollInterval = .seconds(3600)
            $0.gitops = git
            $0.storagePath = data.appendingPathComponent("history.sqlite").path
            $0.deployment.timeout = .seconds(30 * 24 * 3600)
        }, seed: { seeder in
            for i in 1...50 { try seeder.service(name: "svc-\(i)", image: "repo/svc-\(i):1", desiredCount: 1) }
            for j in 1...2 {
                let td = try seeder.sim.seedTaskDefinition(family: "job-\(j)", image: "repo/job-\(j):1")
                seeder.sim.createEventRule(name: "job-\(j)-schedule", targets: [RuleTarget(json: .object([
                    "Id": .string("run"), "Arn": .string("arn:aws:ecs:us-east-1:123456789012:cluster/prod"), "Input": .string("{}"),
                    "EcsParameters": .object(["TaskDefinitionArn": .string(td.arn!), "TaskCount": .number(1)]),
                ]))])
            }
        })
        // The first poll, at start, releases the head.
        let r = try await release(t, first)
        #expect(r.status == .succeeded, "\(r.error) \(r.entries.filter { !$0.error.isEmpty }.prefix(3).map(\.error))")
        #expect(r.commit == first && r.author.contains("Release Bot") && r.commitMessage == "release 2")
        for i in 1...50 {
            let td = try t.sim.describeTaskDefinition(try #require(t.service("svc-\(i)")?.taskDefinition))
            #expect(td.images.map(\.image) == ["repo/svc-\(i):2"])
        }
        for j in 1...2 {
            let target = try #require(try t.sim.listTargetsByRule(rule: "job-\(j)-schedule").first)
            #expect(try t.sim.describeTaskDefinition(target.taskDefinitionArn!).images.map(\.image) == ["repo/job-\(j):2"])
            #expect(target.json["Input"] == .string("{}"))
        }

        // A second commit changes three images: exactly those three change.
        try Self.manifest { [7, 21, 42].contains($0) ? "3" : "2" }.write(to: file, atomically: true, encoding: .utf8)
        try await Self.git(["commit", "-q", "-am", "three services to 3"], in: repo)
        let second = try await Self.head(repo)
        _ = try await t.http("/hooks/git", method: "POST")
        let r2 = try await release(t, second)
        #expect(r2.status == .succeeded, "\(r2.error)")
        #expect(r2.entries.filter { $0.status == "SUCCEEDED" }.map(\.label).sorted() == ["svc-21", "svc-42", "svc-7"])
        #expect(r2.entries.filter { $0.status == "SKIPPED" }.count == 49)
        #expect(try t.sim.describeTaskDefinition(t.service("svc-7")!.taskDefinition!).images.map(\.image) == ["repo/svc-7:3"])
        #expect(t.service("svc-8")?.taskDefinition?.hasSuffix("svc-8:2") == true)

        // A broken manifest: a failed release record, and the server keeps serving.
        try "services:\n  - service: a\n    imgae: x\n".write(to: file, atomically: true, encoding: .utf8)
        try await Self.git(["commit", "-q", "-am", "oops"], in: repo)
        let third = try await Self.head(repo)
        _ = try await t.http("/hooks/git", method: "POST")
        let r3 = try await release(t, third)
        #expect(r3.status == .failed)
        #expect(r3.error.contains("deployment.yaml:3"), "\(r3.error)")
        #expect(try await t.http("/health").body == "OK")
        try await t.stop()
    }
}

/// Builds the server's gitops settings.
enum ServerConfigGitOps {
    static func make(repo: String) -> Server.ServerConfig.GitOpsConfig { .init(repo: repo) }
}
