import CloudModel
import Foundation
import Logging

/// What a git poller reports to its handler.
public enum GitPollEvent: Sendable, Equatable {
    /// A commit changed the manifest (or the head, at the first start). The next change is
    /// reported only when the handler returned.
    case change(ManifestChange)
    /// A poll finished: the branch head, every change up to it handed over.
    case polled(head: String)
    /// A poll failed; the poller tries again at the next interval.
    case failed(GitError)
}

/// Polls a git source every `interval` of an injected clock, or at once on `triggerNow()`
/// (a webhook), and hands each manifest change to an async handler.
///
/// Each change is acknowledged to the source only after the handler returned for it, so a
/// server stopped in between sees the change again after a restart (release ids are commit
/// shas, so a release that was already recorded is recognised). Errors go to the handler and
/// the log; they never end the loop.
public final class GitPoller: Sendable {
    public typealias Handler = @Sendable (GitPollEvent) async -> Void

    public let source: GitSource
    public let interval: Duration
    private let clock: any DeployClock
    private let logger: Logger
    private let handler: Handler
    private let wake = WakeSignal()

    public init(source: GitSource, interval: Duration, clock: any DeployClock,
                logger: Logger = Logger(label: "gitops.poller"), handler: @escaping Handler) {
        self.source = source
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.handler = handler
    }

    /// Polls now, then every `interval` (counted from the end of each poll) until the task is
    /// cancelled.
    public func run() async {
        logger.info("watching \(source.configuration.path) on \(source.configuration.branch) of \(source.configuration.redactedRepo)")
        while !Task.isCancelled {
            await pollOnce()
            await waitForNextPoll()
        }
    }

    /// Makes the running loop poll at once (or right after the poll under way).
    public func triggerNow() {
        wake.signal()
    }

    /// One poll: fetch, hand each change to the handler, acknowledge it, report the head.
    public func pollOnce() async {
        do throws(GitError) {
            let result = try await source.pending()
            for change in result.changes {
                logger.info("manifest changed", metadata: ["commit": "\(change.commit)", "author": "\(change.author)"])
                await handler(.change(change))
                try await source.acknowledge(change.commit)
            }
            try await source.acknowledge(result.head)
            await handler(.polled(head: result.head))
        } catch {
            if error.kind == .cancelled || Task.isCancelled { return }
            logger.warning("git poll failed: \(error)")
            await handler(.failed(error))
        }
    }

    /// Sleeps until the interval is over or a trigger comes, whichever is first.
    private func waitForNextPoll() async {
        let clock = self.clock
        let interval = self.interval
        let wake = self.wake
        // The poll goes on on this task once a child ends (the clock's sleep or a trigger).
        let wait = ParentWait(clock: clock)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await clock.sleep(for: interval)
                wait.childEnds()
                clock.workDone()
            }
            group.addTask {
                await wake.wait()
                wait.childEnds()
            }
            wait.waits()
            await group.next()
            wait.resumes()
            group.cancelAll()
        }
    }
}
