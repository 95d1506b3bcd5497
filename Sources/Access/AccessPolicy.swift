import CloudModel
import Foundation

/// Roles bound to principals (by id or OIDC group), each over scopes, with deny beating allow;
/// and how many approvals a change in a scope needs.
public struct AccessPolicy: Sendable, Equatable {
    /// `auth.bindings[]`: who (principal ids, which may use `*`, or groups) gets which role where.
    public struct Binding: Sendable, Equatable {
        public var principals: [ScopePattern]
        public var groups: [String]
        public var grant: Grant

        public init(principals: [ScopePattern] = [], groups: [String] = [], grant: Grant) {
            self.principals = principals
            self.groups = groups
            self.grant = grant
        }

        func applies(to principal: Principal) -> Bool {
            principals.contains { $0.matches(principal.id) } || groups.contains { principal.groups.contains($0) }
        }
    }

    /// `approvals.required[]`: changes in `scope` need `count` distinct approvers.
    public struct ApprovalRule: Sendable, Equatable {
        public var scope: ScopePattern
        public var count: Int
        public init(scope: ScopePattern, count: Int) {
            self.scope = scope
            self.count = count
        }
    }

    public var bindings: [Binding] = []
    /// With no authentication configured (mock mode, a loopback address, or
    /// `auth.allow_anonymous`), every caller is anonymous and may do everything.
    public var anonymousIsAdmin = false
    public var approvalRules: [ApprovalRule] = []

    public init(bindings: [Binding] = [], anonymousIsAdmin: Bool = false, approvalRules: [ApprovalRule] = []) {
        self.bindings = bindings
        self.anonymousIsAdmin = anonymousIsAdmin
        self.approvalRules = approvalRules
    }

    /// Everything the principal holds: its credential's grants and the bindings that name it.
    public func grants(for principal: Principal) -> [Grant] {
        if principal.method == .anonymous, anonymousIsAdmin { return [Grant(role: .admin)] }
        return principal.grants + bindings.filter { $0.applies(to: principal) }.map(\.grant)
    }

    public func allows(_ principal: Principal, _ permission: Permission, in scope: String) -> Bool {
        let grants = grants(for: principal)
        if grants.contains(where: { $0.deny && $0.covers(permission, in: scope) }) { return false }
        return grants.contains { !$0.deny && $0.covers(permission, in: scope) }
    }

    /// Throws `AccessDenied` naming the permission and the first scope it lacks.
    public func check(_ principal: Principal, _ permission: Permission, in scopes: [String]) throws(AccessDenied) {
        for scope in scopes where !allows(principal, permission, in: scope) {
            throw AccessDenied(principal: principal.id, permission: permission, scope: scope)
        }
    }

    /// The number of distinct approvers a change touching `scopes` needs (1 when no rule matches).
    public func requiredApprovals(for scopes: [String]) -> Int {
        var count = 1
        for rule in approvalRules where scopes.contains(where: { rule.scope.matches($0) }) {
            count = max(count, rule.count)
        }
        return count
    }

    /// The scope of a service: `cluster/service`, with ARNs reduced to their names.
    public static func scope(cluster: String, service: String) -> String {
        "\(cluster.arnResourceName)/\(service.arnResourceName)"
    }

    /// The scope of a scheduled task of a release: `rule/NAME`.
    public static func scope(rule: String) -> String { "rule/\(rule.arnResourceName)" }
}

/// A call refused for want of a permission: names the permission and the scope.
public struct AccessDenied: Error, CustomStringConvertible, Sendable, Equatable {
    public let principal: String
    public let permission: Permission
    public let scope: String

    public var description: String {
        "\(principal) lacks the '\(permission.rawValue)' permission on '\(scope.prefix(200))'"
    }
}
