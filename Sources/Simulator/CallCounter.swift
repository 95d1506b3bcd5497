import CloudModel
import Synchronization

/// Counts every call per `service:Operation`, and the calls answered with a throttling error.
/// Sits outside the throttle enforcer, so throttled calls are counted too.
final class CallCounter: CloudMiddleware {
    private struct Counts {
        var calls: [String: Int] = [:]
        var throttled = 0
    }

    private let counts = Mutex(Counts())

    var calls: [String: Int] { counts.withLock { $0.calls } }
    var throttled: Int { counts.withLock { $0.throttled } }

    func intercept<T: Sendable>(_ call: CloudCall, _ next: @Sendable () async throws -> T) async throws -> T {
        counts.withLock { $0.calls[call.description, default: 0] += 1 }
        do {
            return try await next()
        } catch let error as CloudError where error.code == CloudError.throttling {
            counts.withLock { $0.throttled += 1 }
            throw error
        }
    }
}
