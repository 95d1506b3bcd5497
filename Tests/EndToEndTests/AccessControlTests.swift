import Access
import AuthTestSupport
import DeployAPI
import Engine
import Foundation
import Logging
@testable import Server
import Simulator
import Testing

/// Who may call, and what: tokens, OIDC and roles through the real server and client.
@Suite struct AccessControlTests {
    static let taskdef = #"{"family":"web","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#

    /// A tokens file with one token per name: (roles, scopes, email).
    static func tokens(_ spec: [String: ([Role], [String], String?)]) throws -> (path: String, tokens: [String: String]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("auth-\(UUID().uuidString)")
        let path = dir.appendingPathComponent("tokens.yaml").path
        var out: [String: String] = [:]
        for name in spec.keys.sorted() {
            let (roles, scopes, email) = spec[name]!
            out[name] = try TokenStore.create(name: name, roles: roles, scopes: try scopes.map(ScopePattern.init), email: email, path: path)
        }
        return (path, out)
    }

    static var autoCreate: SimulatorSettings {
        var s = SimulatorSettings()
        s.autoCreate = true
        s.autoCreateController = .external
        return s
    }

    static func deployArgs(_ id: String, cluster: String = "prod", service: String = "web", config: String = #"{"require_approval":"true"}"#)
        -> [String] {
        ["-id", id, "-cluster", cluster, "-service", service, "-taskdef", taskdef, "-strategy", "quicksync", "-config", config]
    }

    func denied(_ r: ClientResult) -> Bool { r.code == 1 && r.text.contains("(PERMISSION_DENIED)") }

    @Test func callsWithoutValidCredentialsAreRefusedAlike() async throws {
        let (path, tokens) = try Self.tokens(["ci": ([.deployer], [], nil)])
        let t = try await TestServer(configure: { $0.security.tokensFile = path }, simulator: Self.autoCreate)
        let none = await t.client(["-action", "list"])
        let wrong = await t.client(["-token", "ecsd_not-a-token", "-action", "list"])
        let jwtLike = await t.client(["-token", "a.b.c", "-action", "list"])
        for r in [none, wrong, jwtLike] {
            #expect(r.code == 1)
            #expect(r.text == "error: \(AuthInterceptor.message) (UNAUTHENTICATED)", "\(r.text)")
        }
        #expect(await t.client(["-token", tokens["ci"]!, "-action", "list"]).code == 0)
        // The health service answers without credentials (load balancers ask it).
        let metrics = try await t.http("/metrics").body
        #expect(metrics.contains(#"ecs_auth_failures_total{reason="missing"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"ecs_auth_failures_total{reason="bad_token"} 2"#), "\(metrics)")
        try await t.stop()
    }

    /// Every RPC with every role, for each way of proving who calls: allowed calls get past
    /// authorization (an answer, or an error of the engine's), refused ones get PERMISSION_DENIED.
    @Test(arguments: ["token", "oidc", "mtls"])
    func roleByRPCMatrix(credential: String) async throws {
        let roles: [Role] = [.viewer, .deployer, .approver, .admin]
        let names = roles.map(\.rawValue) + ["prod-deployer"]
        func grant(_ name: String) -> Grant {
            name == "prod-deployer" ? Grant(role: .deployer, scopes: [try! ScopePattern("prod/*")]) : Grant(role: Role(rawValue: name)!)
        }
        var args: [String: [String]] = [:]
        let prefix: String
        let configure: @Sendable (inout ServerConfig) -> Void
        switch credential {
        case "token":
            var spec: [String: ([Role], [String], String?)] = [:]
            for name in names { spec[name] = ([grant(name).role], grant(name).scopes.map(\.pattern).filter { $0 != "*" }, nil) }
            let (path, tokens) = try Self.tokens(spec)
            for name in names { args[name] = ["-token", tokens[name]!] }
            prefix = "token:"
            configure = { $0.security.tokensFile = path }
        case "oidc":
            let issuer = TestIssuer()
            let jwks = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString).json")
            try issuer.jwks().write(to: jwks)
            var oidc = OIDCSettings(issuer: "https://issuer.example.com", audience: "ecs-deploy")
            oidc.jwksFile = jwks.path
            let exp = Int(Date().timeIntervalSince1970) + 3600
            for name in names {
                args[name] = ["-token", issuer.token(claims: ["iss": oidc.issuer, "aud": "ecs-deploy", "sub": name, "exp": exp])]
            }
            prefix = "oidc:"
            let bindings = names.map { AccessPolicy.Binding(principals: [try! ScopePattern("oidc:\($0)")], grant: grant($0)) }
            configure = { [oidc] in
                $0.security.oidc = oidc
                $0.security.bindings = bindings
            }
        default:
            let dir = TestServer.fixtures.appendingPathComponent("mtls")
            @Sendable func file(_ name: String) -> String { dir.appendingPathComponent(name).path }
            for name in names { args[name] = ["-ca", file("ca.pem"), "-cert", file("\(name)-cert.pem"), "-key", file("\(name)-key.pem")] }
            prefix = "mtls:CN="
            let bindings = names.map { AccessPolicy.Binding(principals: [try! ScopePattern("mtls:CN=\($0)")], grant: grant($0)) }
            configure = {
                $0.tlsCertFile = file("server-cert.pem")
                $0.tlsKeyFile = file("server-key.pem")
                $0.security.clientCAFile = file("ca.pem")
                $0.security.bindings = bindings
            }
        }
        let t = try await TestServer(configure: configure, simulator: Self.autoCreate) { try $0.service(name: "api") }
        let admin = args["admin"]!
        // A finished deployment (rejected), and two waiting for approval per role, asked by
        // another principal (nobody approves their own).
        let other = args["prod-deployer"]!
        #expect(await t.client(other + Self.deployArgs("done", service: "done")).code == 0)
        #expect(await t.client(admin + ["-id", "done", "-action", "reject", "-reason", "setup"]).code == 0)
        for role in roles {
            #expect(await t.client(other + Self.deployArgs("a-\(role)", service: "a-\(role)")).code == 0)
            #expect(await t.client(other + Self.deployArgs("r-\(role)", service: "r-\(role)")).code == 0)
        }
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString).yaml")
        try "approval: required\nservices:\n  - service: api\n    clusterName: prod\n    serviceName: api\n    image: nginx:9\n"
            .write(to: manifest, atomically: true, encoding: .utf8)

