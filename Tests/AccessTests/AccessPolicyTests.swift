@testable import Access
import CloudModel
import Foundation
import Testing

@Suite("Roles, scopes and approvals")
struct AccessPolicyTests {
    @Test func scopePatterns() throws {
        #expect(try ScopePattern("prod/*").matches("prod/api"))
        #expect(try !ScopePattern("prod/*").matches("production/api"))
        #expect(try ScopePattern("staging/api-*").matches("staging/api-orders"))
        #expect(try !ScopePattern("staging/api-*").matches("staging/web"))
        #expect(try ScopePattern("*").matches("anything/at-all"))
        #expect(try ScopePattern("p?od/*").matches("prod/x"))
        #expect(throws: AccessConfigError.self) { try ScopePattern("  ") }
    }

    @Test func denyBeatsAllowAndPermissionsFollowRoles() throws {
        let bob = Principal(method: .token, name: "bob", grants: [Grant(role: .deployer, scopes: [try ScopePattern("prod/*")])])
        var policy = AccessPolicy(bindings: [
            .init(principals: [try ScopePattern("token:bob")], grant: Grant(role: .deployer, scopes: [try ScopePattern("prod/payments")], deny: true)),
        ])
        #expect(policy.allows(bob, .deploy, in: "prod/api"))
        #expect(policy.allows(bob, .view, in: "prod/api"))
        #expect(!policy.allows(bob, .approve, in: "prod/api"))
        #expect(!policy.allows(bob, .deploy, in: "prod/payments"))
        #expect(!policy.allows(bob, .deploy, in: "staging/api"))
        #expect(throws: AccessDenied(principal: "token:bob", permission: .deploy, scope: "staging/api")) {
            try policy.check(bob, .deploy, in: ["prod/api", "staging/api"])
        }
        let ci = Principal(method: .oidc, name: "repo:org/app:ref:refs/heads/main", groups: ["release-managers"])
        policy.bindings.append(.init(groups: ["release-managers"], grant: Grant(role: .approver)))
        #expect(policy.allows(ci, .approve, in: "prod/api"))
        #expect(!policy.allows(ci, .deploy, in: "prod/api"))
        #expect(!policy.allows(.anonymous, .view, in: "prod/api"))
        #expect(AccessPolicy(anonymousIsAdmin: true).allows(.anonymous, .override, in: "prod/api"))
    }

    @Test func requiredApprovalsTakeTheLargestMatchingRule() throws {
        let policy = AccessPolicy(approvalRules: [.init(scope: try ScopePattern("prod/*"), count: 2),
                                                 .init(scope: try ScopePattern("staging/*"), count: 1)])
        #expect(policy.requiredApprovals(for: ["prod/api"]) == 2)
        #expect(policy.requiredApprovals(for: ["staging/api"]) == 1)
        #expect(policy.requiredApprovals(for: ["staging/api", "prod/web"]) == 2)
        #expect(policy.requiredApprovals(for: ["dev/api"]) == 1)
        #expect(AccessPolicy.scope(cluster: "arn:aws:ecs:us-east-1:1:cluster/prod", service: "arn:aws:ecs:us-east-1:1:service/prod/api") == "prod/api")
    }

    @Test func urlPolicy() throws {
        let policy = URLPolicy(allowedPrefixes: ["https://health.example.com/checks/", "http://127.0.0.1:8080"])
        try policy.check("https://health.example.com/checks/api", field: "config.health_check_url")
        try policy.check("http://127.0.0.1:8080/ok", field: "config.health_check_url")
        for bad in ["https://health.example.com/other", "http://127.0.0.1:8081/ok", "https://health.example.com.evil.net/checks/",
                    "http://127.0.0.1:8080@evil.net/", "file:///etc/passwd", "http://169.254.169.254/latest/meta-data/"] {
            #expect(throws: URLRefused.self, "\(bad)") { try policy.check(bad, field: "config.health_check_url") }
        }
        let open = URLPolicy(allowedPrefixes: nil)
        try open.check("http://localhost:1234/x", field: "f")
        for metadata in ["http://169.254.169.254/latest/", "http://[fd00:ec2::254]/latest/", "http://[fe80::1]/", "http://[::ffff:169.254.169.254]/"] {
            #expect(throws: URLRefused.self, "\(metadata)") { try open.check(metadata, field: "f") }
        }
        #expect(throws: URLRefused.self) { try URLPolicy(allowedPrefixes: []).check("https://example.com/", field: "f") }
        do {
            try URLPolicy(allowedPrefixes: []).check("https://user:s3cret@example.com/?token=s3cret", field: "config.health_check_url")
        } catch {
            #expect(!"\(error)".contains("s3cret"))
            #expect("\(error)".contains("config.health_check_url"))
        }
    }

    @Test func redaction() {
        #expect(CredentialRedaction.redact("see https://user:pw@example.com/x?token=abc&x=1#frag now")
            == "see https://***@example.com/x?token=***&x=***#frag now")
        #expect(CredentialRedaction.redact("http://example.com/plain") == "http://example.com/plain")
        #expect(CredentialRedaction.redact("no url here") == "no url here")
    }

    @Test func webhookSignatures() {
        let signature = WebhookSignature(secret: "hook-secret")
        let body = Array("{\"ref\":\"refs/heads/main\"}".utf8)
        let good = signature.githubSignature(of: body)
        #expect(signature.accepts(body: body, githubSignature: good, gitlabToken: nil))
        #expect(!signature.accepts(body: body + [0x20], githubSignature: good, gitlabToken: nil))
        #expect(!signature.accepts(body: body, githubSignature: WebhookSignature(secret: "other").githubSignature(of: body), gitlabToken: nil))
        #expect(!signature.accepts(body: body, githubSignature: "sha1=abc", gitlabToken: nil))
        #expect(signature.accepts(body: body, githubSignature: nil, gitlabToken: "hook-secret"))
        #expect(!signature.accepts(body: body, githubSignature: nil, gitlabToken: "hook-secreT"))
        #expect(!signature.accepts(body: body, githubSignature: nil, gitlabToken: nil))
    }
}
