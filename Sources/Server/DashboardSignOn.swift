import Access
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import Synchronization

/// `dashboard.oidc`: the dashboard's sign-in through the configured OIDC issuer (`auth.oidc`),
/// by the authorization code flow with PKCE: the browser is sent to the issuer, comes back
/// with a code, the server exchanges it for an ID token (client id and secret) and checks that
/// token as any other of the issuer's (signature, issuer, expiry), its audience being the
/// dashboard's client id and its nonce the one this sign-in started with.
final class DashboardSignOn: Sendable {
    struct Settings: Sendable, Equatable {
        var clientID: String
        var clientSecretFile: String
        /// Where the issuer sends the browser back: the dashboard's public URL + `/login/oidc/callback`.
        var redirectURI: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private struct Pending {
        let nonce: String
        let verifier: String
        let expires: Date
    }

    private struct Endpoints {
        let authorization: String
        let token: String
    }

    let settings: Settings
    let issuer: String
    private let clientSecret: String
    private let verifier: JWTVerifier
    private let client: HTTPClient
    private let pending = Mutex<[String: Pending]>([:])
    private let endpoints = Mutex<Endpoints?>(nil)
    /// Sign-ins started and not finished are forgotten after this long.
    static let pendingLifetime: TimeInterval = 600
    static let pendingLimit = 1000

    init(settings: Settings, oidc: OIDCSettings, client: HTTPClient = .shared) throws {
        guard let secret = FileManager.default.contents(atPath: settings.clientSecretFile)
            .map({ String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }), !secret.isEmpty else {
            throw ConfigError("dashboard.oidc.client_secret_file: \(settings.clientSecretFile) cannot be read or is empty")
        }
        self.settings = settings
        issuer = oidc.issuer
        clientSecret = secret
        var ids = oidc
        ids.audience = settings.clientID
        self.client = client
        verifier = try JWTVerifier(settings: ids, fetch: { url in try await NetworkHooks(client: client).fetch(url) })
    }

    /// HTTPS, or HTTP on the loopback interface (a local issuer, as in tests).
    static func acceptable(_ url: String) -> Bool {
        guard let c = URLComponents(string: url), let host = c.host, !host.isEmpty else { return false }
        return c.scheme == "https" || (c.scheme == "http" && (host == "127.0.0.1" || host == "localhost" || host == "::1"))
    }

    /// Where to send the browser: the issuer's authorization endpoint with a new state, nonce
    /// and PKCE challenge.
    func start(now: Date = Date()) async throws -> String {
        let endpoints = try await discover()
        let state = DashboardSessions.randomToken(), nonce = DashboardSessions.randomToken()
        let codeVerifier = DashboardSessions.randomToken()
        pending.withLock { all in
            all = all.filter { $0.value.expires > now }
            if all.count >= Self.pendingLimit, let oldest = all.min(by: { $0.value.expires < $1.value.expires }) { all[oldest.key] = nil }
            all[state] = Pending(nonce: nonce, verifier: codeVerifier, expires: now + Self.pendingLifetime)
        }
        guard var url = URLComponents(string: endpoints.authorization) else { throw Failure("the issuer's authorization endpoint is not a URL") }
        url.queryItems = (url.queryItems ?? []) + [
            .init(name: "response_type", value: "code"), .init(name: "client_id", value: settings.clientID),
            .init(name: "redirect_uri", value: settings.redirectURI), .init(name: "scope", value: "openid profile email"),
            .init(name: "state", value: state), .init(name: "nonce", value: nonce),
            .init(name: "code_challenge", value: Self.challenge(codeVerifier)), .init(name: "code_challenge_method", value: "S256"),
        ]
        guard let address = url.string else { throw Failure("the issuer's authorization endpoint is not a URL") }
        return address
    }

    /// The principal of a sign-in coming back with `code` for `state` (used once).
    func finish(code: String, state: String, now: Date = Date()) async throws -> Principal {
        guard let started = pending.withLock({ $0.removeValue(forKey: state) }), started.expires > now else {
            throw Failure("this sign-in was not started here, or is too old; start again")
        }
        let endpoints = try await discover()
        var request = HTTPClientRequest(url: endpoints.token)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", settings.redirectURI),
                    ("client_id", settings.clientID), ("client_secret", clientSecret), ("code_verifier", started.verifier)]
        request.body = .bytes(ByteBuffer(string: form.map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")))
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw Failure("the issuer refused the code (HTTP \(response.status.code))") }
        guard let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let idToken = json["id_token"] as? String else {
            throw Failure("the issuer's answer has no id_token")
        }
        do {
            return try await verifier.principal(for: idToken, now: now, nonce: started.nonce)
        } catch {
            throw Failure("the issuer's ID token was refused (\(error))")
        }
    }

    /// The issuer's endpoints, from its discovery document (read once).
    private func discover() async throws -> Endpoints {
        if let known = endpoints.withLock({ $0 }) { return known }
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        let document: Data
        do { document = try await NetworkHooks(client: client).fetch(base + "/.well-known/openid-configuration") } catch {
            throw Failure("the issuer's discovery document could not be read (\(error))")
        }
        guard let json = try? JSONSerialization.jsonObject(with: document) as? [String: Any],
              let authorization = json["authorization_endpoint"] as? String, let token = json["token_endpoint"] as? String,
              Self.acceptable(authorization), Self.acceptable(token) else {
            throw Failure("the issuer's discovery document has no usable authorization_endpoint and token_endpoint")
        }
        let found = Endpoints(authorization: authorization, token: token)
        endpoints.withLock { $0 = found }
        return found
    }

    /// PKCE's S256: base64url(SHA-256(verifier)).
    static func challenge(_ verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func formEncode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }
}
