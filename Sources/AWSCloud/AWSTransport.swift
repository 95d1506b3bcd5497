import AWSAuth
import AsyncHTTPClient
import CloudModel
import Foundation
import Logging

/// A response with a 2xx status.
struct AWSResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
}

/// Sends signed requests to AWS over one shared connection pool. Transport failures and
/// timeouts become retryable `CloudError`s; an error answer becomes the `CloudError` that the
/// protocol's decoder makes of it, with any credential text scrubbed out.
public final class AWSTransport: Sendable {
    /// The process-wide HTTP client: one connection pool for every AWS client, no redirects.
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(60))
        configuration.connectionPool = HTTPClient.Configuration.ConnectionPool(idleTimeout: .seconds(60))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The User-Agent of every AWS call.
    public static let userAgent = "ecs-deploy/1.0"

    /// Largest response body read (AWS answers are far smaller).
    static let maxResponseBytes = 16 * 1024 * 1024

    let httpClient: HTTPClient
    let credentialProvider: any CredentialProvider
    let signer: RequestSigner
    /// How long one HTTP attempt may take (`aws.timeout`).
    public let timeout: Duration
    let logger: Logger
    let now: @Sendable () -> Date
    /// Told of every call that got an answer or failed: service, operation, milliseconds.
    let onCall: (@Sendable (_ service: String, _ operation: String, _ milliseconds: Double) -> Void)?

    public init(credentials: any CredentialProvider, timeout: Duration = .seconds(30),
                httpClient: HTTPClient = AWSTransport.sharedHTTPClient,
                signer: @escaping RequestSigner = AWSTransport.sigV4,
                logger: Logger = Logger(label: "aws"), now: @escaping @Sendable () -> Date = { Date() },
                onCall: (@Sendable (_ service: String, _ operation: String, _ milliseconds: Double) -> Void)? = nil) {
        self.credentialProvider = credentials
        self.timeout = timeout
        self.httpClient = httpClient
        self.signer = signer
        self.logger = logger
        self.now = now
        self.onCall = onCall
    }

    /// This transport's connection pool, credentials and signing, telling `onCall` of each call.
    public func observed(by onCall: @escaping @Sendable (_ service: String, _ operation: String, _ milliseconds: Double) -> Void) -> AWSTransport {
        AWSTransport(credentials: credentialProvider, timeout: timeout, httpClient: httpClient, signer: signer, logger: logger,
                     now: now, onCall: onCall)
    }

    /// Which credentials sign a request.
    enum Signing: Sendable {
        /// The transport's credential provider (every ordinary call).
        case provider
        /// Given credentials (STS AssumeRole with a source profile's keys).
        case fixed(AWSCredentials)
        /// No signature (STS AssumeRoleWithWebIdentity).
        case unsigned
    }

    /// Sends one request. Returns 2xx answers; throws `decodeError`'s error for the others.
    func send(service: AWSService, operation: String, url: URL, signingRegion: String,
              headers: [(String, String)], body: [UInt8], signing: Signing = .provider,
              decodeError: (Int, [(String, String)], [UInt8]) -> CloudError) async throws -> AWSResponse {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.body = .bytes(body)
        // Every call says which tool makes it, as AWS asks of tools (not signed: proxies may change it).
        let headers = headers + [("User-Agent", Self.userAgent)]
        let credentials: AWSCredentials?
        switch signing {
        case .provider: credentials = try await providedCredentials(service: service, operation: operation)
        case .fixed(let given): credentials = given
        case .unsigned: credentials = nil
        }
        if let credentials {
            let signed = signer(SigningInput(credentials: credentials, region: signingRegion, service: service.signingName,
                                             method: "POST", url: url, headers: headers, body: body, date: now()))
            for (name, value) in signed { request.headers.add(name: name, value: value) }
        } else {
            for (name, value) in headers { request.headers.add(name: name, value: value) }
        }
        let response = try await execute(request, service: service, operation: operation)
        guard (200..<300).contains(response.status) else {
            let error = decodeError(response.status, response.headers, response.body)
            throw credentials.map { Self.scrubbed(error, credentials: $0) } ?? error
        }
        return response
    }

    private func providedCredentials(service: AWSService, operation: String) async throws -> AWSCredentials {
        do {
            return try await credentialProvider.credentials()
        } catch let error as CloudError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw CloudError(code: "CredentialsError", message: "no AWS credentials for \(service.signingName):\(operation): \(error)",
                             httpStatus: 0)
        }
    }

    private func execute(_ request: HTTPClientRequest, service: AWSService, operation: String) async throws -> AWSResponse {
        let started = ContinuousClock.now
        defer { onCall?(service.signingName, operation, started.duration(to: .now).seconds * 1000) }
        let response: AWSResponse
        do {
            let answer = try await httpClient.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
            var buffer = try await answer.body.collect(upTo: Self.maxResponseBytes)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            response = AWSResponse(status: Int(answer.status.code), headers: answer.headers.map { ($0.name, $0.value) },
                                   body: bytes)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            let mapped = Self.transportError(error, service: service, operation: operation, timeout: timeout)
            logger.debug("aws call failed", metadata: ["call": "\(service.signingName):\(operation)", "error": "\(mapped.code)"])
            throw mapped
        }
        let elapsed = started.duration(to: .now)
        logger.debug("aws call", metadata: ["call": "\(service.signingName):\(operation)", "status": "\(response.status)",
                                            "ms": "\(Int(elapsed.seconds * 1000))"])
        return response
    }

    /// A transport failure (no HTTP answer) as a retryable `CloudError`.
    static func transportError(_ error: any Error, service: AWSService, operation: String, timeout: Duration) -> CloudError {
        let call = "\(service.signingName):\(operation)"
        if let http = error as? HTTPClientError {
            switch http {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout,
                 .getConnectionFromPoolTimeout:
                return CloudError(code: "RequestTimeout", message: "\(call): no answer within \(timeout) (\(http))",
                                  httpStatus: 0)
            default:
                break
            }
        }
        return CloudError(code: "TransportError", message: "\(call): \(error)", httpStatus: 0)
    }

    /// Removes the secret key and session token from an error's message, should an
    /// endpoint ever echo them.
    static func scrubbed(_ error: CloudError, credentials: AWSCredentials) -> CloudError {
        var copy = error
        for secret in [credentials.secretAccessKey, credentials.sessionToken ?? ""] where secret.count >= 8 {
            copy.message = copy.message.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return copy
    }
}
