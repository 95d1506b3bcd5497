import Access
import AuthTestSupport
import Crypto
import Foundation
import Hummingbird
@testable import Server
import Synchronization
import Testing

/// The dashboard's sign-in through an OIDC issuer: a small issuer of our own on a loopback
/// port (discovery, authorize, token; PKCE checked), the real server, the redirects followed
/// by hand as a browser would.
@Suite struct DashboardSignOnTests {
    /// The issuer: authorizes at once (as a user who is already signed in there) and hands out
    /// an ID token for a code once, checking the client secret and the PKCE verifier.
    final class Issuer: Sendable {
        let keys = TestIssuer()
        /// The nonce the token carries: the one asked for, unless a test says otherwise.
        let nonceOverride = Mutex<String?>(nil)
        private let codes = Mutex<[String: (nonce: String, challenge: String)]>([:])
        private let portBox = Mutex<Int?>(nil)
        var port: Int { portBox.withLock { $0 ?? 0 } }
        var url: String { "http://127.0.0.1:\(port)" }

        func start() async throws -> Task<Void, any Error> {
            let router = Router()
            router.get(".well-known/openid-configuration") { [self] _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string:
                    #"{"issuer":"\#(url)","authorization_endpoint":"\#(url)/authorize","token_endpoint":"\#(url)/token"}"#)))
            }
            router.get("authorize") { [self] request, _ in
                let q = request.uri.queryParameters
                let code = UUID().uuidString
                codes.withLock { $0[code] = (String(q["nonce"] ?? ""), String(q["code_challenge"] ?? "")) }
                let back = "\(q["redirect_uri"] ?? "")?code=\(code)&state=\(q["state"] ?? "")"
                return Response(status: .found, headers: [.location: back])
            }
            router.post("token") { [self] request, _ in
                let body = String(buffer: try await request.body.collect(upTo: 1 << 16))
                var form: [String: String] = [:]
                for pair in body.split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                    if kv.count == 2 { form[kv[0]] = kv[1] }
                }
                guard let code = form["code"], let issued = codes.withLock({ $0.removeValue(forKey: code) }),
                      form["client_secret"] == "s3cret", form["client_id"] == "dashboard",
                      DashboardSignOn.challenge(form["code_verifier"] ?? "") == issued.challenge else {
                    return Response(status: .badRequest)
                }
                let token = keys.token(claims: ["iss": url, "aud": "dashboard", "sub": "alice", "exp": Date().timeIntervalSince1970 + 600,
                                                "nonce": nonceOverride.withLock { $0 } ?? issued.nonce, "groups": ["release-managers"]])
                return Response(status: .ok, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: #"{"id_token":"\#(token)","token_type":"Bearer"}"#)))
            }
            // Started once the port is bound (told, not polled).
            let (bound, signal) = AsyncStream<Int>.makeStream()
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                  onServerRunning: { channel in signal.yield(channel.localAddress?.port ?? 0) })
            let task = Task { try await app.runService() }
            for await port in bound {
                portBox.withLock { $0 = port }
                break
            }
            return task
        }
    }

    static func location(_ answer: (status: Int, headers: [(String, String)], body: String)) -> String {
        answer.headers.first { $0.0 == "location" }?.1 ?? ""
    }

    /// A URL on a loopback host: `http://127.0.0.1:PORT/path?query` -> (port, path?query).
    static func split(_ url: String) throws -> (Int, String) {
        let c = try #require(URLComponents(string: url))
        return (c.port ?? 80, c.percentEncodedPath + (c.percentEncodedQuery.map { "?" + $0 } ?? ""))
    }

    @Test func signInThroughTheIssuerWithPKCEAndANonce() async throws {
        let issuer = Issuer()
        let running = try await issuer.start()
        defer { running.cancel() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("signon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let jwks = folder.appendingPathComponent("jwks.json"), secret = folder.appendingPathComponent("secret")
        try issuer.keys.jwks().write(to: jwks)
        try "s3cret\n".write(to: secret, atomically: true, encoding: .utf8)
        var oidc = OIDCSettings(issuer: issuer.url, audience: "ecs-deploy-ci")
        oidc.jwksFile = jwks.path
        let t = try await TestServer(configure: { config in
            config.security.oidc = oidc
            config.security.bindings = [.init(groups: ["release-managers"], grant: Grant(role: .approver))]
            // The port is chosen when the server starts: the browser's way back is followed by path below.
            config.dashboardOIDC = .init(clientID: "dashboard", clientSecretFile: secret.path, redirectURI: "http://127.0.0.1:9/login/oidc/callback")
        })
        func signIn() async throws -> (status: Int, headers: [(String, String)], body: String) {
            let start = try await HTTPGet.exchange(host: "127.0.0.1", port: t.httpPort, path: "/login/oidc")
            #expect(start.status == 303)
            let authorize = Self.location(start)
            #expect(authorize.hasPrefix(issuer.url + "/authorize?") && authorize.contains("code_challenge_method=S256")
                && authorize.contains("client_id=dashboard") && authorize.contains("nonce="), "\(authorize)")
            let (issuerPort, authorizePath) = try Self.split(authorize)
            let back = try await HTTPGet.exchange(host: "127.0.0.1", port: issuerPort, path: authorizePath)
            #expect(back.status == 302)
            let (_, callback) = try Self.split(Self.location(back))
            #expect(callback.hasPrefix("/login/oidc/callback?code="), "\(callback)")
            return try await HTTPGet.exchange(host: "127.0.0.1", port: t.httpPort, path: callback)
        }
        let login = try await t.http("/login")
        #expect(login.body.contains("Sign in with \(issuer.url)"))
        let signedIn = try await signIn()
        #expect(signedIn.status == 303, "\(signedIn.body)")
        let cookie = try #require(signedIn.headers.first { $0.0 == "set-cookie" }?.1)
        let overview = try await t.http("/", headers: ["Cookie": String(cookie.prefix { $0 != ";" })])
        #expect(overview.status == 200 && overview.body.contains("oidc:alice"), "\(overview.body)")

        // A token for another sign-in (its nonce) is refused, and a state is used once.
        issuer.nonceOverride.withLock { $0 = "someone-else" }
        let replayed = try await signIn()
        #expect(replayed.status == 401 && replayed.body.contains("wrong nonce"), "\(replayed.body)")
        let forged = try await t.http("/login/oidc/callback?code=x&state=never-started")
        #expect(forged.status == 401 && forged.body.contains("was not started here"))
        try await t.stop()
    }
}
