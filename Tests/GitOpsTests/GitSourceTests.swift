import Engine
import Foundation
import Testing
@testable import GitOps

@Suite struct GitSourceTests {
    /// The walk-through of the brief, against the repository by path and by file:// URL.
    @Test(arguments: [false, true])
    func pollsTheCommitsThatChangeTheManifest(byURL: Bool) async throws {
        let repo = try TestRepo()
        try repo.write("README.md", "services\n")
        let first = try repo.commit("deployment.yaml", Samples.three("1"), "Release 1")
        let source = try repo.source(repo: byURL ? URL(fileURLWithPath: repo.work.path).absoluteString : nil)
        #expect(try await source.lastSeenCommit() == nil)

        // First start: the head is released.
        let initial = try await source.poll()
        #expect(initial.count == 1)
        let change = try #require(initial.first)
        #expect(change.commit == first)
        #expect(change.author == "Ana Lima <ana@example.com>")
        #expect(change.subject == "Release 1")
        #expect(change.path == "deployment.yaml")
        #expect(change.text == Samples.three("1"))
        #expect(abs(change.date.timeIntervalSinceNow) < 600)
        #expect(try await source.lastSeenCommit() == first)
        #expect(try await source.poll().isEmpty)

        // Three images change in one commit.
        let second = try repo.commit("deployment.yaml", Samples.three("2"), "Release 2\n\nWith a body.")
        let next = try await source.poll()
        #expect(next.map(\.commit) == [second])
        #expect(next.first?.subject == "Release 2")
        let release = try #require(try next.first?.release())
        #expect(release.id == second)
        #expect(release.origin?.commit == second)
        #expect(release.entries.map(\.image) == ["registry.example.com/a:2", "registry.example.com/b:2", "registry.example.com/c:2"])

        // Another file only: nothing to release.
        try repo.commit("README.md", "docs only\n", "Docs")
        #expect(try await source.poll().isEmpty)

        // A broken manifest is still reported, with its text; parsing it names file and line.
        let broken = Samples.three("3").replacingOccurrences(of: "    serviceName: svc-b\n", with: "    serviceNme: svc-b\n")
        let third = try repo.commit("deployment.yaml", broken, "Oops")
        let bad = try await source.poll()
        #expect(bad.map(\.commit) == [third])
        #expect(bad.first?.text == broken)
        #expect(throws: ManifestError.self) { try bad.first?.release() }
        do {
            _ = try bad.first?.release()
        } catch {
            #expect(error.file == "deployment.yaml")
            #expect(error.line == 7)
            #expect(error.field == "services[1].serviceName")
        }
        #expect(try await source.lastSeenCommit() == repo.git("rev-parse", "HEAD"))
    }

    @Test func severalCommitsComeOldestFirstAndOnlyThoseTouchingTheManifest() async throws {
        let repo = try TestRepo()
        try repo.commit("deployment.yaml", Samples.three("1"), "one")
        let source = try repo.source()
        _ = try await source.poll()
        let a = try repo.commit("deployment.yaml", Samples.three("2"), "two")
        try repo.commit("other.txt", "x", "unrelated")
        let b = try repo.commit("deployment.yaml", Samples.three("3"), "three")
        try repo.commit("other.txt", "y", "unrelated again")
        let changes = try await source.poll()
        #expect(changes.map(\.commit) == [a, b])
        #expect(changes.map(\.text) == [Samples.three("2"), Samples.three("3")])
    }

    @Test func firstPollCanJustRememberTheHead() async throws {
        let repo = try TestRepo()
        let head = try repo.commit("deployment.yaml", Samples.seed, "seed")
        let source = try repo.source(releaseHead: false)
        #expect(try await source.poll().isEmpty)
        #expect(try await source.lastSeenCommit() == head)
        let next = try repo.commit("deployment.yaml", Samples.three("1"), "next")
        #expect(try await source.poll().map(\.commit) == [next])
    }

    @Test func aRestartDoesNotReleaseAgain() async throws {
        let repo = try TestRepo()
        try repo.commit("deployment.yaml", Samples.seed, "seed")
        #expect(try await repo.source().poll().count == 1)
        // A new source on the same state folder (a restarted server).
        #expect(try await repo.source().poll().isEmpty)
        let next = try repo.commit("deployment.yaml", Samples.three("1"), "next")
        #expect(try await repo.source().poll().map(\.commit) == [next])
        // Watching another branch or path starts afresh.
        try repo.git("branch", "release")
        #expect(try await repo.source(branch: "release").poll().map(\.commit) == [next])
    }

