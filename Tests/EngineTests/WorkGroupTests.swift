@testable import Engine
import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

/// Where the work runs: on `WorkerThreads` (at the nice value asked for).
@Suite struct WorkerThreadsTests {
    @Test func jobsRunOnTheWorkerThreads() async {
        let group = WorkGroup()
        let running = Task { await group.run() }
        let name = Mutex("")
        let job = group.start {
            let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            name.withLock { $0 = comm.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        await job.finished()
        group.close()
        await running.value
        #expect(name.withLock { $0 }.hasPrefix("deploy-work-"))
    }

    @Test func theThreadsRunAtTheirNiceValue() async {
        let threads = WorkerThreads(count: 1, niceness: 7)
        let nice = await withTaskExecutorPreference(threads) { () async -> Int32 in
            #if canImport(Glibc)
            getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            #else
            7
            #endif
        }
        #expect(nice == 7)
    }
}

/// The records an owner finished last: bounded, the oldest leaving first.
@Suite struct RecentRecordsTests {
    @Test func keepsTheLastFinishedUpToItsCapacity() {
        let recent = RecentRecords<Int>(capacity: 2)
        recent.keep("a", 1)
        recent.keep("b", 2)
        recent.keep("a", 10)  // a newer state of one kept: nothing leaves
        #expect(recent["a"] == 10 && recent["b"] == 2)
        recent.keep("c", 3)  // full: the oldest kept (a) leaves
        #expect(recent["a"] == nil && recent["b"] == 2 && recent["c"] == 3)
        recent.keep("d", 4)
        #expect(recent["b"] == nil && recent["c"] == 3 && recent["d"] == 4)
        recent.removeAll()
        #expect(recent["c"] == nil && recent["d"] == nil)
    }
}
