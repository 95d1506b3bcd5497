import AWSAuth
import CloudModel
import Foundation
import Testing
import TestSupport

@Suite("Default credential chain")
struct CredentialChainTests {
    static let containerDocument = """
        {"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"\(Planted.secret)","Token":"\(Planted.token)",
         "Expiration":"2030-01-02T03:04:05Z"}
        """

    /// Every source configured at once, then taken away one by one: environment beats the
    /// profile, which beats web identity, which beats the container endpoint, which beats
    /// instance metadata. Later sources are not asked while an earlier one answers.
    @Test func order() async throws {
        let home = try TempDirectory()
        let emptyHome = try TempDirectory()
        defer { home.remove(); emptyHome.remove() }
        try home.write(".aws/credentials", "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = \(Planted.secret)\n")
        let tokenFile = try home.write("web-token", Planted.webIdentityToken)
        let sts = FakeRoleAssumer()

        try await withStubServer({ request in
            request.uri == "/creds" ? .ok(Self.containerDocument) : .notFound
        }) { container async throws in
            try await withStubServer(InstanceMetadataCredentialProviderTests.imds()) { imds async throws in
                try await withHTTPClient { client async throws in
                    var env = [
                        "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": Planted.secret,
                        "HOME": home.path,
                        "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/web",
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI": container.baseURL + "/creds",
                        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.baseURL,
                    ]
                    func resolve() async throws -> AWSCredentials {
                        try await CredentialChain.standard(environment: env, httpClient: client, roleAssumer: sts,
                                                           region: "eu-west-1", metadataTimeout: .seconds(30)).credentials()
                    }

                    #expect(try await resolve().source == "environment")
                    env["AWS_ACCESS_KEY_ID"] = nil
                    env["AWS_SECRET_ACCESS_KEY"] = nil
                    #expect(try await resolve().source == "profile default")
                    env["HOME"] = emptyHome.path
                    #expect(sts.webIdentityCalls.isEmpty)
                    #expect(try await resolve().source == "web identity (role arn:aws:iam::1:role/web)")
                    #expect(sts.webIdentityCalls.count == 1)
                    #expect(sts.webIdentityCalls.first?.region == "eu-west-1")
                    env["AWS_WEB_IDENTITY_TOKEN_FILE"] = nil
                    #expect(container.requests.isEmpty)
                    #expect(try await resolve().source == "ecs container")
                    #expect(container.requests.count == 1)
                    env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = nil
                    #expect(imds.requests.isEmpty)
                    #expect(try await resolve().source == "imds (role deploy-role)")
                    #expect(imds.requests.count == 3)

                    env["AWS_EC2_METADATA_DISABLED"] = "true"
                    let error = try await #require(throws: CredentialError.self) { try await resolve() }
                    guard case .noCredentials(let tried) = error else { Issue.record("\(error)"); return }
                    #expect(tried.map(\.provider) == ["environment", "profile default", "web identity", "ecs container",
                                                      "ec2 instance metadata"])
                    let text = "\(error)"
                    #expect(text.hasPrefix("no AWS credentials found; tried environment: "))
                    #expect(text.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"))
                    #expect(text.contains("profile 'default' not found in \(emptyHome.path)/.aws/credentials (missing)"))
                    #expect(text.contains("AWS_WEB_IDENTITY_TOKEN_FILE is not"))
                    #expect(text.contains("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set"))
                    #expect(text.contains("disabled by AWS_EC2_METADATA_DISABLED"))
                    #expect(Planted.leaks(in: renderings(of: error)).isEmpty)
                    #expect(container.requests.count == 1 && imds.requests.count == 3)
                }
            }
        }
    }

    /// A provider that applies but fails stops the chain: a broken profile must not give way
    /// to another identity.
    @Test func failureStopsTheChain() async throws {
        let home = try TempDirectory()
        defer { home.remove() }
        try home.write(".aws/config", "[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = gone\n")
        try await withStubServer({ _ in .ok(Self.containerDocument) }) { container async throws in
            try await withHTTPClient { client async throws in
                let chain = CredentialChain.standard(
                    environment: ["HOME": home.path, "AWS_CONTAINER_CREDENTIALS_FULL_URI": container.baseURL + "/creds"],
                    httpClient: client, roleAssumer: FakeRoleAssumer(), region: nil)
                let error = try await #require(throws: CredentialError.self) { try await chain.credentials() }
                guard case .failed(let provider, _) = error else { Issue.record("\(error)"); return }
                #expect(provider == "profile default")
                #expect(container.requests.isEmpty)
            }
        }
    }

    @Test func customChainAndCache() async throws {
        let clock = ManualClock()
        let counting = CountingProvider(clock: clock, lifetime: .seconds(900))
        let chain = CredentialChain([EnvironmentCredentialProvider(environment: [:]), counting])
        let cache = CachingCredentialProvider(chain, clock: clock)
        #expect(try await cache.credentials().accessKeyID == "ASIA1")
        #expect(try await cache.credentials().accessKeyID == "ASIA1")
        clock.advance(by: .seconds(600))
        #expect(try await cache.credentials().accessKeyID == "ASIA2")
    }

    @Test func emptyChain() async throws {
        let error = try await #require(throws: CredentialError.self) { try await CredentialChain([]).credentials() }
        #expect(error == .noCredentials(tried: []))
    }
}
