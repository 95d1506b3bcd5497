import CloudModel
import Foundation

/// `limits:`: what may start now, the queue of what may not, and the refusal's words.
extension DeploymentEngine {
    /// Why a deployment cannot start now (nil: it can): its start time has not come
    /// (`start_at`), or a limit holds it.
    func startBlock(_ request: DeploymentRequest, settings: DeploymentSettings, id: String, overridden: Bool = false) async -> StartBlock? {
        let now = wallClock.now()
        if let at = settings.startAt, at > now {
            return StartBlock(reason: .scheduled, message: "scheduled", retryAt: at)
        }
        let applying = overridden ? [] : windows.applying(cluster: request.cluster, service: request.service)
        if let why = DeployWindows.closed(applying, at: now) {
            return StartBlock(reason: .window, message: why, retryAt: DeployWindows.nextOpening(applying, from: now))
        }
        return await limitBlock(request, id: id)
    }

    /// The time on records now (the wall clock; the test clock in tests).
    public nonisolated var now: Date { env.wallClock.now() }

    /// The windows that apply to a service now, and when it may deploy.
    public nonisolated func windowReport(cluster: String, service: String) -> WindowReport {
        WindowReport(windows.applying(cluster: cluster, service: service), at: now)
    }

    func startBlock(_ record: DeploymentRecord) async -> StartBlock? {
        await startBlock(record.request, settings: record.settings, id: record.id, overridden: record.windowOverride == true)
    }

    /// An admin starts a deployment waiting for its deploy window now (the other conditions
    /// still apply: its start time, the limits). The reason is required and recorded.
    public func overrideWindow(id: String, by admin: String, reason: String) async throws -> DeploymentRecord {
        guard let record = active[id], record.status == .waitingWindow, queued.contains(id) else {
            throw EngineError(.failedPrecondition, "deployment \(id) is not waiting for a deploy window")
        }
        guard !admin.trimmingCharacters(in: .whitespaces).isEmpty else { throw EngineError.invalid("approver", "is required to override a window") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw EngineError.invalid("reason", "is required to start a deployment outside its deploy window")
        }
        let updated = await mutate(id, event: .windowOverridden, message: "started outside its deploy window by \(admin): \(reason)") {
            $0.windowOverride = true
        }
        await startQueued()
        return active[id] ?? updated
    }

    /// Why a deployment of `request` cannot start now for a limit (nil: none holds it).
    /// Running: held, not finished, not waiting for approval, not queued.
    func limitBlock(_ request: DeploymentRequest, id: String) async -> StartBlock? {
        guard !limits.isEmpty else { return nil }
        let queuedNow = Set(queued)
        let running = active.all.values.filter {
            $0.id != id && !$0.status.isTerminal && $0.status != .pendingApproval && !queuedNow.contains($0.id)
        }
        if let max = limits.globalInFlight, running.count >= max {
            return StartBlock(reason: .limit("limits.global"), message: "\(running.count) deployments are running on this server "
                + "(limits.global.in_flight: \(max))", retryAt: nil)
        }
        let cluster = request.cluster.arnResourceName
        if let max = limits.perClusterInFlight {
            let here = running.filter { $0.request.cluster.arnResourceName == cluster }.count
            if here >= max {
                return StartBlock(reason: .limit("limits.per_cluster"), message: "\(here) deployments are running in cluster \(cluster) "
                    + "(limits.per_cluster.in_flight: \(max))", retryAt: nil)
            }
        }
        guard let rate = limits.perService else { return nil }
        let now = wallClock.now()
        let filter = DeploymentFilter(cluster: cluster, service: request.service.arnResourceName,
                                      statuses: Set(DeploymentStatus.allCases).subtracting([.rejected]),
                                      since: now.addingTimeInterval(-rate.period.seconds))
        let stored: [DeploymentRecord]
        do {
            stored = try await store.list(filter, limit: rate.count + 1, offset: 0)
        } catch {
            // Counted from what this process holds only; said, not hidden.
            logger.warning("limits.per_service: the history cannot be read (\(error)); counting the deployments held here only")
            stored = []
        }
        var accepted: [String: Date] = [:]
        // In the window: accepted less than `period` ago (one accepted exactly then has left it).
        let windowStart = now.addingTimeInterval(-rate.period.seconds)
        for record in stored + active.all.values.filter(filter.matches)
        where record.id != id && record.createdAt > windowStart {
            accepted[record.id] = record.createdAt
        }
        guard accepted.count >= rate.count else { return nil }
        let times = accepted.values.sorted(by: >)
        // When the oldest of the newest `count` leaves the window.
        let retryAt = times[rate.count - 1].addingTimeInterval(rate.period.seconds)
        return StartBlock(reason: .limit("limits.per_service"), message: "service \(request.serviceKey) had \(accepted.count) deployments in the last "
            + "\(GoDuration.format(rate.period)) (limits.per_service: \(rate.count) per \(GoDuration.format(rate.period)))", retryAt: retryAt)
    }

