import AWSAuth
import Synchronization

/// A provider whose answer waits until the test opens the gate.
final class GatedProvider: CredentialProvider {
    private let state = Mutex<(calls: Int, waiters: [CheckedContinuation<Void, Never>], open: Bool)>((0, [], false))

    var calls: Int { state.withLock { $0.calls } }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func credentials() async throws -> AWSCredentials {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                state.calls += 1
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        return AWSCredentials(accessKeyID: "ASIAGATED", secretAccessKey: Planted.secret, source: "gated")
    }
}
