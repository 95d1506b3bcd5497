@testable import Engine
import Synchronization
import Testing

/// The task group that owns a service's work: jobs run as its children, can be told to stop
/// and awaited, and `run()` returns only once they all ended.
@Suite struct WorkGroupTests {
    /// Counts what the jobs did.
    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func add() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    /// A job that waits until it is cancelled, and counts it.
    static func waitsForCancellation(_ cancelled: Counter) -> @Sendable () async -> Void {
        {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            cancelled.add()
        }
    }

    @Test func aJobToldToStopIsCancelledAndAwaitedWhileOthersRunOn() async {
        let group = WorkGroup()
        let running = Task { await group.run() }
        let cancelled = Counter()
        let stopped = group.start(Self.waitsForCancellation(cancelled))
        let other = group.start(Self.waitsForCancellation(cancelled))
        stopped.cancel()
        await stopped.finished()
        #expect(cancelled.count == 1)

        group.close()
        other.cancel()
        await running.value
        #expect(cancelled.count == 2)
    }

    @Test func runReturnsOnlyOnceTheJobsStartedBeforeCloseHaveEnded() async {
        let group = WorkGroup()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let ended = Counter()
        let job = group.start {
            for await _ in gate {}
            ended.add()
        }
        group.close()
        let running = Task { await group.run() }
        open.finish()
        await running.value
        #expect(ended.count == 1)
        await job.finished()
    }

    @Test func nothingStartsOnceClosed() async {
        let group = WorkGroup()
        group.close()
        let ran = Counter()
        let accepted = Counter()
        let job = group.start(accepted: { accepted.add() }) { ran.add() }
        await job.finished()
        await group.run()
        #expect(ran.count == 0)
        #expect(accepted.count == 0)
    }

    @Test func cancellingTheRunCancelsEveryJobAndClosesTheGroup() async {
        let group = WorkGroup()
        let cancelled = Counter()
        let jobs = (0..<3).map { _ in group.start(Self.waitsForCancellation(cancelled)) }
        let running = Task { await group.run() }
        running.cancel()
        await running.value
        for job in jobs { await job.finished() }
        #expect(cancelled.count == 3)
        #expect(group.isClosed)
    }
}
