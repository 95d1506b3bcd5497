import AWSAuth
import Foundation
import Synchronization

/// A `RoleAssuming` that records its inputs and answers with fixed credentials (or an error).
final class FakeRoleAssumer: RoleAssuming {
    struct AssumeRoleCall: Sendable {
        var roleArn: String
        var sessionName: String
        var externalID: String?
        var source: AWSCredentials
        var region: String
    }

    struct WebIdentityCall: Sendable {
        var roleArn: String
        var sessionName: String
        var token: String
        var region: String
    }

    private let state = Mutex<(assume: [AssumeRoleCall], web: [WebIdentityCall])>(([], []))
    private let failure: (any Error & Sendable)?
    let expiration: Date?

    init(failure: (any Error & Sendable)? = nil, expiration: Date? = nil) {
        self.failure = failure
        self.expiration = expiration
    }

    var assumeRoleCalls: [AssumeRoleCall] { state.withLock { $0.assume } }
    var webIdentityCalls: [WebIdentityCall] { state.withLock { $0.web } }

    func assumeRole(roleArn: String, sessionName: String, externalID: String?, using source: AWSCredentials,
                    region: String) async throws -> AWSCredentials {
        let count = state.withLock { state in
            state.assume.append(AssumeRoleCall(roleArn: roleArn, sessionName: sessionName, externalID: externalID,
                                               source: source, region: region))
            return state.assume.count
        }
        if let failure { throw failure }
        return AWSCredentials(accessKeyID: "ASIAASSUMED\(count)", secretAccessKey: Planted.secret,
                              sessionToken: Planted.token, expiration: expiration, source: "sts")
    }

    func assumeRoleWithWebIdentity(roleArn: String, sessionName: String, webIdentityToken: String,
                                   region: String) async throws -> AWSCredentials {
        state.withLock {
            $0.web.append(WebIdentityCall(roleArn: roleArn, sessionName: sessionName, token: webIdentityToken,
                                          region: region))
        }
        if let failure { throw failure }
        return AWSCredentials(accessKeyID: "ASIAWEBIDENTITY", secretAccessKey: Planted.secret,
                              sessionToken: Planted.token, expiration: expiration, source: "sts")
    }
}
