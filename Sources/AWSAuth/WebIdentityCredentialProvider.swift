import CloudModel
import Foundation
import Logging

/// Credentials for `AWS_ROLE_ARN` through AssumeRoleWithWebIdentity, with the OIDC token read
/// from `AWS_WEB_IDENTITY_TOKEN_FILE` on every call (the file is rotated by its owner).
/// `AWS_ROLE_SESSION_NAME` names the session.
public struct WebIdentityCredentialProvider: CredentialProvider {
    public static let name = "web identity"
    private let environment: [String: String]
    private let roleAssumer: (any RoleAssuming)?
    private let region: String
    private let clock: any DeployClock
    private let logger: Logger

    /// - Parameter region: the region for the STS call (nil: us-east-1).
    public init(environment: [String: String], roleAssumer: (any RoleAssuming)?, region: String? = nil,
                clock: any DeployClock = SystemClock(), logger: Logger = Logger(label: "aws.credentials")) {
        self.environment = environment
        self.roleAssumer = roleAssumer
        self.region = region ?? "us-east-1"
        self.clock = clock
        self.logger = logger
    }

    public func credentials() async throws -> AWSCredentials {
        let tokenFile = environment.setting("AWS_WEB_IDENTITY_TOKEN_FILE")
        let roleArn = environment.setting("AWS_ROLE_ARN")
        guard let tokenFile, let roleArn else {
            let reason = switch (tokenFile, roleArn) {
            case (nil, nil): "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set"
            case (nil, _): "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not"
            default: "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not"
            }
            throw CredentialError.notConfigured(provider: Self.name, reason: reason)
        }
        guard let data = FileManager.default.contents(atPath: tokenFile) else {
            throw CredentialError.failed(provider: Self.name, reason: "cannot read the token file \(tokenFile)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw CredentialError.failed(provider: Self.name, reason: "the token file \(tokenFile) is empty")
        }
        guard let roleAssumer else {
            throw CredentialError.failed(provider: Self.name,
                                         reason: "AssumeRoleWithWebIdentity needs an STS client, and none was given")
        }
        let sessionName = environment.setting("AWS_ROLE_SESSION_NAME")
            ?? "ecs-deploy-\(Int(clock.now().timeIntervalSince1970))"
        do {
            var credentials = try await roleAssumer.assumeRoleWithWebIdentity(
                roleArn: roleArn, sessionName: sessionName, webIdentityToken: token, region: region)
            credentials.source = "web identity (role \(roleArn))"
            logger.debug("assumed role with web identity", metadata: ["role_arn": "\(roleArn)"])
            return credentials
        } catch {
            throw CredentialError.failed(provider: Self.name,
                                         reason: Redaction.scrub("AssumeRoleWithWebIdentity of \(roleArn) failed: \(error)",
                                                                 secrets: [token]))
        }
    }
}
