import AWSAuth
import CloudModel
import Foundation
import Synchronization
import TestSupport

/// A provider that counts its calls and answers with credentials that live `lifetime` from
/// the clock's time (or fails, when told to).
final class CountingProvider: CredentialProvider {
    private let state = Mutex<(calls: Int, failing: Bool)>((0, false))
    let clock: ManualClock
    let lifetime: Duration?

    init(clock: ManualClock, lifetime: Duration?) {
        self.clock = clock
        self.lifetime = lifetime
    }

    var calls: Int { state.withLock { $0.calls } }
    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    func credentials() async throws -> AWSCredentials {
        let (call, failing) = state.withLock { state in
            state.calls += 1
            return (state.calls, state.failing)
        }
        if failing { throw CredentialError.failed(provider: "counting", reason: "told to fail") }
        return AWSCredentials(accessKeyID: "ASIA\(call)", secretAccessKey: Planted.secret, sessionToken: Planted.token,
                              expiration: lifetime.map { clock.now().adding($0) }, source: "counting")
    }
}
