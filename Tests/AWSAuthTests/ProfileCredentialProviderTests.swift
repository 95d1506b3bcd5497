import AWSAuth
import CloudModel
import Foundation
import Testing
import TestSupport

@Suite("Profile credentials")
struct ProfileCredentialProviderTests {
    static let files = (
        credentials: """
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key = \(Planted.secret)

            [temp]
            aws_access_key_id = ASIATEMP
            aws_secret_access_key = \(Planted.secret)
            aws_session_token = \(Planted.token)

            [base]
            aws_access_key_id = AKIDBASE
            aws_secret_access_key = \(Planted.secret)

            [half]
            aws_access_key_id = AKIDHALF
            """,
        config: """
            [profile deploy]
            role_arn = arn:aws:iam::123456789012:role/deploy
            source_profile = base
            external_id = ext-42
            role_session_name = deploy-session
            region = eu-west-3

            [profile chained]
            role_arn = arn:aws:iam::123456789012:role/chained
            source_profile = deploy

            [profile self]
            role_arn = arn:aws:iam::123456789012:role/self
            source_profile = self
            aws_access_key_id = AKIDSELF
            aws_secret_access_key = \(Planted.secret)

            [profile loop-a]
            role_arn = arn:aws:iam::123456789012:role/a
            source_profile = loop-b

            [profile loop-b]
            role_arn = arn:aws:iam::123456789012:role/b
            source_profile = loop-a

            [profile orphan]
            role_arn = arn:aws:iam::123456789012:role/orphan
            source_profile = nowhere

            [profile ec2]
            role_arn = arn:aws:iam::123456789012:role/ec2
            credential_source = Ec2InstanceMetadata

            [profile settings-only]
            region = us-west-1

            [profile sso]
            sso_session = corp
            sso_account_id = 123456789012
            """
    )

    /// Runs `body` with the two files written to a temporary HOME's `.aws`.
    static func withFiles<T>(_ body: ([String: String]) async throws -> T) async throws -> T {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try dir.write(".aws/credentials", files.credentials)
        try dir.write(".aws/config", files.config)
        return try await body(["HOME": dir.path])
    }

    static let clock = ManualClock(start: Date(timeIntervalSince1970: 1_750_000_000))

    @Test func defaultProfileStaticKeys() async throws {
        try await Self.withFiles { env async throws in
            let credentials = try await ProfileCredentialProvider(environment: env).credentials()
            #expect(credentials.accessKeyID == "AKIDDEFAULT")
            #expect(credentials.secretAccessKey == Planted.secret)
            #expect(credentials.sessionToken == nil)
            #expect(credentials.source == "profile default")
        }
    }

    @Test func awsProfileSelectsTheProfile() async throws {
        try await Self.withFiles { env async throws in
            var env = env
            env["AWS_PROFILE"] = "temp"
            let credentials = try await ProfileCredentialProvider(environment: env).credentials()
            #expect(credentials.accessKeyID == "ASIATEMP")
            #expect(credentials.sessionToken == Planted.token)
            #expect(credentials.source == "profile temp")
        }
    }