        for role in roles {
            let caller = args[role.rawValue]!
            let may = role.permissions
            func check(_ permission: Permission, _ call: [String], line: Int = #line) async throws {
                let r = try await t.driving { await t.client(caller + call) }
                #expect(!r.text.contains("UNAUTHENTICATED") && !r.text.contains("cannot reach the server"), "\(r.text)")
                #expect(denied(r) == !may.contains(permission), "\(credential) \(role) \(call.prefix(4)): \(r.text)", sourceLocation: .init(
                    fileID: #fileID, filePath: #filePath, line: line, column: 1))
            }
            try await check(.view, ["-id", "done", "-action", "status"])
            try await check(.view, ["-action", "list"])
            try await check(.view, ["-id", "done", "-action", "watch"])
            try await check(.view, ["-cluster", "prod", "-service", "done", "-action", "drift"])
            try await check(.view, ["-file", manifest.path, "-action", "plan"])
            try await check(.deploy, Self.deployArgs("d-\(role)", service: "d-\(role)"))
            try await check(.deploy, ["-id", "rel-\(role)", "-file", manifest.path, "-action", "release"])
            try await check(.rollback, ["-id", "done", "-action", "rollback"])
            try await check(.approve, ["-id", "r-\(role)", "-action", "reject", "-reason", "no"])
            try await check(.approve, ["-id", "a-\(role)", "-action", "approve"])
        }
        // Scopes: prod/* only.
        #expect(await t.client(other + Self.deployArgs("s1", cluster: "prod", service: "s1")).code == 0)
        let staging = await t.client(other + Self.deployArgs("s2", cluster: "staging", service: "s1"))
        #expect(staging.text == "error: permission denied: \(prefix)prod-deployer lacks the 'deploy' permission on 'staging/s1' (PERMISSION_DENIED)",
                "\(staging.text)")
        try await t.stop()
    }

    @Test func fourEyesAndTwoApprovalsForProd() async throws {
        let (path, tokens) = try Self.tokens([
            "lead": ([.deployer, .approver], [], nil), "alice": ([.approver], [], nil), "bob": ([.approver], [], nil),
        ])
        let audit = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).log").path
        let t = try await TestServer(configure: {
            $0.security.tokensFile = path
            $0.security.approvalRules = [.init(scope: try! ScopePattern("prod/*"), count: 2), .init(scope: try! ScopePattern("staging/*"), count: 1)]
        }, simulator: Self.autoCreate, auditPath: audit, apiToken: tokens["lead"]) {
            try $0.service(name: "api")
        }
        @Sendable func as_(_ name: String, _ args: [String]) async -> ClientResult { await t.client(["-token", tokens[name]!] + args) }

        #expect(await as_("lead", Self.deployArgs("p1", service: "web")).code == 0)
        let own = await as_("lead", ["-id", "p1", "-action", "approve", "-approver", "someone-else"])
        #expect(denied(own) && own.text.contains("token:lead requested deployment p1 and cannot approve it"), "\(own.text)")
        #expect(await as_("alice", ["-id", "p1", "-action", "approve", "-reason", "looks good"]).code == 0)
        let waiting = try await t.status("p1")
        #expect(waiting.status == .pendingApproval)
        #expect(waiting.approval.decision == "pending" && waiting.approval.approver == "token:alice", "\(waiting.approval)")
        #expect(waiting.approval.reason == "1 of 2 approvals; 1 more needed from other approvers")
        let events = try await t.server.engine.status(id: "p1").events
        #expect(events.last?.type == "approval.recorded")
        #expect(events.last?.message == "approved by token:alice (1 of 2): looks good; 1 more approver(s) needed")
        let twice = await as_("alice", ["-id", "p1", "-action", "approve"])
        #expect(twice.text.contains("token:alice already approved deployment p1") && twice.text.contains("FAILED_PRECONDITION"), "\(twice.text)")
        #expect(await as_("bob", ["-id", "p1", "-action", "approve"]).code == 0)
        let approved = try await t.waitUntilFinished("p1")
        #expect(approved.status == .succeeded, "\(approved.error)")
        #expect(approved.approval.approver == "token:alice, token:bob")
        #expect(approved.requestedBy == "token:lead")

        // One approval is enough in staging.
        #expect(await as_("lead", Self.deployArgs("s1", cluster: "staging", service: "web")).code == 0)
        #expect(await as_("alice", ["-id", "s1", "-action", "approve"]).code == 0)
        #expect(try await t.waitUntilFinished("s1").status == .succeeded)

        // A release: its requester cannot approve it either; prod needs two.
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString).yaml")
        try "approval: required\nservices:\n  - service: api\n    clusterName: prod\n    serviceName: api\n    image: nginx:9\n"
            .write(to: manifest, atomically: true, encoding: .utf8)
        #expect(try await t.driving { await as_("lead", ["-id", "rel-1", "-file", manifest.path, "-action", "release"]) }.code == 0)
        #expect(denied(await as_("lead", ["-id", "rel-1", "-action", "approve"])))
        let gauge = try await t.http("/metrics").body.split(separator: "\n").filter { $0.hasPrefix("ecs_pending_approvals") }
        #expect(gauge == ["ecs_pending_approvals 1.0"] || gauge == ["ecs_pending_approvals 1"], "the waiting release is counted: \(gauge)")
        #expect(await as_("alice", ["-id", "rel-1", "-action", "approve"]).code == 0)
        #expect(try await t.server.releases.status(id: "rel-1").status == .pendingApproval)
        #expect(await as_("bob", ["-id", "rel-1", "-action", "approve"]).code == 0)
        #expect(try await t.server.releases.status(id: "rel-1").status != .pendingApproval)

        // The audit log names the proven principals.
        try await t.stop()
        let lines = try String(contentsOfFile: audit, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains(#""event_type":"approval.recorded""#) && $0.contains(#""user":"token:alice""#) })
        #expect(lines.contains { $0.contains(#""event_type":"approval.approved""#) && $0.contains(#""user":"token:bob""#) })
        #expect(lines.contains { $0.contains(#""event_type":"deployment.accepted""#) && $0.contains(#""user":"token:lead""#) })
        #expect(lines.contains { $0.contains(#""event_type":"release.approval_recorded""#) && $0.contains(#""user":"token:alice""#) })
    }

    @Test func requestsCannotRunCommandsFetchURLsOrLoosenThePolicy() async throws {
        let (path, tokens) = try Self.tokens(["dev": ([.deployer], [], nil), "root": ([.admin], [], nil)])
        let evil = FileManager.default.temporaryDirectory.appendingPathComponent("evil-\(UUID().uuidString)").path
        let smoke = FileManager.default.temporaryDirectory.appendingPathComponent("smoke-\(UUID().uuidString)").path
        let audit = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).log").path
        let t = try await TestServer(configure: {
            $0.security.tokensFile = path
            $0.security.allowedURLPrefixes = ["http://127.0.0.1:9/health"]
            $0.hookDefinitions = ["smoke": "exec:touch '\(smoke)'"]
            $0.deployment.requireApproval = true
            $0.deployment.failOnDrift = true
            $0.deployment.hooks[.postSuccess] = "smoke"
            $0.deployment.alarmNames = ["web-5xx"]
        }, simulator: Self.autoCreate, auditPath: audit, apiToken: tokens["root"])
        let dev = ["-token", tokens["dev"]!]

        let exec = await t.client(dev + Self.deployArgs("x1", config: #"{"hook_pre_traffic":"exec:touch '\#(evil)'"}"#))
        #expect(denied(exec) && exec.text.contains("config.hook_pre_traffic: a request may only name a hook defined in the server's config (strategy.hooks.definitions: smoke)"),
                "\(exec.text)")
        let url = await t.client(dev + Self.deployArgs("x2", config: #"{"hook_post_shift":"https://example.com/hook"}"#))
        #expect(denied(url) && url.text.contains("config.hook_post_shift"), "\(url.text)")
        for (i, target) in ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:9/other", "https://user:planted-secret@example.com/?token=planted-secret"].enumerated() {
            let r = await t.client(dev + Self.deployArgs("u\(i)", config: #"{"health_check_url":"\#(target)"}"#))
            #expect(denied(r) && r.text.contains("config.health_check_url"), "\(r.text)")
            #expect(!r.text.contains("planted-secret"), "\(r.text)")
        }
        for (key, value) in [("require_approval", "false"), ("fail_on_drift", "false"), ("hook_post_success", "smoke2"), ("alarms", "web-latency")] {
            let r = await t.client(dev + Self.deployArgs("l-\(key)", config: #"{"\#(key)":"\#(value)"}"#))
            #expect(denied(r) && r.text.contains("config.\(key)"), "\(r.text)")
        }
        let loosen = await t.client(dev + Self.deployArgs("l1", config: #"{"require_approval":"false"}"#))
        #expect(loosen.text.contains("would loosen the server's policy"), "\(loosen.text)")
        // Nothing of the refused requests was recorded or run.
        for id in ["x1", "x2", "u0", "l1"] { await #expect(throws: EngineError.self) { try await t.server.engine.status(id: id) } }
        #expect(!FileManager.default.fileExists(atPath: evil))

        // Allowed: a listed URL; a defined hook; an admin's override (audited).
        #expect(await t.client(dev + Self.deployArgs("ok1", service: "ok1", config: #"{"health_check_url":"http://127.0.0.1:9/health/api"}"#)).code == 0)
        #expect(try await t.status("ok1").status == .pendingApproval)
        let override = await t.client(["-token", tokens["root"]!] + Self.deployArgs("ok2", service: "ok2", config: #"{"require_approval":"false"}"#))
        #expect(override.code == 0, "\(override.text)")
        let done = try await t.waitUntilFinished("ok2")
        #expect(done.status == .succeeded, "\(done.error)")
        #expect(FileManager.default.fileExists(atPath: smoke), "the configured post_success hook ran")
        try await t.stop()
        let log = try String(contentsOfFile: audit, encoding: .utf8)
        #expect(log.contains(#""event_type":"policy.override""#) && log.contains("overrides require_approval"), "\(log)")
        #expect(log.contains(#""event_type":"access.denied""#) == false, "request-policy refusals are not role refusals")
        #expect(!log.contains("planted-secret"))
    }

    @Test func oidcTokensWithBindings() async throws {
        let issuer = TestIssuer()
        let jwks = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString).json")
        try issuer.jwks().write(to: jwks)
        var oidc = OIDCSettings(issuer: "https://token.actions.githubusercontent.com", audience: "ecs-deploy")
        oidc.jwksFile = jwks.path
        let t = try await TestServer(configure: {
            $0.security.oidc = oidc
            $0.security.bindings = [
                .init(principals: [try! ScopePattern("oidc:repo:org/app:*")], grant: Grant(role: .deployer, scopes: [try! ScopePattern("staging/*")])),
                .init(groups: ["release-managers"], grant: Grant(role: .approver)),
            ]
        }, simulator: Self.autoCreate)
        let now = Int(Date().timeIntervalSince1970)
        func jwt(sub: String, groups: [String] = [], exp: Int? = nil, alg: String = "RS256") -> String {
            issuer.token(alg: alg, claims: ["iss": oidc.issuer, "aud": "ecs-deploy", "sub": sub, "exp": exp ?? now + 300, "groups": groups])
        }
        let ci = jwt(sub: "repo:org/app:ref:refs/heads/main")
        #expect(await t.client(["-token", ci] + Self.deployArgs("o1", cluster: "staging")).code == 0)
        #expect(try await t.server.engine.status(id: "o1").request.requestedBy == "oidc:repo:org/app:ref:refs/heads/main")
        #expect(denied(await t.client(["-token", ci] + Self.deployArgs("o2", cluster: "prod"))))
        let manager = jwt(sub: "user:carol", groups: ["release-managers"], alg: "ES256")
        #expect(await t.client(["-token", manager, "-id", "o1", "-action", "reject", "-reason", "not today"]).code == 0)
        #expect(try await t.server.engine.status(id: "o1").approval?.approver == "oidc:user:carol")
        for bad in [jwt(sub: "repo:org/app:x", exp: now - 120), jwt(sub: "repo:org/app:x", alg: "none"),
                    jwt(sub: "repo:org/app:x", alg: "HS256"), TestIssuer().token(claims: ["iss": oidc.issuer, "aud": "ecs-deploy", "sub": "repo:org/app:x", "exp": now + 300])] {
            let r = await t.client(["-token", bad, "-action", "list"])
            #expect(r.text.contains("(UNAUTHENTICATED)"), "\(r.text)")
        }
        try await t.stop()
    }

    @Test func mtlsPrincipals() async throws {
        let dir = TestServer.fixtures.appendingPathComponent("mtls")
        func file(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let t = try await TestServer(configure: {
            $0.tlsCertFile = file("server-cert.pem")
            $0.tlsKeyFile = file("server-key.pem")
            $0.security.clientCAFile = file("ca.pem")
            $0.security.bindings = [.init(principals: [try! ScopePattern("mtls:CN=alice")], grant: Grant(role: .deployer))]
        }, simulator: Self.autoCreate)
        let ca = ["-ca", file("ca.pem")]
        let alice = await t.client(ca + ["-cert", file("alice-cert.pem"), "-key", file("alice-key.pem")] + Self.deployArgs("m1"))
        #expect(alice.code == 0, "\(alice.text)")
        #expect(try await t.server.engine.status(id: "m1").request.requestedBy == "mtls:CN=alice")
        for (name, args) in [("no certificate", [String]()),
                             ("another CA", ["-cert", file("mallory-cert.pem"), "-key", file("mallory-key.pem")]),
                             ("expired", ["-cert", file("expired-cert.pem"), "-key", file("expired-key.pem")])] {
            let r = await t.client(ca + args + ["-action", "list"])
            #expect(r.code == 1, "\(name): \(r.text)")
            // The TLS handshake fails: no RPC reaches the server (TLSErrorTests: what the client says).
            #expect(r.text.contains("requires a client certificate") || r.text.contains("refused the client certificate"), "\(name): \(r.text)")
        }
        try await t.stop()
    }

    @Test func anonymousCallersOnlyWhereSafe() throws {
        var config = ServerConfig()
        let logger = Logger(label: "test")
        config.host = "0.0.0.0"
        #expect(throws: ConfigError.self) { try DeploymentServer.anonymousAllowed(config, logger: logger) }
        do { _ = try DeploymentServer.anonymousAllowed(config, logger: logger) } catch {
            #expect("\(error)".contains("auth.tokens_file, auth.oidc or tls.client_ca_file"))
        }
        config.security.allowAnonymous = true
        #expect(try DeploymentServer.anonymousAllowed(config, logger: logger))
        config.security.allowAnonymous = false
        config.mockMode = true
        #expect(try DeploymentServer.anonymousAllowed(config, logger: logger))
        config.mockMode = false
        config.host = "127.0.0.1"
        #expect(try DeploymentServer.anonymousAllowed(config, logger: logger))
        config.host = "0.0.0.0"
        config.security.tokensFile = "/nonexistent"
        #expect(try !DeploymentServer.anonymousAllowed(config, logger: logger))
    }
}
