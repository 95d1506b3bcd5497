import Foundation

/// Who makes a call, as proven: a token's name, an OIDC subject, a client certificate's
/// name, or nobody (anonymous, where the server allows it).
public struct Principal: Sendable, Equatable {
    public enum Method: String, Sendable { case token, oidc, mtls, anonymous }

    public var method: Method
    /// The name as proven: the token's name, the OIDC subject, the certificate's CN or SAN.
    public var name: String
    /// Groups from the OIDC groups claim (empty otherwise).
    public var groups: [String]
    /// E-mail addresses known for this principal (token file `email`, OIDC `email` claim), to
    /// tell the author of a Git commit.
    public var emails: [String]
    /// Grants carried by the credential itself (a token's roles and scopes).
    public var grants: [Grant]

    public init(method: Method, name: String, groups: [String] = [], emails: [String] = [], grants: [Grant] = []) {
        self.method = method
        self.name = name
        self.groups = groups
        self.emails = emails
        self.grants = grants
    }

    /// How the audit log and the records name it: `token:ci-bot`, `oidc:repo:org/app:ref:...`,
    /// `mtls:CN=deployer`, `anonymous`.
    public var id: String {
        switch method {
        case .anonymous: "anonymous"
        case .mtls: "mtls:CN=\(name)"
        default: "\(method.rawValue):\(name)"
        }
    }

    public static let anonymous = Principal(method: .anonymous, name: "anonymous")
}

/// What a call may do.
public enum Permission: String, Sendable, CaseIterable, Comparable {
    /// status, list, watch, drift, plan
    case view
    /// deploy and release
    case deploy
    /// roll back a deployment or a release
    case rollback
    /// approve and reject
    case approve
    /// loosen the server's policy in a request (drop a required approval, a configured hook,
    /// fail_on_drift); audited
    case override

    public static func < (a: Permission, b: Permission) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A named set of permissions.
public enum Role: String, Sendable, CaseIterable, Codable {
    case viewer, deployer, approver, admin

    public var permissions: Set<Permission> {
        switch self {
        case .viewer: [.view]
        case .deployer: [.view, .deploy, .rollback]
        case .approver: [.view, .approve]
        case .admin: Set(Permission.allCases)
        }
    }

    public static func parse(_ text: String, field: String) throws -> Role {
        guard let role = Role(rawValue: text.lowercased()) else {
            throw AccessConfigError("\(field): '\(text)' is not a role (viewer, deployer, approver, admin)")
        }
        return role
    }
}

/// A role over some scopes; a deny grant takes the role's permissions away there, whatever
/// else allows them.
public struct Grant: Sendable, Equatable {
    public var role: Role
    public var scopes: [ScopePattern]
    public var deny: Bool

    public init(role: Role, scopes: [ScopePattern] = [.any], deny: Bool = false) {
        self.role = role
        self.scopes = scopes.isEmpty ? [.any] : scopes
        self.deny = deny
    }

    func covers(_ permission: Permission, in scope: String) -> Bool {
        role.permissions.contains(permission) && scopes.contains { $0.matches(scope) }
    }
}

/// `cluster/service` with `*` (any run of characters) and `?` (one character): `prod/*`,
/// `staging/api-*`, `*`. Cluster and service are names (ARNs are reduced to their last part);
/// scheduled tasks of a release are `rule/NAME`.
public struct ScopePattern: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String

    public init(_ pattern: String) throws {
        let trimmed = pattern.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 512 else {
            throw AccessConfigError("scope '\(pattern.prefix(64))' must be 1 to 512 characters (cluster/service, e.g. prod/*)")
        }
        self.pattern = trimmed
    }

    private init(unchecked: String) { pattern = unchecked }

    public static let any = ScopePattern(unchecked: "*")

    public var description: String { pattern }

    public func matches(_ scope: String) -> Bool {
        Self.glob(Array(pattern.utf8)[...], Array(scope.utf8)[...])
    }

    /// Iterative wildcard match (no recursion, linear in practice).
    static func glob(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        var pi = p.startIndex, si = s.startIndex
        var star: Int? = nil, mark = s.startIndex
        while si < s.endIndex {
            if pi < p.endIndex, p[pi] == UInt8(ascii: "?") || p[pi] == s[si] {
                pi += 1; si += 1
            } else if pi < p.endIndex, p[pi] == UInt8(ascii: "*") {
                star = pi; mark = si; pi += 1
            } else if let st = star {
                pi = st + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.endIndex, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.endIndex
    }
}

public struct AccessConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
