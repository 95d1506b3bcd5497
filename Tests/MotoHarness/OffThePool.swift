import Dispatch

/// Runs blocking work (waiting for a child process, a blocking socket) on a Dispatch thread
/// rather than on one of Swift concurrency's few cooperative threads: a test that blocks one
/// of those (there are as many as cores) starves every other test of the process, and their
/// loopback servers then miss their deadlines.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
