import CloudModel
import Foundation
import Logging

/// Credentials from a profile of the shared files (`AWS_PROFILE`, default `default`):
/// - static keys: `aws_access_key_id`, `aws_secret_access_key`, optional `aws_session_token`;
/// - an assumed role: `role_arn` + `source_profile` (+ optional `external_id`,
///   `role_session_name`), through the injected `RoleAssuming`. The source profile may be
///   the profile itself (its own static keys) or another profile, itself static or a role.
///
/// A missing implicit `default` profile, or one without credentials, is `notConfigured`;
/// a missing profile named by `AWS_PROFILE` and a broken role set-up are `failed`.
public struct ProfileCredentialProvider: CredentialProvider {
    private let environment: [String: String]
    private let explicitProfile: String?
    private let roleAssumer: (any RoleAssuming)?
    private let region: String?
    private let clock: any DeployClock
    private let logger: Logger

    /// - Parameters:
    ///   - profile: the profile to read; nil takes `AWS_PROFILE`, else `default`.
    ///   - region: the region for STS calls; nil takes the profile's `region`, else us-east-1.
    public init(environment: [String: String], profile: String? = nil, roleAssumer: (any RoleAssuming)? = nil,
                region: String? = nil, clock: any DeployClock = SystemClock(),
                logger: Logger = Logger(label: "aws.credentials")) {
        self.environment = environment
        self.explicitProfile = profile
        self.roleAssumer = roleAssumer
        self.region = region
        self.clock = clock
        self.logger = logger
    }

    /// Profile settings naming credential sources this provider does not implement.
    static let unsupportedKeys = ["credential_process", "sso_session", "sso_start_url", "web_identity_token_file"]

    /// The profile this provider reads.
    public var profileName: String { explicitProfile ?? SharedConfigFiles.selectedProfile(environment: environment) }

    public var name: String { "profile \(profileName)" }

    public func credentials() async throws -> AWSCredentials {
        let files = SharedConfigFiles.load(environment: environment)
        let name = profileName
        guard let profile = files.profile(name) else {
            let locations = files.locations.isEmpty ? "no shared files (HOME is not set)" : files.locations
            let reason = "profile '\(name)' not found in \(locations)"
            let named = explicitProfile != nil || environment.setting("AWS_PROFILE") != nil
            throw named ? CredentialError.failed(provider: self.name, reason: reason)
                        : CredentialError.notConfigured(provider: self.name, reason: reason)
        }
        if profile["role_arn"] == nil, profile["aws_access_key_id"] == nil, profile["aws_secret_access_key"] == nil {
            if let unsupported = Self.unsupportedKeys.first(where: { profile[$0] != nil }) {
                throw CredentialError.failed(provider: self.name,
                                             reason: "profile '\(name)' uses \(unsupported), which this server does not "
                                                 + "support; use static keys or role_arn with source_profile")
            }
            throw CredentialError.notConfigured(provider: self.name,
                                                reason: "profile '\(name)' has neither static keys nor role_arn")
        }
        return try await resolve(name, profile: profile, files: files, visited: [])
    }

    private func resolve(_ name: String, profile: [String: String], files: SharedConfigFiles,
                         visited: [String]) async throws -> AWSCredentials {
        guard let roleArn = profile["role_arn"] else {
            return try staticKeys(of: name, profile: profile)
        }
        let path = visited + [name]
        let source: AWSCredentials
        if let sourceName = profile["source_profile"] {
            if sourceName == name {
                source = try staticKeys(of: name, profile: profile)
            } else if path.contains(sourceName) {
                throw fail("source_profile loop: \((path + [sourceName]).joined(separator: " -> "))")
            } else if let sourceProfile = files.profile(sourceName) {
                source = try await resolve(sourceName, profile: sourceProfile, files: files, visited: path)
            } else {
                throw fail("source_profile '\(sourceName)' of profile '\(name)' not found in \(files.locations)")
            }
        } else if profile["credential_source"] != nil {
            throw fail("profile '\(name)' uses credential_source, which this server does not support; "
                       + "use source_profile")
        } else {
            throw fail("profile '\(name)' has role_arn but no source_profile")
        }
        guard let roleAssumer else {
            throw fail("profile '\(name)' needs AssumeRole, but no STS client was given")
        }
        let sessionName = profile["role_session_name"] ?? "ecs-deploy-\(Int(clock.now().timeIntervalSince1970))"
        let stsRegion = region ?? profile["region"] ?? "us-east-1"
        do {
            var assumed = try await roleAssumer.assumeRole(roleArn: roleArn, sessionName: sessionName,
                                                           externalID: profile["external_id"], using: source,
                                                           region: stsRegion)
            assumed.source = "profile \(name) (role \(roleArn))"
            logger.debug("assumed role for profile", metadata: [
                "profile": "\(name)", "role_arn": "\(roleArn)", "source": "\(source.source)",
            ])
            return assumed
        } catch {
            throw fail(Redaction.scrub("AssumeRole of \(roleArn) for profile '\(name)' failed: \(error)",
                                       secrets: [source.secretAccessKey, source.sessionToken]))
        }
    }

    private func staticKeys(of name: String, profile: [String: String]) throws -> AWSCredentials {
        let keyID = profile["aws_access_key_id"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = profile["aws_secret_access_key"].flatMap { $0.isEmpty ? nil : $0 }
        guard let keyID, let secret else {
            let missing = keyID == nil ? "aws_access_key_id" : "aws_secret_access_key"
            throw fail("profile '\(name)' has no \(missing)")
        }
        let token = profile["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token,
                              source: "profile \(name)")
    }

    private func fail(_ reason: String) -> CredentialError {
        .failed(provider: name, reason: reason)
    }
}