    @Test func pendingChangesStayUntilAcknowledged() async throws {
        let repo = try TestRepo()
        let head = try repo.commit("deployment.yaml", Samples.seed, "seed")
        let source = try repo.source()
        let once = try await source.pending()
        let twice = try await source.pending()
        #expect(once == twice)
        #expect(once.head == head && once.changes.map(\.commit) == [head])
        try await source.acknowledge(head)
        #expect(try await source.pending() == GitPollResult(head: head, changes: []))
        await #expect(throws: GitError.self) { try await source.acknowledge("not-a-sha") }
    }

    @Test func deletedManifestAndManifestInAFolder() async throws {
        let repo = try TestRepo()
        try repo.commit("deploy/prod.yaml", Samples.seed, "seed")
        let source = try repo.source(path: "./deploy/prod.yaml")
        #expect(source.configuration.path == "deploy/prod.yaml")
        let first = try await source.poll()
        #expect(first.first?.text == Samples.seed)
        #expect(try first.first?.release().entries.first?.source == "deploy/prod.yaml:2")
        try repo.git("rm", "--quiet", "deploy/prod.yaml")
        let removal = try repo.commit("remove the manifest")
        let gone = try await source.poll()
        #expect(gone.map(\.commit) == [removal])
        #expect(gone.first?.text == nil)
        // A head without the manifest releases nothing at first start.
        let other = try TestRepo()
        try other.commit("README.md", "x", "no manifest")
        #expect(try await other.source().poll().isEmpty)
    }

    @Test func aMergeIsOneChange() async throws {
        let repo = try TestRepo()
        try repo.commit("deployment.yaml", Samples.three("1"), "one")
        let source = try repo.source()
        _ = try await source.poll()
        try repo.git("checkout", "--quiet", "-b", "feature")
        try repo.commit("deployment.yaml", Samples.three("2"), "feature two")
        try repo.commit("deployment.yaml", Samples.three("3"), "feature three")
        try repo.git("checkout", "--quiet", "main")
        try repo.git("-c", "user.name=Bo", "-c", "user.email=bo@example.com", "merge", "--quiet", "--no-ff", "-m", "Merge feature",
                     "feature")
        let merge = try repo.git("rev-parse", "HEAD")
        let changes = try await source.poll()
        #expect(changes.map(\.commit) == [merge])
        #expect(changes.first?.author == "Bo <bo@example.com>")
        #expect(changes.first?.text == Samples.three("3"))
    }

    @Test func aBranchResetToOlderHistoryReleasesTheHead() async throws {
        let repo = try TestRepo()
        let old = try repo.commit("deployment.yaml", Samples.three("1"), "one")
        try repo.commit("deployment.yaml", Samples.three("2"), "two")
        let source = try repo.source()
        _ = try await source.poll()
        try repo.git("reset", "--quiet", "--hard", old)
        let changes = try await source.poll()
        #expect(changes.map(\.commit) == [old])
        #expect(changes.first?.text == Samples.three("1"))
        // The rewritten commit is gone from the remote; a new source still knows it from its mirror.
        let rewritten = try repo.commit("deployment.yaml", Samples.three("4"), "four")
        #expect(try await source.poll().map(\.commit) == [rewritten])
    }

    @Test func changeAtACommit() async throws {
        let repo = try TestRepo()
        let first = try repo.commit("deployment.yaml", Samples.seed, "seed")
        try repo.commit("deployment.yaml", Samples.three("1"), "next")
        let source = try repo.source()
        _ = try await source.fetch()
        let change = try await source.change(at: first)
        #expect(change?.commit == first && change?.text == Samples.seed)
        await #expect(throws: GitError.self) { try await source.change(at: "--help") }
    }

    /// Hundreds of services in one manifest: more text than a pipe holds, and one release.
    @Test func aLargeManifest() async throws {
        let entries = (0..<600).map { i in
            "  - service: svc-\(i)\n    clusterName: prod\n    serviceName: service-\(i)\n    image: \"registry.example.com/team/svc-\(i):1.0.\(i)\"\n"
        }
        let text = "maxParallel: 50\nservices:\n" + entries.joined()
        #expect(text.utf8.count > 65_536)
        let repo = try TestRepo()
        try repo.commit("deployment.yaml", text, "big release")
        let changes = try await repo.source().poll()
        #expect(changes.first?.text == text)
        let release = try #require(try changes.first?.release())
        #expect(release.entries.count == 600)
        #expect(release.entries.last?.source == "deployment.yaml:2399")
    }
}