    @Test func explicitFilePaths() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let credentialsPath = try dir.write("c", "[default]\naws_access_key_id = AKIDPATH\naws_secret_access_key = s\n")
        let configPath = try dir.write("cfg", "[profile x]\nregion = us-east-2\n")
        let env = ["AWS_SHARED_CREDENTIALS_FILE": credentialsPath, "AWS_CONFIG_FILE": configPath]
        #expect(try await ProfileCredentialProvider(environment: env).credentials().accessKeyID == "AKIDPATH")
    }

    @Test func roleWithSourceProfile() async throws {
        try await Self.withFiles { env async throws in
            let sts = FakeRoleAssumer(expiration: Self.clock.now().addingTimeInterval(3600))
            let provider = ProfileCredentialProvider(environment: env, profile: "deploy", roleAssumer: sts,
                                                     region: nil, clock: Self.clock)
            let credentials = try await provider.credentials()
            #expect(credentials.accessKeyID == "ASIAASSUMED1")
            #expect(credentials.sessionToken == Planted.token)
            #expect(credentials.source == "profile deploy (role arn:aws:iam::123456789012:role/deploy)")
            let call = try #require(sts.assumeRoleCalls.first)
            #expect(sts.assumeRoleCalls.count == 1)
            #expect(call.roleArn == "arn:aws:iam::123456789012:role/deploy")
            #expect(call.sessionName == "deploy-session")
            #expect(call.externalID == "ext-42")
            #expect(call.source.accessKeyID == "AKIDBASE")
            #expect(call.source.secretAccessKey == Planted.secret)
            #expect(call.region == "eu-west-3")  // the profile's region, no region given
        }
    }

    @Test func givenRegionAndDefaultSessionName() async throws {
        try await Self.withFiles { env async throws in
            let sts = FakeRoleAssumer()
            var env = env
            env["AWS_PROFILE"] = "chained"
            _ = try await ProfileCredentialProvider(environment: env, roleAssumer: sts, region: "ap-south-1",
                                                    clock: Self.clock).credentials()
            // chained -> deploy -> base: the inner role first, its result is the outer's source.
            let calls = sts.assumeRoleCalls
            #expect(calls.map(\.roleArn) == ["arn:aws:iam::123456789012:role/deploy",
                                             "arn:aws:iam::123456789012:role/chained"])
            #expect(calls[0].source.accessKeyID == "AKIDBASE")
            #expect(calls[1].source.accessKeyID == "ASIAASSUMED1")
            #expect(calls[1].sessionName == "ecs-deploy-1750000000")
            #expect(calls[1].externalID == nil)
            #expect(calls.allSatisfy { $0.region == "ap-south-1" })
        }
    }

    @Test func sourceProfileMayBeItself() async throws {
        try await Self.withFiles { env async throws in
            let sts = FakeRoleAssumer()
            _ = try await ProfileCredentialProvider(environment: env, profile: "self", roleAssumer: sts).credentials()
            #expect(sts.assumeRoleCalls.first?.source.accessKeyID == "AKIDSELF")
            #expect(sts.assumeRoleCalls.first?.roleArn == "arn:aws:iam::123456789012:role/self")
        }
    }

    @Test(arguments: [
        ("loop-a", "source_profile loop: loop-a -> loop-b -> loop-a"),
        ("orphan", "source_profile 'nowhere' of profile 'orphan' not found"),
        ("ec2", "credential_source"),
        ("half", "profile 'half' has no aws_secret_access_key"),
        ("missing", "profile 'missing' not found"),
        ("sso", "profile 'sso' uses sso_session, which this server does not support"),
    ])
    func brokenProfilesFail(_ profile: String, _ expected: String) async throws {
        try await Self.withFiles { env async throws in
            let provider = ProfileCredentialProvider(environment: env, profile: profile, roleAssumer: FakeRoleAssumer())
            let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
            guard case .failed(let name, let reason) = error else {
                Issue.record("expected failed, got \(error)")
                return
            }
            #expect(name == "profile \(profile)")
            #expect(reason.contains(expected), "\(reason)")
            #expect(Planted.leaks(in: renderings(of: error)).isEmpty)
        }
    }

    @Test func roleWithoutSTSClientFails() async throws {
        try await Self.withFiles { env async throws in
            let provider = ProfileCredentialProvider(environment: env, profile: "deploy", roleAssumer: nil)
            let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
            #expect("\(error)".contains("no STS client"))
        }
    }

    @Test func assumeRoleFailureIsWrappedAndScrubbed() async throws {
        try await Self.withFiles { env async throws in
            // An STS error that (carelessly) repeats the source secret.
            let sts = FakeRoleAssumer(failure: EchoingError(text: "bad signature for \(Planted.secret)"))
            let provider = ProfileCredentialProvider(environment: env, profile: "deploy", roleAssumer: sts)
            let error = try await #require(throws: CredentialError.self) { try await provider.credentials() }
            let text = renderings(of: error)
            #expect(text.contains("AssumeRole of arn:aws:iam::123456789012:role/deploy for profile 'deploy' failed"))
            #expect(text.contains("AccessDenied"))
            #expect(Planted.leaks(in: text).isEmpty, "\(text)")
        }
    }

    /// The implicit `default` profile missing, or holding only settings, is not an error:
    /// the chain goes on.
    @Test func absentDefaultIsNotConfigured() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let error = try await #require(throws: CredentialError.self) {
            try await ProfileCredentialProvider(environment: ["HOME": dir.path]).credentials()
        }
        #expect(error == .notConfigured(provider: "profile default",
                                        reason: "profile 'default' not found in \(dir.path)/.aws/credentials (missing), "
                                            + "\(dir.path)/.aws/config (missing)"))
        try await Self.withFiles { env async throws in
            var env = env
            env["AWS_PROFILE"] = "settings-only"
            let error = try await #require(throws: CredentialError.self) {
                try await ProfileCredentialProvider(environment: env).credentials()
            }
            guard case .notConfigured = error else { Issue.record("\(error)"); return }
        }
    }

    /// A profile named by AWS_PROFILE that does not exist is a mistake worth stopping for.
    @Test func namedMissingProfileFails() async throws {
        try await Self.withFiles { env async throws in
            var env = env
            env["AWS_PROFILE"] = "typo"
            let error = try await #require(throws: CredentialError.self) {
                try await ProfileCredentialProvider(environment: env).credentials()
            }
            guard case .failed = error else { Issue.record("\(error)"); return }
        }
    }
}
