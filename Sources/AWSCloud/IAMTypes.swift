import Foundation

/// An IAM role, as GetRole describes it.
public struct IAMRole: Sendable, Equatable {
    public var roleName: String
    public var arn: String
    public var roleId: String?
    public init(roleName: String, arn: String, roleId: String? = nil) {
        self.roleName = roleName
        self.arn = arn
        self.roleId = roleId
    }
}

/// One answer of SimulatePrincipalPolicy: may `action` be done on `resource`?
public struct PolicyEvaluation: Sendable, Equatable {
    public var action: String
    public var resource: String
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    public var decision: String
    public init(action: String, resource: String, decision: String) {
        self.action = action
        self.resource = resource
        self.decision = decision
    }

    public var isAllowed: Bool { decision == "allowed" }
}
