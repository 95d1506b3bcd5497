import CloudModel
import Foundation

/// AWS credentials. `description` never shows the secret or the session token.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working (nil: they do not expire).
    public var expiration: Date?
    /// Which provider produced them (for logs: "environment", "profile default", "imds", ...).
    public var source: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil,
                source: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), source: \(source), expiration: \(expiration.map { "\($0)" } ?? "none"))"
    }
}

/// Gives credentials; caching providers refresh them before they expire.
public protocol CredentialProvider: Sendable {
    func credentials() async throws -> AWSCredentials
}

/// STS calls the credential chain needs (AssumeRole for `role_arn` + `source_profile`,
/// AssumeRoleWithWebIdentity for OIDC). Implemented by the STS client of `AWSCloud`, so that
/// `AWSAuth` carries no protocol code of its own.
public protocol RoleAssuming: Sendable {
    func assumeRole(roleArn: String, sessionName: String, externalID: String?, using source: AWSCredentials,
                    region: String) async throws -> AWSCredentials
    func assumeRoleWithWebIdentity(roleArn: String, sessionName: String, webIdentityToken: String,
                                   region: String) async throws -> AWSCredentials
}

extension AWSCredentials: CustomDebugStringConvertible, CustomReflectable {
    public var debugDescription: String { description }

    /// `dump` and reflection see the same fields as `description`: never the secret or token.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "accessKeyID": accessKeyID,
            "source": source,
            "expiration": expiration.map { "\($0)" } ?? "none",
        ], displayStyle: .struct)
    }
}
