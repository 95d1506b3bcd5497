import AWSAuth
import AsyncHTTPClient
import CloudModel
import Foundation
import Logging
import CloudRuntime

/// Builds the AWS clients from the region and endpoints (`AWSEnvironment`) and a credential
/// provider, all sharing one transport (one HTTP connection pool).
public struct AWSCloudFactory: Sendable {
    public let environment: AWSEnvironment
    public let transport: AWSTransport

    /// `timeout` bounds one HTTP attempt (`aws.timeout`).
    public init(environment: AWSEnvironment, credentials: any CredentialProvider, timeout: Duration = .seconds(30),
                httpClient: HTTPClient = AWSTransport.sharedHTTPClient, signer: @escaping RequestSigner = AWSTransport.sigV4,
                logger: Logger = Logger(label: "aws")) {
        self.environment = environment
        self.transport = AWSTransport(credentials: credentials, timeout: timeout, httpClient: httpClient, signer: signer,
                                      logger: logger)
    }

    public var ecs: ECSClient { ECSClient(transport: transport, environment: environment) }
    public var elb: ELBClient { ELBClient(transport: transport, environment: environment) }
    public var events: EventsClient { EventsClient(transport: transport, environment: environment) }
    public var sts: STSClient { STSClient(transport: transport, environment: environment) }
    public var iam: IAMClient { IAMClient(transport: transport, environment: environment) }
    public var cloudWatch: CloudWatchClient { CloudWatchClient(transport: transport, environment: environment) }
    public var sns: SNSClient { SNSClient(transport: transport, environment: environment) }
    public var pricing: PricingClient { PricingClient(transport: transport, environment: environment) }

    /// The clients as they are: every call is one HTTP request, errors as AWS answered them.
    public func makeRawCloud() -> Cloud {
        Cloud(ecs: ecs, elb: elb, events: events, identity: sts, cloudWatch: cloudWatch, topics: sns)
    }

    /// The cloud the engine uses: each call paced by `rateLimiter` (share one per process) and
    /// retried by `retry`, both on `clock`.
    public func makeCloud(retry: RetryPolicy, rateLimiter: RateLimiterMiddleware,
                          clock: any DeployClock = SystemClock(),
                          onRetry: (@Sendable (RetryEvent) -> Void)? = nil) -> Cloud {
        let retrying = RetryMiddleware(policy: retry, clock: clock, onRetry: onRetry)
        return MiddlewareCloud(makeRawCloud(), middleware: [retrying, rateLimiter]).cloud
    }

    /// Pre-flight checks with these clients; `onCall` is told of each of their AWS calls (they
    /// do not go through the engine's cloud and its metrics).
    /// `middleware`: around each of its calls (the server's retries).
    public func makePreflight(middleware: [any CloudMiddleware] = [],
                              onCall: (@Sendable (_ service: String, _ operation: String, _ milliseconds: Double) -> Void)? = nil)
        -> AWSPreflight {
        let transport = onCall.map { self.transport.observed(by: $0) } ?? self.transport
        return AWSPreflight(identity: STSClient(transport: transport, environment: environment),
                            iam: IAMClient(transport: transport, environment: environment), middleware: middleware)
    }

    /// The factory for a server: region and endpoints from `environment` (the process
    /// environment) and the configuration, credentials from AWSAuth's standard chain (cached),
    /// roles assumed through this module's STS client.
    public static func standard(environment: [String: String], configuredRegion: String?, configuredEndpoint: String?,
                                timeout: Duration = .seconds(30), httpClient: HTTPClient = AWSTransport.sharedHTTPClient,
                                clock: any DeployClock = SystemClock(),
                                logger: Logger = Logger(label: "aws")) throws -> AWSCloudFactory {
        let resolved = try AWSEnvironment(environment: environment, configuredRegion: configuredRegion,
                                          configuredEndpoint: configuredEndpoint)
        let assumer = roleAssumer(environment: resolved, timeout: timeout, httpClient: httpClient)
        let chain = CredentialChain.standardCached(environment: environment, httpClient: httpClient, roleAssumer: assumer,
                                                   region: resolved.region, clock: clock, logger: logger)
        return AWSCloudFactory(environment: resolved, credentials: chain, timeout: timeout, httpClient: httpClient,
                               logger: logger)
    }

    /// The STS client that AWSAuth's credential chain assumes roles with. It signs with the
    /// source credentials each call is given (or not at all, for web identity), so it
    /// needs no provider of its own.
    public static func roleAssumer(environment: AWSEnvironment, timeout: Duration = .seconds(30),
                                   httpClient: HTTPClient = AWSTransport.sharedHTTPClient,
                                   signer: @escaping RequestSigner = AWSTransport.sigV4) -> any RoleAssuming {
        let transport = AWSTransport(credentials: NoCredentials(), timeout: timeout, httpClient: httpClient, signer: signer)
        return STSClient(transport: transport, environment: environment)
    }
}

/// A provider for a transport whose calls all bring their own credentials.
struct NoCredentials: CredentialProvider {
    func credentials() async throws -> AWSCredentials {
        throw CloudError(code: "CredentialsError", message: "this STS client signs only with the credentials given to each call",
                         httpStatus: 0)
    }
}
