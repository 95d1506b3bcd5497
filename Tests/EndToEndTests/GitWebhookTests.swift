import Access
import DeployAPI
import Engine
import Foundation
@testable import Server
import Testing

/// `POST /hooks/git` signed with `gitops.webhook_secret`, and a Git release that the author of
/// its commit cannot approve.
@Suite struct GitWebhookTests {
    @Test func signedWebhooksAndTheCommitAuthorCannotApprove() async throws {
        let repo = FileManager.default.temporaryDirectory.appendingPathComponent("gitops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: repo, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: repo) }
        let file = repo.appendingPathComponent("deployment.yaml")
        func manifest(_ version: Int) -> String {
            "approval: required\nservices:\n  - service: api\n    clusterName: prod\n    serviceName: api\n    image: repo/api:\(version)\n"
        }
        try await GitOpsReleaseTests.git(["init", "-q", "-b", "main"], in: repo)
        try manifest(2).write(to: file, atomically: true, encoding: .utf8)
        try await GitOpsReleaseTests.git(["add", "."], in: repo)
        try await GitOpsReleaseTests.git(["commit", "-q", "-m", "api 2"], in: repo)
        let first = try await GitOpsReleaseTests.head(repo)

        // The commits are by "Release Bot <bot@example.com>" (GitOpsReleaseTests.git).
        let (path, tokens) = try AccessControlTests.tokens([
            "bot": ([.approver], [], "bot@example.com"), "alice": ([.approver], [], "alice@example.com"),
        ])
        let t = try await TestServer(configure: {
            var git = ServerConfigGitOps.make(repo: repo.path)
            git.pollInterval = .seconds(3600)
            git.webhookSecret = "webhook-secret"
            $0.gitops = git
            $0.security.tokensFile = path
        }, apiToken: tokens["alice"]) { try $0.service(name: "api", image: "repo/api:1", desiredCount: 1) }

        // The first poll, at start, plans the head's release, which waits for approval.
        try await waitFor(t) { (try? await t.server.releases.status(id: first))?.status == .pendingApproval }
        let own = await t.client(["-token", tokens["bot"]!, "-id", first, "-action", "approve"])
        #expect(own.text.contains("wrote commit \(first.prefix(12))") && own.text.contains("PERMISSION_DENIED"), "\(own.text)")
        #expect(await t.client(["-token", tokens["alice"]!, "-id", first, "-action", "approve"]).code == 0)
        // A release from Git is found by a short commit hash, as git finds a commit.
        let short = await t.client(["-token", tokens["alice"]!, "-id", String(first.prefix(7)), "-action", "status"])
        #expect(short.code == 0 && short.text.contains(first), "\(short.text)")

        // A new commit: only a signed webhook starts a poll.
        try manifest(3).write(to: file, atomically: true, encoding: .utf8)
        try await GitOpsReleaseTests.git(["commit", "-q", "-am", "api 3"], in: repo)
        let second = try await GitOpsReleaseTests.head(repo)
        let body = #"{"ref":"refs/heads/main"}"#
        let signature = WebhookSignature(secret: "webhook-secret")
        #expect(try await t.http("/hooks/git", method: "POST", body: body).status == 401)
        #expect(try await t.http("/hooks/git", method: "POST", headers: ["X-Hub-Signature-256": WebhookSignature(secret: "guess")
            .githubSignature(of: Array(body.utf8))], body: body).status == 401)
        #expect(try await t.http("/hooks/git", method: "POST", headers: ["X-Gitlab-Token": "wrong"], body: body).status == 401)
        #expect(try await t.http("/hooks/git", method: "POST", headers: ["X-Hub-Signature-256": signature.githubSignature(of: Array("{}".utf8))],
                                 body: body).status == 401, "a signature of another body")
        let metrics = try await t.http("/metrics").body
        #expect(metrics.contains(#"ecs_auth_failures_total{reason="bad_webhook_signature"} 4"#))
        #expect(await t.server.releases.contains(second) == false)
        let signed = try await t.http("/hooks/git", method: "POST",
                                      headers: ["X-Hub-Signature-256": signature.githubSignature(of: Array(body.utf8))], body: body)
        #expect(signed.status == 202, "\(signed.body)")
        try await waitFor(t) { await t.server.releases.contains(second) }
        #expect(try await t.http("/hooks/git", method: "POST", headers: ["X-Gitlab-Token": "webhook-secret"], body: body).status == 202)
        try await t.stop()
    }

    /// Moves the clock until `condition` holds (polls and plans wait on the clock).
    func waitFor(_ t: TestServer, _ condition: @escaping @Sendable () async -> Bool) async throws {
        try await t.driving(maxSimulated: .seconds(24 * 3600)) {
            while await !condition() { try await Task.sleep(for: .milliseconds(5)) }
        }
    }
}
