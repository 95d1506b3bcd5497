import AWSAuth
import CloudModel
import Foundation
import Testing
import TestSupport

@Suite("Environment and web identity credentials")
struct EnvironmentAndWebIdentityTests {
    @Test func environmentKeys() async throws {
        let provider = EnvironmentCredentialProvider(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": Planted.secret, "AWS_SESSION_TOKEN": Planted.token,
        ])
        let credentials = try await provider.credentials()
        #expect(credentials.accessKeyID == "AKIDENV")
        #expect(credentials.secretAccessKey == Planted.secret)
        #expect(credentials.sessionToken == Planted.token)
        #expect(credentials.source == "environment")
        #expect(credentials.expiration == nil)
    }

    @Test func emptyTokenIsNoToken() async throws {
        let credentials = try await EnvironmentCredentialProvider(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": Planted.secret, "AWS_SESSION_TOKEN": "",
        ]).credentials()
        #expect(credentials.sessionToken == nil)
    }

    @Test(arguments: [
        ([:], "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
        (["AWS_ACCESS_KEY_ID": "AKIDENV"], "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"),
        (["AWS_SECRET_ACCESS_KEY": Planted.secret], "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
        (["AWS_ACCESS_KEY_ID": " ", "AWS_SECRET_ACCESS_KEY": ""], "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
    ])
    func environmentIncomplete(_ env: [String: String], _ reason: String) async throws {
        let error = try await #require(throws: CredentialError.self) {
            try await EnvironmentCredentialProvider(environment: env).credentials()
        }
        #expect(error == .notConfigured(provider: "environment", reason: reason))
        #expect(Planted.leaks(in: renderings(of: error)).isEmpty)
    }

    @Test func webIdentity() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let tokenFile = try dir.write("token", Planted.webIdentityToken + "\n")
        let sts = FakeRoleAssumer()
        let env = ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/oidc",
                   "AWS_ROLE_SESSION_NAME": "pod-7"]
        let provider = WebIdentityCredentialProvider(environment: env, roleAssumer: sts, region: "eu-west-1")
        let credentials = try await provider.credentials()
        #expect(credentials.accessKeyID == "ASIAWEBIDENTITY")
        #expect(credentials.source == "web identity (role arn:aws:iam::123456789012:role/oidc)")
        let call = try #require(sts.webIdentityCalls.first)
        #expect(call.roleArn == "arn:aws:iam::123456789012:role/oidc")
        #expect(call.sessionName == "pod-7")
        #expect(call.token == Planted.webIdentityToken)
        #expect(call.region == "eu-west-1")

        // The file is read again on every call (its owner rotates it).
        try dir.write("token", "rotated-token")
        _ = try await provider.credentials()
        #expect(sts.webIdentityCalls.last?.token == "rotated-token")
    }

    @Test func webIdentityDefaults() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let tokenFile = try dir.write("token", Planted.webIdentityToken)
        let sts = FakeRoleAssumer()
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_800_000_000))
        _ = try await WebIdentityCredentialProvider(
            environment: ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"],
            roleAssumer: sts, clock: clock).credentials()
        #expect(sts.webIdentityCalls.first?.sessionName == "ecs-deploy-1800000000")
        #expect(sts.webIdentityCalls.first?.region == "us-east-1")
    }

    @Test func webIdentityNotConfigured() async throws {
        for env in [[:], ["AWS_ROLE_ARN": "arn:aws:iam::1:role/r"], ["AWS_WEB_IDENTITY_TOKEN_FILE": "/x"]] {
            let error = try await #require(throws: CredentialError.self) {
                try await WebIdentityCredentialProvider(environment: env, roleAssumer: FakeRoleAssumer()).credentials()
            }
            guard case .notConfigured(let provider, _) = error else { Issue.record("\(error)"); continue }
            #expect(provider == "web identity")
        }
    }

    @Test func webIdentityFailures() async throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        let tokenFile = try dir.write("token", Planted.webIdentityToken)
        let empty = try dir.write("empty", "\n")
        let role = "arn:aws:iam::1:role/r"
        let cases: [([String: String], (any RoleAssuming)?, String)] = [
            (["AWS_WEB_IDENTITY_TOKEN_FILE": dir.path + "/absent", "AWS_ROLE_ARN": role], FakeRoleAssumer(),
             "cannot read the token file"),
            (["AWS_WEB_IDENTITY_TOKEN_FILE": empty, "AWS_ROLE_ARN": role], FakeRoleAssumer(), "is empty"),
            (["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": role], nil, "needs an STS client"),
            (["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": role],
             FakeRoleAssumer(failure: EchoingError(text: "token \(Planted.webIdentityToken) expired")),
             "AssumeRoleWithWebIdentity of arn:aws:iam::1:role/r failed: AccessDenied: token <redacted> expired"),
        ]
        for (env, sts, expected) in cases {
            let error = try await #require(throws: CredentialError.self) {
                try await WebIdentityCredentialProvider(environment: env, roleAssumer: sts).credentials()
            }
            guard case .failed(_, let reason) = error else { Issue.record("\(error)"); continue }
            #expect(reason.contains(expected), "\(reason)")
            #expect(Planted.leaks(in: renderings(of: error)).isEmpty)
        }
    }
}
