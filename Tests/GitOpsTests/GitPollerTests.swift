import CloudModel
import Foundation
import Logging
import Synchronization
import Testing
@testable import GitOps
import TestSupport

/// What a poller handed over, in order.
final class EventLog: Sendable {
    private let events = Mutex<[GitPollEvent]>([])
    /// The source's remembered commit, read inside the handler at each change.
    private let seenAtChange = Mutex<[String?]>([])

    var all: [GitPollEvent] { events.withLock { $0 } }
    var seenWhileHandling: [String?] { seenAtChange.withLock { $0 } }

    func handler(source: GitSource) -> GitPoller.Handler {
        { event in
            if case .change = event {
                let seen = try? await source.lastSeenCommit()
                self.seenAtChange.withLock { $0.append(seen) }
            }
            self.events.withLock { $0.append(event) }
        }
    }

    var changes: [String] {
        all.compactMap { if case .change(let c) = $0 { c.commit } else { nil } }
    }

    var polls: Int { all.filter { if case .polled = $0 { true } else { false } }.count }
    var failures: [GitError] { all.compactMap { if case .failed(let e) = $0 { e } else { nil } } }
}

/// Waits (in real time, bounded far above what it takes even on a busy machine) until `condition` holds.
func eventually(_ what: String, timeout: Duration = .seconds(120), _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else { throw TestRepoError(message: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

@Suite struct GitPollerTests {
    func quietLogger() -> Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test func pollsOnTheClockAndWhenTriggered() async throws {
        let repo = try TestRepo()
        let first = try repo.commit("deployment.yaml", Samples.three("1"), "one")
        let source = try repo.source()
        let clock = ManualClock()
        let log = EventLog()
        let poller = GitPoller(source: source, interval: .seconds(60), clock: clock, logger: quietLogger(),
                               handler: log.handler(source: source))
        let loop = Task { await poller.run() }
        defer { loop.cancel() }

        // The first poll releases the head, acknowledged only after the handler returned.
        try await eventually("first poll") { log.polls == 1 }
        #expect(log.all == [
            .change(try #require(try await source.change(at: first))),
            .polled(head: first),
        ])
        #expect(log.seenWhileHandling == [nil])
        #expect(try await source.lastSeenCommit() == first)

        // Nothing happens until the interval is over.
        let second = try repo.commit("deployment.yaml", Samples.three("2"), "two")
        try await eventually("the loop to sleep") { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(59))
        try await Task.sleep(for: .milliseconds(100))
        #expect(log.polls == 1)
        clock.advance(by: .seconds(1))
        try await eventually("second poll") { log.polls == 2 }
        #expect(log.changes == [first, second])
        #expect(log.seenWhileHandling == [nil, first])

        // A trigger (a webhook) polls at once, without the clock moving.
        let third = try repo.commit("deployment.yaml", Samples.three("3"), "three")
        try await eventually("the loop to sleep") { clock.sleeperCount == 1 }
        poller.triggerNow()
        try await eventually("triggered poll") { log.polls == 3 }
        #expect(log.changes == [first, second, third])
        // The interrupted sleep is gone; the loop sleeps once more.
        try await eventually("the loop to sleep") { clock.sleeperCount == 1 }

        // A commit to another file: a poll, no change.
        try repo.commit("README.md", "x", "docs")
        poller.triggerNow()
        try await eventually("fourth poll") { log.polls == 4 }
        #expect(log.changes.count == 3)
    }

    @Test func errorsAreReportedAndTheLoopGoesOn() async throws {
        let repo = try TestRepo()
        try repo.commit("deployment.yaml", Samples.seed, "seed")
        let source = try repo.source()
        let clock = ManualClock()
        let log = EventLog()
        let poller = GitPoller(source: source, interval: .seconds(30), clock: clock, logger: quietLogger(),
                               handler: log.handler(source: source))
        let loop = Task { await poller.run() }
        defer { loop.cancel() }
        try await eventually("first poll") { log.polls == 1 }

        // The repository goes away: the poll fails, the failure is reported.
        let moved = repo.root.appendingPathComponent("moved")
        try FileManager.default.moveItem(at: repo.work, to: moved)
        poller.triggerNow()
        try await eventually("a failure") { log.failures.count == 1 }
        #expect(log.failures.first?.kind == .commandFailed)

        // It comes back with a new commit: the next interval picks it up.
        try FileManager.default.moveItem(at: moved, to: repo.work)
        let next = try repo.commit("deployment.yaml", Samples.three("9"), "nine")
        try await eventually("the loop to sleep") { clock.sleeperCount == 1 }
        clock.advance(by: .seconds(30))
        try await eventually("recovery") { log.polls == 2 }
        #expect(log.changes.last == next)
    }

    @Test func cancellingEndsTheLoop() async throws {
        let repo = try TestRepo()
        try repo.commit("deployment.yaml", Samples.seed, "seed")
        let source = try repo.source()
        let clock = ManualClock()
        let log = EventLog()
        let poller = GitPoller(source: source, interval: .seconds(30), clock: clock, logger: quietLogger(),
                               handler: log.handler(source: source))
        let loop = Task { await poller.run() }
        try await eventually("first poll") { log.polls == 1 }
        try await eventually("the loop to sleep") { clock.sleeperCount == 1 }
        loop.cancel()
        await loop.value
        #expect(clock.sleeperCount == 0)
        #expect(log.failures.isEmpty)
    }

    @Test func triggersWhileNobodyWaitsCountOnce() async throws {
        final class Flag: Sendable {
            let value = Mutex(false)
        }
        let signal = WakeSignal()
        signal.signal()
        signal.signal()
        await signal.wait()
        let woke = Flag()
        let waiter = Task {
            await signal.wait()
            woke.value.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(woke.value.withLock { $0 } == false)
        signal.signal()
        await waiter.value
        #expect(woke.value.withLock { $0 })
        let cancelled = Task { await signal.wait() }
        cancelled.cancel()
        await cancelled.value
    }
}
