import Access
import Engine
import Foundation

/// Who may call the server and what a request may ask of it: `auth:`, `approvals:`,
/// `security:` and `tls.client_ca_file` of config.yaml.
public struct SecurityConfig: Sendable, Equatable {
    /// `auth.tokens_file`: API tokens (names, hashes, roles, scopes).
    public var tokensFile: String?
    /// `auth.oidc`: JWTs from an OIDC issuer (CI systems).
    public var oidc: OIDCSettings?
    /// `auth.allow_anonymous`: serve anonymous callers (as admins) on a non-loopback address
    /// with no authentication configured.
    public var allowAnonymous = false
    /// `auth.bindings`: roles of principals and groups, by scope.
    public var bindings: [AccessPolicy.Binding] = []
    /// `approvals.required`: distinct approvers needed per scope.
    public var approvalRules: [AccessPolicy.ApprovalRule] = []
    /// `security.allowed_url_prefixes`: URLs a request may name (nil: the mode's default).
    public var allowedURLPrefixes: [String]?
    /// `tls.client_ca_file`: require client certificates signed by this CA (mTLS).
    public var clientCAFile: String?
    /// `security.rate_limit`: calls a second, and at once, per authenticated caller.
    public var callsPerSecond = 50.0
    public var callBurst = 200.0
    /// `security.max_watches_per_caller`: watch streams one caller may hold open.
    public var maxWatchesPerCaller = 32

    public init() {}

    /// Some way of proving who calls is configured.
    public var authenticates: Bool { tokensFile != nil || oidc != nil || clientCAFile != nil }

    mutating func apply(auth a: ConfigObject) throws {
        try a.only(["tokens_file", "oidc", "allow_anonymous", "bindings"])
        tokensFile = try a.string("tokens_file") ?? tokensFile
        allowAnonymous = try a.bool("allow_anonymous") ?? allowAnonymous
        if let o = try a.objectIfPresent("oidc") {
            try o.only(["issuer", "audience", "jwks_file", "jwks_url", "subject_claim", "groups_claim"])
            guard let issuer = try o.string("issuer"), !issuer.isEmpty else { throw ConfigError("\(o.source): \(o.keyPath("issuer")): is required") }
            guard let audience = try o.string("audience"), !audience.isEmpty else {
                throw ConfigError("\(o.source): \(o.keyPath("audience")): is required")
            }
            var settings = OIDCSettings(issuer: issuer, audience: audience)
            settings.jwksFile = try o.string("jwks_file")
            settings.jwksURL = try o.string("jwks_url")
            guard (settings.jwksFile == nil) != (settings.jwksURL == nil) else {
                throw ConfigError("\(o.source): \(o.path): needs one of jwks_file or jwks_url")
            }
            if let url = settings.jwksURL, !url.hasPrefix("https://") {
                throw ConfigError("\(o.source): \(o.keyPath("jwks_url")): must be an https URL")
            }
            settings.subjectClaim = try o.string("subject_claim") ?? settings.subjectClaim
            settings.groupsClaim = try o.string("groups_claim") ?? settings.groupsClaim
            oidc = settings
        }
        for b in try a.objects("bindings") ?? [] {
            try b.only(["principals", "groups", "role", "scopes", "effect"])
            let principals = try (b.strings("principals") ?? []).map { try Self.pattern($0, b, "principals") }
            let groups = try b.strings("groups") ?? []
            guard !principals.isEmpty || !groups.isEmpty else {
                throw ConfigError("\(b.source): \(b.path): names no principals and no groups")
            }
            guard let roleName = try b.string("role") else { throw ConfigError("\(b.source): \(b.keyPath("role")): is required") }
            let role: Role
            do { role = try Role.parse(roleName, field: b.keyPath("role")) } catch { throw ConfigError("\(b.source): \(error)") }
            let scopes = try (b.strings("scopes") ?? []).map { try Self.pattern($0, b, "scopes") }
            let effect = try b.string("effect") ?? "allow"
            guard effect == "allow" || effect == "deny" else {
                throw ConfigError("\(b.source): \(b.keyPath("effect")): '\(effect)' is not allow or deny")
            }
            bindings.append(.init(principals: principals, groups: groups, grant: Grant(role: role, scopes: scopes, deny: effect == "deny")))
        }
    }

    mutating func apply(approvals a: ConfigObject) throws {
        try a.only(["required"])
        for r in try a.objects("required") ?? [] {
            try r.only(["scope", "count"])
            let scope = try Self.pattern(try r.string("scope") ?? "*", r, "scope")
            guard let count = try r.int("count", min: 1), count <= 10 else {
                throw ConfigError("\(r.source): \(r.keyPath("count")): is required, 1 to 10")
            }
            approvalRules.append(.init(scope: scope, count: count))
        }
    }

    mutating func apply(security s: ConfigObject) throws {
        try s.only(["allowed_url_prefixes", "rate_limit", "max_watches_per_caller"])
        if let r = try s.objectIfPresent("rate_limit") {
            try r.only(["per_second", "burst"])
            callsPerSecond = try r.double("per_second", min: 0.01) ?? callsPerSecond
            callBurst = try r.double("burst", min: 1) ?? callBurst
        }
        maxWatchesPerCaller = try s.int("max_watches_per_caller", min: 1) ?? maxWatchesPerCaller
        if let prefixes = try s.strings("allowed_url_prefixes") {
            for p in prefixes {
                guard let url = URLComponents(string: p), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                    throw ConfigError("\(s.source): \(s.keyPath("allowed_url_prefixes")): '\(p)' is not an http(s) URL prefix")
                }
            }
            allowedURLPrefixes = prefixes
        }
    }

    private static func pattern(_ text: String, _ object: ConfigObject, _ key: String) throws -> ScopePattern {
        do { return try ScopePattern(text) } catch { throw ConfigError("\(object.source): \(object.keyPath(key)): \(error)") }
    }
}
