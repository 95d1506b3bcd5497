@testable import Access
import AuthTestSupport
import Foundation
import Testing

@Suite("Tokens and JWTs")
struct CredentialTests {
    func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("access-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    @Test func createdTokensAuthenticateAndRemovedOnesStop() throws {
        let path = temporaryPath("tokens.yaml")
        let ci = try TokenStore.create(name: "ci-bot", roles: [.deployer], scopes: [try ScopePattern("prod/*")], email: nil, path: path)
        let alice = try TokenStore.create(name: "alice", roles: [.approver], scopes: [], email: "alice@example.com", path: path)
        #expect(ci.hasPrefix("ecsd_") && ci != alice)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(ci) && text.contains(TokenStore.hash(ci)))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(throws: AccessConfigError.self) {
            try TokenStore.create(name: "ci-bot", roles: [.admin], scopes: [], email: nil, path: path)
        }

        let store = try TokenStore(path: path)
        let principal = try #require(store.principal(for: ci))
        #expect(principal.id == "token:ci-bot")
        #expect(principal.grants == [Grant(role: .deployer, scopes: [try ScopePattern("prod/*")])])
        #expect(store.principal(for: alice)?.emails == ["alice@example.com"])
        #expect(store.principal(for: "ecsd_wrong") == nil)

        // The file rewritten without alice: her token stops working at the next call.
        let lines = text.components(separatedBy: "\n")
        let aliceStart = try #require(lines.firstIndex { $0.contains("\"alice\"") })
        let kept = lines[..<aliceStart].joined(separator: "\n") + "\n"
        try kept.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(store.principal(for: alice) == nil)
        #expect(store.principal(for: ci) != nil)

        // A broken file refuses every token until it is fixed.
        try "tokens: [".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(store.principal(for: ci) == nil)
        try kept.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(store.principal(for: ci) != nil)
    }

    @Test func tokensFileErrorsNameTheField() {
        for (text, field) in [("tokens:\n  - name: a\n    sha256: xyz\n    roles: [admin]\n", "tokens[0].sha256"),
                              ("tokens:\n  - name: a\n    sha256: \(String(repeating: "a", count: 64))\n    roles: [boss]\n", "tokens[0].roles"),
                              ("tokens:\n  - name: a\n    sha256: \(String(repeating: "a", count: 64))\n    roles: [admin]\n    extra: 1\n",
                               "tokens[0].extra")] {
            #expect(throws: AccessConfigError.self) { try TokenStore.parse(text, source: "t.yaml") }
            do { _ = try TokenStore.parse(text, source: "t.yaml") } catch { #expect("\(error)".contains(field), "\(error)") }
        }
    }

    // MARK: JWTs

    func b64(_ data: some DataProtocol) -> String { TestIssuer.b64(data) }

    @Test func oidcTokens() async throws {
        let issuer = TestIssuer()
        let path = temporaryPath("jwks.json")
        try issuer.jwks().write(to: URL(fileURLWithPath: path))
        var settings = OIDCSettings(issuer: "https://token.actions.githubusercontent.com", audience: "ecs-deploy")
        settings.jwksFile = path
        let verifier = try JWTVerifier(settings: settings)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let good: [String: Any] = ["iss": settings.issuer, "aud": "ecs-deploy", "sub": "repo:org/app:ref:refs/heads/main",
                                   "exp": 1_800_000_300, "nbf": 1_799_999_990, "groups": ["deployers"]]
        for alg in ["RS256", "ES256"] {
            let p = try await verifier.principal(for: issuer.token(alg: alg, claims: good), now: now)
            #expect(p.id == "oidc:repo:org/app:ref:refs/heads/main")
            #expect(p.groups == ["deployers"])
        }
        // Within the 60 s skew, and past it.
        _ = try await verifier.principal(for: issuer.token(claims: good), now: now.addingTimeInterval(340))
        await #expect(throws: JWTError("expired")) { try await verifier.principal(for: issuer.token(claims: good), now: now.addingTimeInterval(361)) }
        var early = good
        early["nbf"] = 1_800_000_100
        await #expect(throws: JWTError("not yet valid")) { try await verifier.principal(for: issuer.token(claims: early), now: now) }
        var other = good
        other["aud"] = ["someone-else"]
        await #expect(throws: JWTError("wrong audience")) { try await verifier.principal(for: issuer.token(claims: other), now: now) }
        other = good
        other["iss"] = "https://evil.example.com"
        await #expect(throws: JWTError("wrong issuer")) { try await verifier.principal(for: issuer.token(claims: other), now: now) }
        other = good
        other.removeValue(forKey: "exp")
        await #expect(throws: JWTError("no exp claim")) { try await verifier.principal(for: issuer.token(claims: other), now: now) }

        // alg none, HMAC keyed with the public JWKS, an RS256 header on an EC signature, a
        // signature from another key, a tampered payload.
        let none = issuer.token(alg: "none", claims: good)
        await #expect(throws: JWTError.self) { try await verifier.principal(for: none, now: now) }
        await #expect(throws: JWTError.self) { try await verifier.principal(for: issuer.token(alg: "HS256", claims: good), now: now) }
        let es = issuer.token(alg: "ES256", claims: good).split(separator: ".")
        let rsHeader = issuer.token(alg: "RS256", kid: "e1", claims: good).split(separator: ".")
        await #expect(throws: JWTError("bad signature")) {
            try await verifier.principal(for: "\(rsHeader[0]).\(es[1]).\(es[2])", now: now)
        }
        let stranger = TestIssuer().token(claims: good)
        await #expect(throws: JWTError("bad signature")) { try await verifier.principal(for: stranger, now: now) }
        let parts = issuer.token(claims: good).split(separator: ".")
        var admin = good
        admin["sub"] = "admin"
        let forged = "\(parts[0]).\(b64(try JSONSerialization.data(withJSONObject: admin))).\(parts[2])"
        await #expect(throws: JWTError("bad signature")) { try await verifier.principal(for: forged, now: now) }
        await #expect(throws: JWTError.self) { try await verifier.principal(for: "not.a.jwt", now: now) }
    }

    @Test func jwksFromTheIssuerIsCachedAndFetchedAgainForANewKey() async throws {
        final class Fetches: @unchecked Sendable {
            let lock = NSLock()
            var count = 0
            var document: Data
            init(_ document: Data) { self.document = document }
        }
        let first = TestIssuer()
        let fetches = Fetches(first.jwks())
        var settings = OIDCSettings(issuer: "https://issuer.example.com", audience: "ecs-deploy")
        settings.jwksURL = "https://issuer.example.com/jwks"
        let verifier = try JWTVerifier(settings: settings, fetch: { url in
            #expect(url == "https://issuer.example.com/jwks")
            return fetches.lock.withLock { fetches.count += 1; return fetches.document }
        })
        let claims: [String: Any] = ["iss": settings.issuer, "aud": "ecs-deploy", "sub": "ci", "exp": Date().timeIntervalSince1970 + 300]
        for _ in 1...3 { _ = try await verifier.principal(for: first.token(claims: claims), now: Date()) }
        #expect(fetches.count == 1, "cached")
        // The issuer rotates its keys: a token of the new key makes one fetch at most a minute.
        let second = TestIssuer()
        fetches.lock.withLock { fetches.document = second.jwks() }
        await #expect(throws: JWTError("bad signature")) { try await verifier.principal(for: second.token(kid: "r2", claims: claims), now: Date()) }
        #expect(fetches.count == 1, "not fetched again within a minute of the last fetch")
    }
}
