import CloudModel
import Engine
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Sends one HTTP POST; answers the status. Throws on a transport failure or a time-out.
public protocol NoticePoster: Sendable {
    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> Int
}

/// Where notices are kept while they are sent (the server's SQLite file), so that each is sent
/// once across restarts: one that was being sent, or was still queued, when the server stopped
/// goes out at the next start; one sent already does not go out again.
public protocol NoticeOutbox: Sendable {
    /// Keeps the notice for the route (unless it is kept already); false when it was sent before.
    func keep(_ notice: Notice, route: String) async throws -> Bool
    /// It was sent, or given up: it is not sent again.
    func sent(_ notice: Notice, route: String) async throws
    /// Kept and not sent, oldest first; a kept notice that cannot be read is left out.
    func unsent() async throws -> [(route: String, notice: Notice)]
}

/// `notifications:` settings other than the routes.
public struct NotificationSettings: Sendable, Equatable {
    /// Notices waiting per route; past it the oldest is dropped (and counted).
    public var queueSize = 1000
    /// Attempts per notice (the first one included).
    public var maxAttempts = 5
    /// Before the first retry; doubled at each one, up to `maxRetryDelay`.
    public var retryDelay: Duration = .seconds(1)
    public var maxRetryDelay: Duration = .seconds(60)
    /// Per attempt.
    public var timeout: Duration = .seconds(10)

    public init() {}
}

/// Tells people what deployments and releases do (`notifications.routes`). It observes the
/// events as they are recorded and queues the notices each route takes; its `run()` (a
/// service of the server's group) delivers each route's queue in order, retrying 429s, 5xxs,
/// time-outs and transport failures with backoff (real time). Delivery never blocks or fails a
/// deployment: a full queue drops its oldest notice. At the shutdown, what is queued is
/// delivered within `drainTimeout`; with an `outbox`, what is left then is kept for the next
/// start, and a notice is sent once across restarts.
public final class Notifier: DeploymentObserver, ReleaseObserver, Service, CustomStringConvertible {
    public var description: String { "Notifier" }

    let routes: [NotificationRoute]
    let settings: NotificationSettings
    let poster: any NoticePoster
    /// SNS, for `sns` routes (the server's AWS client, or the simulator in mock mode).
    let topics: (any TopicsAPI)?
    let logger: Logger
    /// Counts each notice's fate per sink kind: delivered, failed, dropped.
    let counted: @Sendable (_ sink: String, _ result: String) -> Void
    let drainTimeout: Duration
    let outbox: (any NoticeOutbox)?
    private let queues: [WaitQueue<Notice>]

    public init(routes: [NotificationRoute], settings: NotificationSettings = NotificationSettings(), poster: any NoticePoster,
                topics: (any TopicsAPI)? = nil, logger: Logger, drainTimeout: Duration = .seconds(10), outbox: (any NoticeOutbox)? = nil,
                counted: @escaping @Sendable (_ sink: String, _ result: String) -> Void = { _, _ in }) {
        self.outbox = outbox
        self.routes = routes
        self.settings = settings
        self.poster = poster
        self.topics = topics
        self.logger = logger
        self.drainTimeout = drainTimeout
        self.counted = counted
        self.queues = routes.map { _ in WaitQueue(limit: settings.queueSize) }
    }

    // MARK: Observing

    public func observe(_ event: DeploymentEvent, record: DeploymentRecord) {
        if let notice = Notice.of(event, record: record) { enqueue(notice) }
    }

    public func observe(_ event: ReleaseEvent, release: ReleaseRecord) {
        if let notice = Notice.of(event, record: release) { enqueue(notice) }
    }

    public func drift(_ report: DriftReport) {
        if let notice = Notice.of(report, at: Date()) { enqueue(notice) }
    }

    /// Nothing to wait for: delivery happens beside the deployments, never before they go on.
    public func settle() async {}
    public func saveFailed(_ record: DeploymentRecord, error: any Error) {}
    public func saveFailed(_ release: ReleaseRecord, error: any Error) {}

    func enqueue(_ notice: Notice) {
        for (route, queue) in zip(routes, queues) where route.matches(notice) {
            if case .queued(dropped: _?) = queue.push(notice) {
                counted(route.sink.kind, "dropped")
                logger.warning("notification route \(route.name): queue full, the oldest notice was dropped")
            }
        }
    }

    // MARK: Delivering

