import AWSAuth
import CloudModel
import Foundation
import Testing
import TestSupport

/// No secret key, session token, identity token or metadata token in any description, error
/// or log line.
@Suite("Secrets stay out of text")
struct RedactionTests {
    @Test func credentialsDescriptions() {
        let credentials = AWSCredentials(accessKeyID: "ASIAVISIBLE", secretAccessKey: Planted.secret,
                                         sessionToken: Planted.token,
                                         expiration: Date(timeIntervalSince1970: 1_900_000_000), source: "test")
        var dumped = ""
        dump(credentials, to: &dumped)
        var mirrored = ""
        for child in Mirror(reflecting: credentials).children { mirrored += "\(child.label ?? ""): \(child.value)\n" }
        for text in ["\(credentials)", String(reflecting: credentials), dumped, mirrored, "\([credentials])",
                     "\(Optional(credentials) as Any)"] {
            #expect(Planted.leaks(in: text).isEmpty, "\(text)")
            #expect(text.contains("ASIAVISIBLE"))
        }
    }

    /// Every provider, on its success path, with a capturing logger at trace level.
    @Test func logLinesOfEveryProvider() async throws {
        let (logger, lines) = CapturingLogHandler.logger()
        let home = try TempDirectory()
        defer { home.remove() }
        try home.write(".aws/credentials", "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = \(Planted.secret)\n")
        try home.write(".aws/config", "[profile role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n")
        let tokenFile = try home.write("web-token", Planted.webIdentityToken)
        let sts = FakeRoleAssumer(expiration: Date(timeIntervalSince1970: 1_900_000_000))
        let clock = ManualClock()

        try await withStubServer({ request in
            request.uri == "/creds" ? .ok(CredentialChainTests.containerDocument) : .notFound
        }) { container async throws in
            try await withStubServer(InstanceMetadataCredentialProviderTests.imds()) { imds async throws in
                try await withHTTPClient { client async throws in
                    let providers: [any CredentialProvider] = [
                        EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": "AKIDENV",
                                                                    "AWS_SECRET_ACCESS_KEY": Planted.secret,
                                                                    "AWS_SESSION_TOKEN": Planted.token]),
                        ProfileCredentialProvider(environment: ["HOME": home.path, "AWS_PROFILE": "role"],
                                                  roleAssumer: sts, clock: clock, logger: logger),
                        WebIdentityCredentialProvider(environment: ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                                                                    "AWS_ROLE_ARN": "arn:aws:iam::1:role/w"],
                                                      roleAssumer: sts, clock: clock, logger: logger),
                        ContainerCredentialProvider(environment: [
                            "AWS_CONTAINER_CREDENTIALS_FULL_URI": container.baseURL + "/creds",
                            "AWS_CONTAINER_AUTHORIZATION_TOKEN": Planted.containerToken,
                        ], httpClient: client, logger: logger),
                        InstanceMetadataCredentialProvider(
                            environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.baseURL], httpClient: client,
                            // The stub answers at once; a loaded machine can still miss the SDKs' one second.
                            timeout: .seconds(30), logger: logger),
                    ]
                    for provider in providers {
                        let cache = CachingCredentialProvider(provider, clock: clock, logger: logger)
                        let credentials = try await cache.credentials()
                        #expect(Planted.leaks(in: "\(credentials)").isEmpty)
                        clock.advance(by: .seconds(86_400 * 365 * 10))
                        _ = try? await cache.credentials()
                    }
                    // The chain logs what it passes over.
                    _ = try await CredentialChain(Array(providers.dropFirst(3)), logger: logger).credentials()
                }
            }
        }
        let all = lines.all
        #expect(all.count >= 6)
        #expect(all.contains { $0.contains("obtained AWS credentials") })
        #expect(all.contains { $0.contains("assumed role") })
        for line in all {
            #expect(Planted.leaks(in: line).isEmpty, "\(line)")
        }
    }

    @Test func configurationErrors() {
        let error = AWSConfigurationError.invalidEndpoint(source: "AWS_ENDPOINT_URL")
        #expect(!"\(error)".contains("PLANTED"))
        #expect(throws: AWSConfigurationError.invalidEndpoint(source: "AWS_ENDPOINT_URL")) {
            try AWSEnvironment(environment: ["AWS_REGION": "us-east-1",
                                             "AWS_ENDPOINT_URL": "user:\(Planted.secret)@nohost"])
        }
    }
}
