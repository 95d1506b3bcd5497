import AsyncHTTPClient
import CloudModel
import Foundation
import Logging

/// Asks providers in order and returns the first credentials given.
///
/// A provider answering `CredentialError.notConfigured` is passed over; any other error
/// stops the chain (a profile whose role cannot be assumed must not quietly give way to the
/// instance's role). When every provider passes, the error is `noCredentials`, listing what
/// each one answered.
public struct CredentialChain: CredentialProvider {
    public let providers: [any CredentialProvider]
    private let logger: Logger

    public init(_ providers: [any CredentialProvider], logger: Logger = Logger(label: "aws.credentials")) {
        self.providers = providers
        self.logger = logger
    }

    public func credentials() async throws -> AWSCredentials {
        var tried: [CredentialError] = []
        for provider in providers {
            do {
                return try await provider.credentials()
            } catch let error as CredentialError {
                guard case .notConfigured = error else { throw error }
                logger.debug("credential provider not configured", metadata: ["reason": "\(error)"])
                tried.append(error)
            }
        }
        throw CredentialError.noCredentials(tried: tried)
    }

    /// The providers of the AWS SDKs' default chain, in their order: environment variables,
    /// the shared-file profile, web identity, the ECS container endpoint, EC2 instance
    /// metadata.
    ///
    /// - Parameters:
    ///   - environment: the process environment (passed in, never read here).
    ///   - httpClient: used for the container endpoint and instance metadata.
    ///   - roleAssumer: the STS client, for `role_arn` profiles and web identity.
    ///   - region: the region for STS calls (see `AWSEnvironment.region`).
    ///   - metadataTimeout: how long the instance metadata service may take to answer.
    public static func standard(environment: [String: String], httpClient: HTTPClient,
                                roleAssumer: (any RoleAssuming)?, region: String?,
                                clock: any DeployClock = SystemClock(), metadataTimeout: Duration = .seconds(1),
                                logger: Logger = Logger(label: "aws.credentials")) -> CredentialChain {
        CredentialChain([
            EnvironmentCredentialProvider(environment: environment),
            ProfileCredentialProvider(environment: environment, roleAssumer: roleAssumer, region: region,
                                      clock: clock, logger: logger),
            WebIdentityCredentialProvider(environment: environment, roleAssumer: roleAssumer, region: region,
                                          clock: clock, logger: logger),
            ContainerCredentialProvider(environment: environment, httpClient: httpClient, logger: logger),
            InstanceMetadataCredentialProvider(environment: environment, httpClient: httpClient, timeout: metadataTimeout,
                                               logger: logger),
        ], logger: logger)
    }

    /// The standard chain behind a cache that refreshes temporary credentials five minutes
    /// before they expire: what the server uses.
    public static func standardCached(environment: [String: String], httpClient: HTTPClient,
                                      roleAssumer: (any RoleAssuming)?, region: String?,
                                      clock: any DeployClock = SystemClock(),
                                      logger: Logger = Logger(label: "aws.credentials")) -> CachingCredentialProvider {
        CachingCredentialProvider(
            standard(environment: environment, httpClient: httpClient, roleAssumer: roleAssumer, region: region,
                     clock: clock, logger: logger),
            clock: clock, logger: logger)
    }
}
