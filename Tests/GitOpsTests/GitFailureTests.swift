import CloudModel
import Foundation
import Testing
@testable import GitOps

@Suite struct GitFailureTests {
    @Test func missingBranchAndMissingRepository() async throws {
        let repo = try TestRepo()
        try repo.commit("deployment.yaml", Samples.seed, "seed")
        do {
            _ = try await repo.source(branch: "nope").poll()
            Issue.record("polled a missing branch")
        } catch {
            #expect(error.kind == .commandFailed)
            #expect(error.message.contains("cannot fetch branch 'nope'"))
            #expect(error.stderr.contains("couldn't find remote ref"))
            #expect(error.exitCode != nil)
        }
        let gone = repo.root.appendingPathComponent("no-such-repo").path
        await #expect(throws: GitError.self) { try await repo.source(repo: gone).poll() }
    }

    @Test func credentialsNeverShow() async throws {
        let repo = try TestRepo()
        let secretURL = "https://deploy-bot:s3cr3t-t0ken@127.0.0.1:9/org/manifests.git"
        let source = try repo.source(repo: secretURL, timeout: .seconds(30))
        #expect(source.configuration.redactedRepo == "https://***@127.0.0.1:9/org/manifests.git")
        do {
            _ = try await source.poll()
            Issue.record("fetched from a closed port")
        } catch {
            #expect(!error.description.contains("s3cr3t"))
            #expect(!"\(error.command ?? "") \(error.stderr) \(error.message)".contains("s3cr3t"))
            #expect(error.description.contains("https://***@127.0.0.1:9/org/manifests.git"))
        }
    }

    @Test func redaction() {
        #expect(CredentialRedaction.redact("fatal: unable to access 'https://u:p@host/x.git/': refused")
            == "fatal: unable to access 'https://***@host/x.git/': refused")
        #expect(CredentialRedaction.redact("https://token@host/a and http://a:b@h2:80/b")
            == "https://***@host/a and http://***@h2:80/b")
        #expect(CredentialRedaction.redact("git@github.com:org/repo.git") == "git@github.com:org/repo.git")
        #expect(CredentialRedaction.redact("https://host/a@b") == "https://host/a@b")
        #expect(GitError(.commandFailed, "x", stderr: "  https://a:b@h/  \n").stderr == "https://***@h/")
    }

    /// A stand-in for git that hangs.
    func hangingGit(_ repo: TestRepo) throws -> String {
        let script = repo.root.appendingPathComponent("slow-git")
        try "#!/bin/sh\nsleep 30\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        return script.path
    }

    @Test func aHangingCommandTimesOut() async throws {
        let repo = try TestRepo()
        let source = try repo.source(timeout: .milliseconds(300), git: hangingGit(repo))
        let start = ContinuousClock.now
        do {
            _ = try await source.poll()
            Issue.record("a hanging git finished")
        } catch {
            #expect(error.kind == .timedOut)
            #expect(error.message.contains("did not finish in"))
        }
        // Far below "never": a hanging git that is not killed would hang the test run.
        #expect(ContinuousClock.now - start < .seconds(120))
    }

    @Test func cancellingStopsTheCommand() async throws {
        let repo = try TestRepo()
        let source = try repo.source(timeout: .seconds(600), git: hangingGit(repo))
        let start = ContinuousClock.now
        let task = Task { () -> GitError? in
            do throws(GitError) {
                _ = try await source.poll()
                return nil
            } catch {
                return error
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let error = await task.value
        #expect(error?.kind == .cancelled)
        // Well before the 600 s timeout: cancelling, not the timeout, ended it.
        #expect(ContinuousClock.now - start < .seconds(300))
    }

    @Test func missingGit() throws {
        let repo = try TestRepo()
        #expect(throws: GitError.self) { try repo.source(git: "/nonexistent/git") }
        do {
            _ = try repo.source(git: "/nonexistent/git")
        } catch {
            #expect(error.kind == .gitMissing)
        }
        #expect(GitRunner.locate(nil, path: "/nonexistent") == nil)
        #expect(GitRunner.locate(nil, path: nil) != nil)
    }

    @Test func configurationIsChecked() throws {
        let state = URL(fileURLWithPath: "/tmp/unused")
        func check(repo: String = "/srv/repo", branch: String = "main", path: String = "deployment.yaml") -> GitError? {
            do {
                _ = try GitSourceConfiguration(repo: repo, branch: branch, path: path, stateDirectory: state).validated()
                return nil
            } catch {
                return error
            }
        }
        #expect(check() == nil)
        #expect(check(repo: " ")?.message == "repo: is required")
        #expect(check(repo: "--upload-pack=evil")?.kind == .invalidConfiguration)
        for branch in ["", "-x", "a..b", "a b", "x.lock", "a:b", "refs/heads/../x", ".hidden"] {
            #expect(check(branch: branch)?.kind == .invalidConfiguration, "branch \(branch)")
        }
        #expect(check(branch: "release/2024-06") == nil)
        for path in ["", "../x.yaml", "deploy/", "a/../../b"] {
            #expect(check(path: path)?.kind == .invalidConfiguration, "path \(path)")
        }
        let relative = try GitSourceConfiguration(repo: "some/repo", stateDirectory: state).validated()
        #expect(relative.repo == FileManager.default.currentDirectoryPath + "/some/repo")
        #expect(GitSourceConfiguration.isLocalPath("/srv/repo"))
        #expect(GitSourceConfiguration.isLocalPath("./a:b"))
        #expect(!GitSourceConfiguration.isLocalPath("git@github.com:org/repo.git"))
        #expect(!GitSourceConfiguration.isLocalPath("file:///srv/repo"))
    }

    @Test func aCorruptStateFileIsReported() async throws {
        let repo = try TestRepo()
        try repo.commit("deployment.yaml", Samples.seed, "seed")
        try FileManager.default.createDirectory(at: repo.state, withIntermediateDirectories: true)
        try "{not json".write(to: repo.state.appendingPathComponent("last-seen.json"), atomically: true, encoding: .utf8)
        do {
            _ = try await repo.source().poll()
            Issue.record("read a corrupt state file")
        } catch {
            #expect(error.kind == .state)
        }
    }
}
