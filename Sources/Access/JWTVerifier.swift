import Crypto
import CryptoExtras
import Foundation
import Synchronization

/// `auth.oidc`: the identity provider whose ID tokens (JWTs) callers present, as CI systems
/// (GitHub Actions, GitLab CI) issue them.
public struct OIDCSettings: Sendable, Equatable {
    public var issuer: String
    public var audience: String
    /// A JWKS document on disk (read again when it changes) ...
    public var jwksFile: String?
    /// ... or fetched from the issuer (cached; fetched again for an unknown key id).
    public var jwksURL: String?
    public var subjectClaim = "sub"
    public var groupsClaim = "groups"

    public init(issuer: String, audience: String) {
        self.issuer = issuer
        self.audience = audience
    }
}

/// Why a JWT was refused. Only logged and counted, never sent to the caller.
public struct JWTError: Error, CustomStringConvertible, Sendable, Equatable {
    public let reason: String
    public var description: String { reason }
    public init(_ reason: String) { self.reason = reason }
}

/// Checks RS256 and ES256 JWTs against the issuer's keys: signature, `iss`, `aud`, `exp` and
/// `nbf` (60 s of clock skew). `alg: none`, HMAC algorithms and a key of the wrong type for the
/// algorithm are refused.
public final class JWTVerifier: Sendable {
    public static let skew: TimeInterval = 60
    public static let maxTokenBytes = 16 * 1024

    public let settings: OIDCSettings
    private let fetch: @Sendable (String) async throws -> Data
    private struct Cache {
        var keys: [JWK] = []
        var signature: FileSignature?
        var fetchedAt: Date?
    }
    private let cache = Mutex(Cache())

    /// - Parameter fetch: reads `jwks_url` (the server gives an HTTP client).
    public init(settings: OIDCSettings, fetch: @escaping @Sendable (String) async throws -> Data = { _ in
        throw JWTError("no HTTP client to fetch the JWKS")
    }) throws {
        self.settings = settings
        self.fetch = fetch
        if let file = settings.jwksFile { _ = try Self.readKeys(file: file) }
    }

    /// The principal of a valid token; with `nonce` (a sign-in the server started), the token's
    /// `nonce` claim must be that one.
    public func principal(for token: String, now: Date, nonce: String? = nil) async throws(JWTError) -> Principal {
        guard token.utf8.count <= Self.maxTokenBytes else { throw JWTError("token too large") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Self.base64URL(parts[0]), let payloadData = Self.base64URL(parts[1]),
              let signature = Self.base64URL(parts[2]) else { throw JWTError("malformed token") }
        guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any],
              let claims = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any] else {
            throw JWTError("malformed token")
        }
        guard let alg = header["alg"] as? String, alg == "RS256" || alg == "ES256" else {
            throw JWTError("algorithm not accepted (RS256 and ES256 are)")
        }
        let kid = header["kid"] as? String
        let signed = Data("\(parts[0]).\(parts[1])".utf8)
        var candidates = try await keys(kid: kid, alg: alg, refresh: false)
        if candidates.isEmpty, settings.jwksURL != nil { candidates = try await keys(kid: kid, alg: alg, refresh: true) }
        guard candidates.contains(where: { $0.verifies(signature, over: signed) }) else { throw JWTError("bad signature") }
        try check(claims, now: now)
        if let nonce, claims["nonce"] as? String != nonce { throw JWTError("wrong nonce") }
        // The subject names the caller in logs and the audit log: bounded.
        guard let subject = claims[settings.subjectClaim] as? String, !subject.isEmpty, subject.count <= 256 else {
            throw JWTError("no \(settings.subjectClaim) claim of at most 256 characters")
        }
        let groups: [String]
        switch claims[settings.groupsClaim] {
        case let list as [Any]: groups = list.compactMap { $0 as? String }
        case let one as String: groups = [one]
        default: groups = []
        }
        let emails = (claims["email"] as? String).map { [$0] } ?? []
        return Principal(method: .oidc, name: subject, groups: groups, emails: emails)
    }

    private func check(_ claims: [String: Any], now: Date) throws(JWTError) {
        guard claims["iss"] as? String == settings.issuer else { throw JWTError("wrong issuer") }
        let audiences: [String] = switch claims["aud"] {
        case let one as String: [one]
        case let list as [Any]: list.compactMap { $0 as? String }
        default: []
        }
        guard audiences.contains(settings.audience) else { throw JWTError("wrong audience") }
        guard let exp = (claims["exp"] as? NSNumber)?.doubleValue else { throw JWTError("no exp claim") }
        guard now.timeIntervalSince1970 < exp + Self.skew else { throw JWTError("expired") }
        if let nbf = (claims["nbf"] as? NSNumber)?.doubleValue, now.timeIntervalSince1970 + Self.skew < nbf {
            throw JWTError("not yet valid")
        }
    }

    private func keys(kid: String?, alg: String, refresh: Bool) async throws(JWTError) -> [JWK] {
        let all: [JWK]
        if let file = settings.jwksFile {
            let now = FileSignature(path: file)
            if let cached = cache.withLock({ $0.signature == now && now != nil ? $0.keys : nil }) {
                all = cached
            } else {
                do { all = try Self.readKeys(file: file) } catch { throw JWTError("JWKS file unreadable") }
                cache.withLock { $0.keys = all; $0.signature = now }
            }
        } else if let url = settings.jwksURL {
            // Fetched at most once a minute, and again after an hour.
            let (cached, fetchedAt) = cache.withLock { ($0.keys, $0.fetchedAt) }
            let age = fetchedAt.map { Date().timeIntervalSince($0) } ?? .infinity
            if age > 3600 || (refresh && age > 60) {
                do {
                    let data = try await fetch(url)
                    let keys = try JWK.parseSet(data)
                    cache.withLock { $0.keys = keys; $0.fetchedAt = Date() }
                    all = keys
                } catch {
                    cache.withLock { $0.fetchedAt = Date() }
                    all = cached
                }
            } else {
                all = cached
            }
        } else {
            all = []
        }
        return all.filter { $0.algorithm == alg && (kid == nil || $0.kid == nil || $0.kid == kid) }
    }

    static func readKeys(file: String) throws -> [JWK] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw AccessConfigError("\(file): cannot read the JWKS file")
        }
        do { return try JWK.parseSet(data) } catch { throw AccessConfigError("\(file): \(error)") }
    }

    static func base64URL(_ text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !s.contains("=") else { return nil }
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}