    /// RESOURCE_EXHAUSTED naming the limit and when to retry.
    static func refusal(_ block: StartBlock, limit: String, clock: any DeployClock) -> EngineError {
        let retry = block.retryAt.map { at in
            "retry after \(at.ISO8601Format()) (in \(GoDuration.format(.seconds(max(1, at.timeIntervalSince(clock.now()).rounded(.up))))))"
        } ?? "retry when one of them ends"
        return EngineError(.resourceExhausted, field: limit, "\(block.message): \(retry), or deploy with -config '{\"queue\":\"true\"}' to wait in the queue")
    }

    /// Holds the deployment in the queue (recorded once per reason).
    func enqueue(_ id: String, _ block: StartBlock) async {
        if !queued.contains(id) { queued.append(id) }
        let message: String
        switch block.reason {
        case .scheduled:
            message = "scheduled: starts at \(block.retryAt?.ISO8601Format() ?? "-")"
        case .window:
            message = "waiting for a deploy window: \(block.message); "
                + (block.retryAt.map { "starts at \($0.ISO8601Format())" } ?? "no window opens within 35 days")
        case .limit:
            message = "queued: \(block.message); starts " + (block.retryAt.map { "at \($0.ISO8601Format())" } ?? "when one of them ends")
        }
        let effects = (try? transition(id, block.reason == .window ? .windowClosed : .windowOpened)) ?? []
        // Not again for a look that found the same (a recovery in between does record it again).
        let last = active[id]?.events.last
        if last?.kind != .deploymentQueued || last?.message != message || active[id]?.status != lifecycleStatus(id) {
            await mutate(id, status: lifecycleStatus(id), event: .deploymentQueued, message: message) { _ in }
        }
        await perform(id, effects)
        if let at = block.retryAt { armQueueTimer(at) }
    }

    /// Starts, in order, the queued deployments the limits let start now.
    func startQueued() async {
        for id in queued {
            guard let record = active[id], queued.contains(id) else {
                queued.removeAll { $0 == id }
                continue
            }
            if let block = await startBlock(record) {
                await enqueue(id, block)
                continue
            }
            queued.removeAll { $0 == id }
            _ = try? transition(id, .windowOpened)
            await launch(id, ifNotStarted: .forwardEnded(.cancelled)) { engine in await engine.drive(id, resumed: false) }
        }
        // Nothing left to wait for: the timer goes.
        if queued.isEmpty, let timer = queueTimer {
            timer.work.cancel()
            queueTimer = nil
        }
    }

    /// Looks at the queue again at `at` (the earliest such time wins).
    private func armQueueTimer(_ at: Date) {
        if let timer = queueTimer, timer.at <= at { return }
        queueTimer?.work.cancel()
        let clock = self.clock
        // At least a second: a retry time that has come already must not loop at once.
        let delay = Duration.seconds(max(1, at.timeIntervalSince(wallClock.now())))
        queueTimer = (at, work.start(on: clock) {
            guard (try? await clock.sleep(for: delay)) != nil else { return }
            await self.queueTimerFired()
        })
    }

    private func queueTimerFired() async {
        queueTimer = nil
        if accepting { await startQueued() }
    }
}
