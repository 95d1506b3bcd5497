import AsyncHTTPClient
import Foundation
import Logging

/// Credentials of the EC2 instance's role, from the instance metadata service with IMDSv2
/// sessions only:
/// 1. `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`;
/// 2. `GET /latest/meta-data/iam/security-credentials/` (the role name) with
///    `X-aws-ec2-metadata-token`;
/// 3. `GET /latest/meta-data/iam/security-credentials/<role>`.
///
/// The endpoint is http://169.254.169.254, `http://[fd00:ec2::254]` when
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` is `IPv6`, or `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
/// `AWS_EC2_METADATA_DISABLED=true` turns the provider off. An unreachable service or an
/// instance without a role is `notConfigured` (not on EC2); any other failure is `failed`.
public struct InstanceMetadataCredentialProvider: CredentialProvider {
    public static let name = "ec2 instance metadata"
    public static let defaultEndpoint = URL(string: "http://169.254.169.254")!
    public static let defaultIPv6Endpoint = URL(string: "http://[fd00:ec2::254]")!
    static let tokenPath = "/latest/api/token"
    static let credentialsPath = "/latest/meta-data/iam/security-credentials/"

    private let environment: [String: String]
    private let http: MetadataHTTP
    private let tokenTTLSeconds: Int
    private let logger: Logger

    /// - Parameters:
    ///   - timeout: the deadline of each of the three requests (the SDKs use one second).
    ///   - tokenTTLSeconds: the lifetime asked for the IMDSv2 session token.
    public init(environment: [String: String], httpClient: HTTPClient, timeout: Duration = .seconds(1),
                tokenTTLSeconds: Int = 21600, logger: Logger = Logger(label: "aws.credentials")) {
        self.environment = environment
        self.http = MetadataHTTP(client: httpClient, timeout: timeout)
        self.tokenTTLSeconds = tokenTTLSeconds
        self.logger = logger
    }

    /// The service's base URL, from the environment.
    func endpoint() throws -> URL {
        if let configured = environment.setting("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
            guard let url = URL(string: configured), let scheme = url.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", url.host != nil else {
                throw fail("AWS_EC2_METADATA_SERVICE_ENDPOINT is not an absolute http(s) URL")
            }
            return url
        }
        if environment.setting("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")?.lowercased() == "ipv6" {
            return Self.defaultIPv6Endpoint
        }
        return Self.defaultEndpoint
    }

    public func credentials() async throws -> AWSCredentials {
        if environment.flag("AWS_EC2_METADATA_DISABLED") {
            throw CredentialError.notConfigured(provider: Self.name, reason: "disabled by AWS_EC2_METADATA_DISABLED")
        }
        let base = try endpoint()
        let host = SigV4Signer.hostHeader(for: base)

        // 1. Session token.
        let tokenResponse = try await send(.put, base, Self.tokenPath,
                                           headers: [("X-aws-ec2-metadata-token-ttl-seconds", "\(tokenTTLSeconds)")])
        guard tokenResponse.status == 200 else {
            if tokenResponse.status == 403 {
                throw CredentialError.notConfigured(provider: Self.name,
                                                    reason: "the metadata service at \(host) refused a session token "
                                                        + "(HTTP 403: IMDS disabled on this instance)")
            }
            throw fail("the metadata service at \(host) answered the token request with HTTP \(tokenResponse.status)")
        }
        let token = tokenResponse.text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw fail("the metadata service at \(host) gave an unusable session token")
        }
        let tokenHeader = [("X-aws-ec2-metadata-token", token)]

        // 2. Role name.
        let roleResponse = try await send(.get, base, Self.credentialsPath, headers: tokenHeader)
        if roleResponse.status == 404 {
            throw CredentialError.notConfigured(provider: Self.name,
                                                reason: "no IAM role is attached to this instance (\(host))")
        }
        guard roleResponse.status == 200 else {
            throw fail("the metadata service at \(host) answered the role request with HTTP \(roleResponse.status)")
        }
        let role = roleResponse.text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
        guard let role, role.allSatisfy({ $0.isLetter || $0.isNumber || "+=,.@_-".contains($0) }) else {
            throw fail("the metadata service at \(host) named no usable role")
        }

        // 3. The role's credentials.
        let credentialsResponse = try await send(.get, base, Self.credentialsPath + role, headers: tokenHeader)
        guard credentialsResponse.status == 200 else {
            throw fail("the metadata service at \(host) answered the credentials request for role \(role) "
                       + "with HTTP \(credentialsResponse.status)")
        }
        do {
            let credentials = try CredentialDocument.credentials(from: credentialsResponse.body,
                                                                 source: "imds (role \(role))")
            logger.debug("fetched instance role credentials", metadata: [
                "role": "\(role)", "expiration": "\(credentials.expiration.map { "\($0)" } ?? "none")",
            ])
            return credentials
        } catch {
            throw fail("role \(role) at \(host): \(error)")
        }
    }

    private func send(_ method: MetadataHTTP.Method, _ base: URL, _ path: String,
                      headers: [(String, String)]) async throws -> MetadataHTTP.Response {
        var text = base.absoluteString
        if text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text + path) else {
            throw fail("cannot form a metadata URL from the endpoint")
        }
        do {
            return try await http.send(method, url, headers: headers)
        } catch {
            // Off EC2 nothing answers: the chain should go on (or end) quietly.
            throw CredentialError.notConfigured(provider: Self.name,
                                                reason: "the metadata service is unreachable: \(error)")
        }
    }

    private func fail(_ reason: String) -> CredentialError {
        .failed(provider: Self.name, reason: reason)
    }
}
