import CloudModel
import Foundation
import Synchronization
import CloudRuntime

/// Counts every call per `service:Operation`, and the calls answered with a throttling error.
/// Sits outside the throttle enforcer, so throttled calls are counted too. Also adds up the
/// CPU time the simulator spends answering (its calls never suspend, so each runs on one
/// thread, whose CPU clock measures it).
final class CallCounter: CloudMiddleware {
    private struct Counts {
        var calls: [String: Int] = [:]
        var throttled = 0
        var cpuNanoseconds: UInt64 = 0
    }

    private let counts = Mutex(Counts())

    var calls: [String: Int] { counts.withLock { $0.calls } }
    var throttled: Int { counts.withLock { $0.throttled } }
    var cpuSeconds: Double { Double(counts.withLock { $0.cpuNanoseconds }) / 1e9 }

    func intercept<T: Sendable>(_ call: CloudCall, _ next: @Sendable () async throws -> T) async throws -> T {
        let thread = pthread_self()
        let start = Self.threadCPUNanoseconds()
        defer {
            // A call that moved threads (it cannot, but if it did) is not measured.
            let used = pthread_equal(thread, pthread_self()) != 0 ? Self.threadCPUNanoseconds() &- start : 0
            counts.withLock { $0.cpuNanoseconds &+= used }
        }
        counts.withLock { $0.calls[call.description, default: 0] += 1 }
        do {
            return try await next()
        } catch let error as CloudError where error.code == CloudError.throttling {
            counts.withLock { $0.throttled += 1 }
            throw error
        }
    }

    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