/// One public key of a JWKS: RSA (for RS256) or EC P-256 (for ES256).
struct JWK: Sendable {
    enum Key: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    let kid: String?
    let key: Key

    var algorithm: String {
        switch key {
        case .rsa: "RS256"
        case .p256: "ES256"
        }
    }

    func verifies(_ signature: Data, over data: Data) -> Bool {
        switch key {
        case .rsa(let key):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: data),
                                        padding: .insecurePKCS1v1_5)
        case .p256(let key):
            guard let sig = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(sig, for: SHA256.hash(data: data))
        }
    }

    /// The keys of a JWKS document that this verifier can use; others (encryption keys, other
    /// curves) are skipped.
    static func parseSet(_ data: Data) throws -> [JWK] {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = root["keys"] as? [[String: Any]] else {
            throw AccessConfigError("not a JWKS document (an object with a keys list)")
        }
        return list.compactMap { fields in
            if let use = fields["use"] as? String, use != "sig" { return nil }
            let kid = fields["kid"] as? String
            switch fields["kty"] as? String {
            case "RSA":
                if let alg = fields["alg"] as? String, alg != "RS256" { return nil }
                guard let n = (fields["n"] as? String).flatMap({ JWTVerifier.base64URL($0[...]) }),
                      let e = (fields["e"] as? String).flatMap({ JWTVerifier.base64URL($0[...]) }),
                      let key = try? _RSA.Signing.PublicKey(n: n, e: e) else { return nil }
                return JWK(kid: kid, key: .rsa(key))
            case "EC":
                guard fields["crv"] as? String == "P-256" else { return nil }
                if let alg = fields["alg"] as? String, alg != "ES256" { return nil }
                guard let x = (fields["x"] as? String).flatMap({ JWTVerifier.base64URL($0[...]) }),
                      let y = (fields["y"] as? String).flatMap({ JWTVerifier.base64URL($0[...]) }),
                      x.count == 32, y.count == 32,
                      let key = try? P256.Signing.PublicKey(rawRepresentation: x + y) else { return nil }
                return JWK(kid: kid, key: .p256(key))
            default:
                return nil
            }
        }
    }
}
