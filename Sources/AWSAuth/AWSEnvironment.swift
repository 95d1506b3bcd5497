import Foundation

/// The region and the service endpoints, worked out once from the environment, the shared
/// config file and the server's configuration.
///
/// Region: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the selected profile's `region`,
/// then `configuredRegion` (the server's `aws.region`).
///
/// Endpoint of a service: its `AWS_ENDPOINT_URL_<SERVICE>` variable, then `AWS_ENDPOINT_URL`,
/// then `configuredEndpoint` (the server's `aws.endpoint_url`), then AWS's default
/// (`https://ecs.{region}.amazonaws.com`, …; IAM is global: `https://iam.amazonaws.com`,
/// signed for us-east-1; China and GovCloud regions get their partition's hosts).
public struct AWSEnvironment: Sendable {
    public let region: String
    /// Where the region came from: `AWS_REGION`, `AWS_DEFAULT_REGION`, `profile NAME`,
    /// `configuration`.
    public let regionSource: String
    /// The selected profile (`AWS_PROFILE`, else `default`).
    public let profile: String
    private let endpoints: [AWSService: (url: URL, source: String)]

    /// - Parameters:
    ///   - environment: the process environment (passed in, never read here).
    ///   - configuredRegion: the server configuration's region, the last resort.
    ///   - configuredEndpoint: the server configuration's endpoint URL for every service.
    ///   - sharedFiles: the shared files to read the profile's region from (nil: load them
    ///     as `environment` says).
    public init(environment: [String: String], configuredRegion: String? = nil, configuredEndpoint: String? = nil,
                sharedFiles: SharedConfigFiles? = nil) throws {
        let profile = SharedConfigFiles.selectedProfile(environment: environment)
        self.profile = profile

        var candidates: [(source: String, value: String?)] = [
            ("AWS_REGION", environment.setting("AWS_REGION")),
            ("AWS_DEFAULT_REGION", environment.setting("AWS_DEFAULT_REGION")),
        ]
        if candidates.allSatisfy({ $0.value == nil }) {
            let files = sharedFiles ?? SharedConfigFiles.load(environment: environment)
            let value = files.profile(profile)?["region"].flatMap { $0.isEmpty ? nil : $0 }
            candidates.append(("profile \(profile)", value))
        }
        candidates.append(("configuration", configuredRegion.flatMap {
            let trimmed = $0.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        }))
        guard let chosen = candidates.first(where: { $0.value != nil }), let region = chosen.value else {
            throw AWSConfigurationError.noRegion(tried: candidates.map(\.source))
        }
        guard Self.isValidRegion(region) else {
            throw AWSConfigurationError.invalidRegion(source: chosen.source, value: String(region.prefix(64)))
        }
        self.region = region
        self.regionSource = chosen.source

        var endpoints: [AWSService: (url: URL, source: String)] = [:]
        let shared = try environment.setting("AWS_ENDPOINT_URL").map {
            (try Self.endpointURL($0, source: "AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL")
        }
        let configured = try configuredEndpoint.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
            .map { (try Self.endpointURL($0, source: "aws.endpoint_url"), "configuration") }
        for service in AWSService.allCases {
            if let value = environment.setting(service.endpointVariable) {
                endpoints[service] = (try Self.endpointURL(value, source: service.endpointVariable),
                                      service.endpointVariable)
            } else if let shared {
                endpoints[service] = shared
            } else if let configured {
                endpoints[service] = configured
            } else {
                endpoints[service] = (Self.defaultEndpoint(for: service, region: region), "default")
            }
        }
        self.endpoints = endpoints
    }

    /// The URL to send `service`'s requests to.
    public func endpoint(for service: AWSService) -> URL {
        endpoints[service]!.url
    }

    /// Which setting gave `service`'s endpoint: its variable, `AWS_ENDPOINT_URL`,
    /// `configuration` or `default`.
    public func endpointSource(for service: AWSService) -> String {
        endpoints[service]!.source
    }

    /// The SigV4 service name.
    public func signingName(for service: AWSService) -> String { service.signingName }

    /// The SigV4 region: the region, or the partition's signing region for IAM.
    public func signingRegion(for service: AWSService) -> String {
        service.fixedRegion ?? (service.isGlobal ? Partition(region: region).globalSigningRegion : region)
    }

    /// A signer for `service` with `credentials`.
    public func signer(for service: AWSService, credentials: AWSCredentials) -> SigV4Signer {
        SigV4Signer(credentials: credentials, region: signingRegion(for: service), service: signingName(for: service))
    }

    /// AWS's endpoint for `service` in `region`.
    public static func defaultEndpoint(for service: AWSService, region: String) -> URL {
        let partition = Partition(region: region)
        if service.isGlobal { return URL(string: partition.iamEndpoint)! }
        return URL(string: "https://\(service.endpointPrefix).\(service.fixedRegion ?? region).\(partition.dnsSuffix)")!
    }

    static func isValidRegion(_ region: String) -> Bool {
        !region.isEmpty && region.count <= 64 && !region.hasPrefix("-") && !region.hasSuffix("-")
            && region.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    private static func endpointURL(_ text: String, source: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else {
            throw AWSConfigurationError.invalidEndpoint(source: source)
        }
        return url
    }
}