    public func run() async {
        await resumeUnsent()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withDiscardingTaskGroup { deliveries in
                    for (route, queue) in zip(self.routes, self.queues) {
                        deliveries.addTask { await self.deliver(route, queue) }
                    }
                }
            }
            _ = try? await gracefulShutdown()
            // What is queued goes out within the drain time; then the rest is given up.
            for queue in queues { queue.close() }
            group.addTask { try? await Task.sleep(for: self.drainTimeout) }
            await group.next()
            group.cancelAll()
        }
        for (route, queue) in zip(routes, queues) {
            let left = queue.takeAll()
            guard !left.isEmpty else { continue }
            var kept = 0
            if outbox != nil {
                for notice in left where await keep(notice, route) { kept += 1 }
            }
            for _ in kept..<left.count { counted(route.sink.kind, "dropped") }
            let keptText = outbox == nil ? "" : ", \(kept) kept for the next start"
            logger.warning("notification route \(route.name): \(left.count) notice(s) not sent before the shutdown\(keptText)")
        }
    }

    /// Queues what the outbox holds unsent (from before a restart) on the routes it was for.
    private func resumeUnsent() async {
        guard let outbox else { return }
        do {
            for (name, notice) in try await outbox.unsent() {
                guard let i = routes.firstIndex(where: { $0.name == name }) else {
                    try? await outbox.sent(notice, route: name)
                    logger.warning("notification route \(name) is no longer configured: a notice kept for it is not sent")
                    continue
                }
                _ = queues[i].push(notice)
            }
        } catch {
            logger.warning("notifications: the notices kept before the restart cannot be read (\(Self.kind(of: error)))")
        }
    }

    private func deliver(_ route: NotificationRoute, _ queue: WaitQueue<Notice>) async {
        while !Task.isCancelled, let notice = await queue.next(upTo: 1).first {
            // A notice sent before a restart does not go out again.
            guard await keep(notice, route) else { continue }
            await send(notice, via: route)
        }
    }

    /// Keeps the notice in the outbox; false when it was sent before. Without an outbox, or
    /// when it cannot be written, true: delivery does not wait on the outbox.
    private func keep(_ notice: Notice, _ route: NotificationRoute) async -> Bool {
        guard let outbox else { return true }
        do {
            return try await outbox.keep(notice, route: route.name)
        } catch {
            logger.warning("notification route \(route.name): the outbox cannot keep a notice (\(Self.kind(of: error)))")
            return true
        }
    }

    private func markSent(_ notice: Notice, _ route: NotificationRoute) async {
        do {
            try await outbox?.sent(notice, route: route.name)
        } catch {
            logger.warning("notification route \(route.name): the outbox cannot record a notice as sent (\(Self.kind(of: error)))")
        }
    }

    /// Sends one notice, retrying what may succeed later. Logs name the route and the sink's
    /// kind, never its URL.
    private func send(_ notice: Notice, via route: NotificationRoute) async {
        let request = Payloads.request(notice, for: route.sink)
        var delay = settings.retryDelay
        var problem = ""
        var refused = false
        attempts: for number in 1...max(1, settings.maxAttempts) {
            if number > 1 {
                guard (try? await Task.sleep(for: delay)) != nil else { break }
                delay = min(delay * 2, settings.maxRetryDelay)
            }
            switch await attempt(request, notice, via: route.sink) {
            case .delivered:
                counted(route.sink.kind, "delivered")
                await markSent(notice, route)
                return
            case .retry(let why):
                problem = why
                if Task.isCancelled { break attempts }
            case .giveUp(let why):
                problem = why
                refused = true
                break attempts
            }
        }
        // Stopped mid-delivery: it stays in the outbox, and goes out at the next start.
        if Task.isCancelled, !refused, outbox != nil { return }
        await markSent(notice, route)
        counted(route.sink.kind, "failed")
        logger.warning("notification route \(route.name) (\(route.sink.kind)): \(notice.headline): not delivered: \(problem)")
    }

    enum Attempt {
        case delivered
        /// It may succeed later: a 5xx, a 429, a time-out, no connection, throttling.
        case retry(String)
        /// It will not: the receiver refused it.
        case giveUp(String)
    }

    private func attempt(_ request: NoticeRequest, _ notice: Notice, via sink: NotificationSink) async -> Attempt {
        let url: String
        switch sink {
        case .slack(let u), .teams(let u), .webhook(let u, _): url = u
        case .sns(let topicArn):
            guard let topics else { return .giveUp("SNS is not available") }
            do {
                _ = try await topics.publish(topicArn: topicArn, subject: notice.headline,
                                             message: String(decoding: request.body, as: UTF8.self))
                return .delivered
            } catch let error as CloudError {
                let why = "SNS answered \(error.code)"
                return (error.httpStatus ?? 0) >= 500 || error.code.contains("Throttl") ? .retry(why) : .giveUp(why)
            } catch {
                return .retry(Task.isCancelled ? "the server stopped" : "SNS could not be reached (\(Self.kind(of: error)))")
            }
        }
        do {
            let status = try await poster.post(url: url, headers: request.headers, body: request.body, timeout: settings.timeout)
            if (200..<300).contains(status) { return .delivered }
            // A request the receiver refuses is not sent again (except for rate limiting).
            return status >= 500 || status == 429 ? .retry("answered HTTP \(status)") : .giveUp("answered HTTP \(status)")
        } catch {
            return .retry(Task.isCancelled ? "the server stopped" : "could not be reached (\(Self.kind(of: error)))")
        }
    }

    /// An error's kind without its text (which may hold the URL).
    static func kind(of error: any Error) -> String {
        if error is CancellationError { return "stopped" }
        return String(describing: type(of: error))
    }
}
