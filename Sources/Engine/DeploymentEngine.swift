import CloudModel
import Foundation
import Logging

/// Owns the deployments of this process: accepts requests, keeps one deployment per service
/// at a time, runs each on its own task, records every step, and tells observers and
/// watchers. The runner does the cloud work; the engine does the bookkeeping.
public actor DeploymentEngine {
    let env: EngineEnvironment
    let defaults: DeploymentSettings
    var cloud: Cloud { env.cloud }
    var clock: any DeployClock { env.clock }
    /// Timestamps of records (see `EngineEnvironment.wallClock`).
    var wallClock: any DeployClock { env.wallClock }
    nonisolated var store: any DeploymentStore { env.store }
    var logger: Logger { env.logger }

    /// Deployments not yet finished, by id (the store has every one); read without entering
    /// the actor by `status`.
    nonisolated let active: LiveRecords<DeploymentRecord>
    /// The deployments this process finished last, as saved: `waitUntilFinished` and status
    /// reads right after an end need no store read.
    nonisolated let finished = RecentRecords<DeploymentRecord>(capacity: 256)
    /// The deployments this process holds: records, lifecycles, running work, watchers.
    var registry: Registry<DeploymentRecord, DeploymentLifecycle>
    /// serviceKey -> id of the deployment that holds the service.
    var locks: [String: String] = [:]
    /// Approval timeouts of deployments waiting for approval.
    var approvalTimers: [String: Work] = [:]
    /// `limits:`; the deployments waiting for them, in order, and the timer that looks again
    /// when a rate limit lets the first of them start.
    let limits: DeploymentLimits
    /// `windows`: when deployments may start.
    let windows: DeployWindows
    var queued: [String] = []
    var queueTimer: (at: Date, work: Work)?
    var accepting = true
    /// Services just read, by the id of the deployment that will deploy them (a release's
    /// check, a deployment's pre-flight): its pre-flight and first stage use them rather than
    /// read again a moment later, while they are at most a poll interval old.
    var freshReads: [String: (service: ECSService, at: Date)] = [:]
    /// Where the deployments' work runs (the registry's), held by `run()`.
    nonisolated let work: WorkGroup
    /// How long `run()` lets running deployments finish after a graceful shutdown began.
    let drainTimeout: Duration

    /// - Parameters:
    ///   - defaults: the server's deployment settings (config.yaml); each deployment's
    ///     `-config` applies on top.
    ///   - drainTimeout: at a graceful shutdown, how long running deployments may go on
    ///     before they are checkpointed (`server.graceful_timeout`).
    public init(environment: EngineEnvironment, defaults: DeploymentSettings = DeploymentSettings(),
                drainTimeout: Duration = .seconds(30), limits: DeploymentLimits = DeploymentLimits(),
                windows: DeployWindows = DeployWindows()) {
        self.limits = limits
        self.windows = windows
        self.env = environment
        self.defaults = defaults
        self.drainTimeout = drainTimeout
        self.registry = Registry()
        self.active = registry.live
        self.work = registry.work
    }

    // MARK: Requests

    /// Accepts a deployment: idempotent on the id, refused while the service is busy, and over
    /// a limit (`limits`) unless it asked to queue (`queue`) or `queueWhenLimited` (a release's
    /// entry). `known`: what a release's plan already knows of the change's cost, so that
    /// nothing is read twice. Returns the record and whether it already existed.
    public func submit(_ request: DeploymentRequest, queueWhenLimited: Bool = false,
                       known: KnownCost? = nil) async throws -> (DeploymentRecord, existing: Bool) {
        guard accepting else { throw EngineError(.unavailable, "the server is shutting down; try again later") }
        if let existing = active[request.id] { return (try sameOrConflict(existing, request), true) }
        let settings = try defaults.applying(request.config)
        let key = request.serviceKey
        if let holder = busyHolder(of: key) {
            throw EngineError(.failedPrecondition, field: "service",
                              "service \(key) already has a deployment in progress: \(holder); wait for it to end "
                                  + "(grpc-client -action watch -id \(holder)), or deploy with -wait to follow each deployment to its end")
        }
        locks[key] = request.id
        let plan: [Stage]
        var warnings: [String] = []
        var cost: ChangeCost?
        var preflightRead: ECSService?
        var readAt = clock.now()
        do {
            if let old = try await store.load(id: request.id) {
                releaseLock(key, id: request.id)
                return (try sameOrConflict(old, request), true)
            }
            if let at = settings.startAt, at.timeIntervalSince(wallClock.now()) > 366 * 86400 {
                throw EngineError.invalid("config.start_at", "'\(at.ISO8601Format())' is more than a year ahead")
            }
            let read = freshRead(request.id, maxAge: settings.pollInterval)
            let (service, found) = try await preflight(request, settings: settings, read: read?.service)
            preflightRead = service
            readAt = read?.at ?? clock.now()
            warnings = found
            plan = Plan.stages(for: request.strategy, settings: settings, controller: service.deploymentController,
                               native: service.supportsNativeStrategies)
            if let pricing = env.pricing {
                cost = await self.cost(of: request, settings: settings, service: service, plan: plan, pricing: pricing, known: known)
            }
            // Refused now rather than waiting, where asked (one waiting for approval is checked
            // when it may start).
            if !settings.requireApproval, let block = await startBlock(request, settings: settings, id: request.id) {
                switch block.reason {
                case .scheduled:
                    break
                case .window:
                    if settings.waitForWindow == false {
                        throw EngineError(.failedPrecondition, field: "windows", "\(request.serviceKey) may not be deployed now: \(block.message)"
                            + (block.retryAt.map { "; the next opening is at \($0.ISO8601Format())" } ?? "") + " (-no-wait-window)")
                    }
                case .limit(let limit):
                    if !queueWhenLimited, settings.queueWhenLimited != true { throw Self.refusal(block, limit: limit, clock: wallClock) }
                }
            }
        } catch {
            releaseLock(key, id: request.id)
            throw error
        }
        if let preflightRead { freshReads[request.id] = (preflightRead, readAt) }
        var accepted = DeploymentRecord(request: request, settings: settings, plan: plan, at: wallClock.now())
        accepted.cost = cost
        hold(accepted)
        var record = await mutate(request.id, event: .deploymentAccepted,
                                  message: "accepted \(request.strategy.rawValue) deployment of \(key)"
                                      + (cost.map { "; cost: \($0.summary)" } ?? "")) { _ in }
        for warning in warnings {
            logger.warning("deployment \(request.id): pre-flight: \(warning)")
            record = await mutate(request.id, event: .preflightWarning, message: warning) { $0.warnings = ($0.warnings ?? []) + [warning] }
        }
        let effects = (try? transition(request.id, .accepted(needsApproval: settings.requireApproval))) ?? []
        if settings.requireApproval {
            let limit = settings.approvalTimeout.map { " (rejected automatically after \(GoDuration.format($0)))" } ?? ""
            record = await mutate(request.id, status: lifecycleStatus(request.id), event: .approvalRequested,
                                  message: "waiting for approval\(limit)") { _ in }
        }
        await perform(request.id, effects)
        return (record, false)
    }

    /// How many deployments this process holds now (running or waiting for approval), read
    /// without entering the engine.
    public nonisolated var heldCount: Int { active.count }

    /// The deployment as this process runs it (read without waiting for the engine's other
    /// work), else as stored.
    public nonisolated func status(id: String) async throws -> DeploymentRecord {
        if let record = active[id] ?? finished[id] { return record }
        if let record = try await store.load(id: id) { return record }
        throw EngineError(.notFound, field: "id", "deployment \(id) not found")
    }

    public func list(_ filter: DeploymentFilter, pageSize: Int, pageToken: String) async throws -> ([DeploymentRecord], next: String) {
        guard let offset = pageToken.isEmpty ? 0 : Int(pageToken), offset >= 0 else {
            throw EngineError.invalid("page_token", "'\(pageToken)' is not a page token from this server")
        }
        let size = pageSize <= 0 ? 50 : min(pageSize, 500)
        let page = try await store.list(filter, limit: size + 1, offset: offset)
        let next = page.count > size ? String(offset + size) : ""
        return (page.prefix(size).map { active[$0.id] ?? $0 }, next)
    }

    /// Rolls a deployment back: at once if it is running (it stops at its current stage),
    /// or afterwards if it finished. Refused while it waits for approval.
    public func rollback(id: String, requestedBy: String, reason: String) async throws -> DeploymentRecord {
        let record = try await status(id: id)
        let why = "rollback requested" + (requestedBy.isEmpty ? "" : " by \(requestedBy)") + (reason.isEmpty ? "" : ": \(reason)")
        switch record.status {
        case .pendingApproval, .rollingBack, .rolledBack, .rejected:
            // Refused by the lifecycle, whether this process holds the deployment or not.
            var lifecycle = registry.lifecycles[id] ?? DeploymentLifecycle(record, durable: store.isDurable)
            _ = try lifecycle.handle(.rollbackRequested(why))
            throw EngineError(.failedPrecondition, "deployment \(id) cannot be rolled back (status \(record.status.rawValue))")
        case .pending, .waitingWindow, .inProgress:
            // Not run by this process: the shutdown checkpointed it (or is checkpointing it), or
            // it is left from a previous run; it resumes at the next start.
            guard active[id] != nil else {
                throw accepting ? EngineError(.failedPrecondition, "deployment \(id) is not running in this server; it resumes at the next start")
                    : EngineError(.unavailable, "the server is shutting down; try again later")
            }
            return try await requestRollback(id, why: why, by: requestedBy, adopted: false)
        case .succeeded, .failed, .interrupted:
            guard accepting else { throw EngineError(.unavailable, "the server is shutting down; try again later") }
            guard !Plan.rollbackStages(facts: record.facts).isEmpty else {
                throw EngineError(.failedPrecondition, "deployment \(id) did not change the service; nothing to roll back")
            }
            if let later = try await supersedingDeployment(of: record) {
                throw EngineError(.failedPrecondition, field: "id",
                                  "deployment \(id) was superseded by \(later.id) (\(later.status.rawValue)) on \(record.request.serviceKey): "
                                      + "its rollback would act on task sets and weights that \(later.id) changed. "
                                      + "Roll back the latest one instead (grpc-client -action rollback -id \(later.id)), "
                                      + "or deploy the revision you want")
            }
            let key = record.request.serviceKey
            if let holder = busyHolder(of: key) {
                throw EngineError(.failedPrecondition, "service \(key) has a deployment in progress: \(holder)")
            }
            locks[key] = id
            hold(record)
            return try await requestRollback(id, why: why, by: requestedBy, adopted: true)
        }
    }

    /// Hands the rollback request to the deployment's lifecycle, records it, and acts on it.
    /// `adopted`: a finished deployment taken up (and its service locked) for this request,
    /// which leaves again when the request is refused.
    private func requestRollback(_ id: String, why: String, by requestedBy: String, adopted: Bool) async throws -> DeploymentRecord {
        let effects: [DeploymentLifecycle.Effect]
        do {
            effects = try transition(id, .rollbackRequested(why))
        } catch {
            if adopted, let record = active[id] {
                releaseLock(record.request.serviceKey, id: id)
                registry.drop(id)
            }
            throw error
        }
        let updated = await mutate(id, status: lifecycleStatus(id), event: .rollbackRequested, message: why) {
            $0.rollbackRequestedBy = requestedBy
        }
        await perform(id, effects)
        return updated
    }

    /// Records `approver`'s approval; the deployment starts once `required` distinct approvers
    /// (never its requester) have approved it.
    /// The newest deployment of the same service after `record` that changed the service (one
    /// rejected, or that changed nothing, does not count).
    private func supersedingDeployment(of record: DeploymentRecord) async throws -> DeploymentRecord? {
        let parts = record.request.serviceKey.split(separator: "/", maxSplits: 1).map(String.init)
        let filter = DeploymentFilter(cluster: parts[0], service: parts.count > 1 ? parts[1] : "", since: record.createdAt)
        return try await store.list(filter, limit: 100, offset: 0)
            .map { active[$0.id] ?? $0 }
            .first { later in
                later.id != record.id && (later.createdAt, later.id) > (record.createdAt, record.id) && later.status != .rejected
                    && (!later.status.isTerminal || !Plan.rollbackStages(facts: later.facts).isEmpty || later.status == .rolledBack)
            }
    }

    public func approve(id: String, approver: String, reason: String, required: Int = 1) async throws -> DeploymentRecord {
        if let paused = active[id], paused.status == .inProgress, let pause = paused.hookPause, !pause.approved {
            // ECS waits at our PAUSE hook: the approvers let it go on (as many as any approval needs).
            let tally = try ApprovalRecord.tally(pause.approvals, adding: approver, reason: reason, at: wallClock.now(), required: required,
                                                 requester: paused.request.requestedBy, subject: "deployment \(id) at \(pause.stage)")
            return await mutate(id, event: tally.complete ? .approvalApproved : .approvalRecorded,
                                message: tally.message + (tally.complete ? "; ECS goes on past \(pause.stage)" : "")) {
                $0.hookPause?.approvals = tally.approvals
                if tally.complete { $0.hookPause?.approved = true }
            }
        }
        if let paused = active[id], paused.status == .inProgress, paused.analysisPause != nil {
            // A bake paused on an inconclusive analysis: one approver (not the requester) lets it go on.
            let tally = try ApprovalRecord.tally([], adding: approver, reason: reason, at: wallClock.now(), required: 1,
                                                 requester: paused.request.requestedBy, subject: "deployment \(id)")
            return await mutate(id, event: .analysisResumed, message: tally.message + "; the analysis goes on") { $0.analysisPause = nil }
        }
        let record = try await pendingDecision(id)
        // An approval starts a run that this process would not finish; with a durable store the
        // deployment still waits for it after the restart.
        if !accepting { throw EngineError(.unavailable, "the server is shutting down; try again later") }
        let tally = try ApprovalRecord.tally(record.approvals ?? [], adding: approver, reason: reason, at: wallClock.now(),
                                             required: required, requester: record.request.requestedBy,
                                             subject: "deployment \(id)")
        guard tally.complete else {
            return await mutate(id, event: .approvalRecorded, message: tally.message) { $0.record(tally) }
        }
        let effects = try transition(id, .approved)
        let updated = await mutate(id, status: lifecycleStatus(id), event: .approvalApproved, message: tally.message) { $0.record(tally) }
        await perform(id, effects)
        return updated
    }

    /// Rejects the deployment: one approver's rejection ends it (a deployment paused on its
    /// analysis rolls back).
    public func reject(id: String, approver: String, reason: String) async throws -> DeploymentRecord {
        if let paused = active[id], paused.status == .inProgress, let pause = paused.hookPause, !pause.approved {
            _ = try ApprovalRecord.decision(approved: false, approver: approver, reason: reason, at: wallClock.now())
            return try await rollback(id: id, requestedBy: approver,
                                      reason: "rejected at \(pause.stage)" + (reason.isEmpty ? "" : ": \(reason)"))
        }
        if let paused = active[id], paused.status == .inProgress, paused.analysisPause != nil {
            _ = try ApprovalRecord.decision(approved: false, approver: approver, reason: reason, at: wallClock.now())
            return try await rollback(id: id, requestedBy: approver, reason: "rejected while paused on its analysis" + (reason.isEmpty ? "" : ": \(reason)"))
        }
        let record = try await pendingDecision(id)
        let decision = try ApprovalRecord.decision(approved: false, approver: approver, reason: reason, at: wallClock.now())
        let because = reason.isEmpty ? "" : ": \(reason)"
        let effects = try transition(id, .rejected("rejected by \(approver)\(because)"))
        await mutate(id, event: .approvalRejected, message: "rejected by \(approver)\(because)") { $0.approval = decision }
        let last = active[id] ?? record
        await perform(id, effects)
        return (try? await store.load(id: id)) ?? last
    }

    /// A bake waits for a person: its analysis was inconclusive (`inconclusive: pause`).
    func pauseAnalysis(_ id: String, template: String, reason: String) async {
        guard active[id] != nil else { return }
        let message = "\(reason); paused: approve to go on (grpc-client -action approve -id \(id)), "
            + "or roll back (grpc-client -action rollback -id \(id))"
        await mutate(id, event: .analysisPaused, message: message) {
            $0.analysisPause = AnalysisPause(template: template, reason: reason, since: self.wallClock.now())
        }
    }

    /// ECS's deployment waits at our PAUSE hook for approval (`approve_at`).
    func pauseAtHook(_ id: String, stage: String, hookId: String, expires: String) async {
        guard active[id] != nil else { return }
        let message = "ECS waits at \(stage) for approval\(expires): approve to go on (grpc-client -action approve -id \(id)), "
            + "reject or roll back to roll back"
        await mutate(id, event: .approvalRequested, message: message) {
            $0.hookPause = HookPause(stage: stage, hookId: hookId, since: self.wallClock.now())
        }
    }

    /// The hook's pause is over.
    func endHookPause(_ id: String, _ why: String) async {
        guard active[id]?.hookPause != nil else { return }
        await mutate(id, event: .stageProgress, message: why) { $0.hookPause = nil }
    }

    /// Whether the bake still waits (no one approved yet).
    func isAnalysisPaused(_ id: String) -> Bool { active[id]?.analysisPause != nil }

    /// The pause ended without an approval (the bake failed, or was stopped).
    func endAnalysisPause(_ id: String, _ why: String) async {
        guard active[id]?.analysisPause != nil else { return }
        await mutate(id, event: .analysisResumed, message: "the pause ended: \(why)") { $0.analysisPause = nil }
    }

    private func pendingDecision(_ id: String) async throws -> DeploymentRecord {
        let record = try await status(id: id)
        guard record.status == .pendingApproval, active[id] != nil else {
            throw EngineError(.failedPrecondition, "deployment \(id) is not waiting for approval (status \(record.status.rawValue))")
        }
        return record
    }

    /// Rejects the deployment when its approval timeout (counted from the request for
    /// approval) passes.
    private func armApprovalTimer(_ id: String) {
        guard let record = active[id], let timeout = record.settings.approvalTimeout else { return }
        let asked = record.events.last(where: { $0.kind == .approvalRequested })?.at ?? record.createdAt
        let delay = max(.zero, timeout - .seconds(wallClock.now().timeIntervalSince(asked)))
        let clock = self.clock
        approvalTimers[id] = work.start(on: clock) {
            guard (try? await clock.sleep(for: delay)) != nil else { return }
            await self.approvalExpired(id, after: timeout)
        }
    }

    private func approvalExpired(_ id: String, after timeout: Duration) async {
        let why = "not approved within \(GoDuration.format(timeout))"
        guard active[id]?.status == .pendingApproval, let effects = try? transition(id, .rejected(why)) else { return }
        approvalTimers[id] = nil
        await mutate(id, event: .approvalExpired, message: why) { _ in }
        await perform(id, effects)
    }

    /// The deployment's events so far, then live ones until it ends.
    public func watch(id: String) async throws -> AsyncStream<DeploymentEvent> {
        let record = try await status(id: id)
        let live = !record.status.isTerminal && active[id] != nil
        return registry.watchers.subscribe(id, history: record.events, live: live)
    }

    /// A stream that ends when the deployment does. While it waits, the caller's work is the
    /// deployment's: given back to the clock (`handsBack`), and handed back at the end.
    private func subscribeToEnd(_ id: String) async throws -> (AsyncStream<DeploymentEvent>, handsBack: Bool) {
        let record = try await status(id: id)
        let live = !record.status.isTerminal && active[id] != nil
        let handsBack = live && clock.workDone()
        let stream = registry.watchers.subscribe(id, history: nil, live: live, handsBack: handsBack)
        return (stream, handsBack)
    }

    /// Deletes finished records older than `date` from the store.
    public func purge(finishedBefore date: Date) async throws -> Int {
        defer { finished.removeAll() }
        return try await store.purge(finishedBefore: date)
    }

    /// Waits until the deployment has a final status, and returns it. A rollback asked just as
    /// it ended (`rollback` of a SUCCEEDED deployment) opens it again: then this waits for the
    /// rollback's outcome too. Returns a status that is not final only when the shutdown
    /// checkpointed the deployment (it is no longer run here) or the caller was cancelled.
    public func waitUntilFinished(id: String) async throws -> DeploymentRecord {
        while true {
            // Woken once, when the deployment ends, not by each of its events.
            let (end, handsBack) = try await subscribeToEnd(id)
            for await _ in end {}
            if handsBack { clock.takeUp(handedOff: true) }
            let record = try await status(id: id)
            if record.status.isTerminal || active[id] == nil || Task.isCancelled { return record }
        }
    }

    /// Runs the deployments' work (a service of the server's lifecycle group) until a graceful
    /// shutdown, then drains it within `drainTimeout` (see `shutdown`); returns once the work
    /// ended. Cancelled, it checkpoints at once.
    public nonisolated func run() async {
        await work.runUntilShutdown { cancelled in
            await self.shutdown(timeout: cancelled ? .zero : self.drainTimeout)
        }
    }

    /// Stops accepting work, lets running deployments finish until `timeout` (wall time),
    /// then interrupts the rest, recording where each stopped; then the work group closes
    /// (`run()` returns).
    public func shutdown(timeout: Duration) async {
        accepting = false
        if registry.runningCount > 0 {
            let changes = registry.tellChanges()
            await Registry<DeploymentRecord, DeploymentLifecycle>.waitUntilNoneRuns(changes, until: ContinuousClock.now + timeout) {
                await self.runningCount == 0
            }
            registry.stopTelling()
        }
        // Work started while this waits (a rollback after a failure) is stopped in turn.
        while case let running = registry.allTasks.filter({ !$0.isFinished }), !running.isEmpty {
            for id in Array(registry.lifecycles.keys) where registry.task(id).map({ !$0.isFinished }) == true {
                if let effects = try? transition(id, .shutdown) { await perform(id, effects) }
            }
            for job in running { await job.finished() }
        }
        for (id, timer) in approvalTimers { timer.cancel(); approvalTimers[id] = nil }
        // Queued and scheduled deployments stay as recorded; they are looked at again at the next start.
        queueTimer?.work.cancel()
        queueTimer = nil
        for id in Array(registry.lifecycles.keys) { await follow(id, .serverStopped) }
        registry.watchers.finishAll()
        work.close()
    }

    /// Deployments running now.
    public var runningCount: Int { registry.runningCount }

    /// How many `watch` streams follow a deployment now.
    public func watcherCount(id: String) -> Int { registry.watchers.count(id) }

    // MARK: Internals

    private func sameOrConflict(_ existing: DeploymentRecord, _ request: DeploymentRequest) throws -> DeploymentRecord {
        guard existing.request.isSameRequest(as: request) else {
            throw EngineError(.alreadyExists, field: "id",
                              "deployment id \(request.id) is already used by a different request (\(existing.request.serviceKey), \(existing.request.strategy.rawValue))")
        }
        return existing
    }

    /// Checks that the target exists and suits the strategy, before anything is recorded.
    /// `read`: the service as it was just read (by a release's check), else it is read now.
    private func preflight(_ request: DeploymentRequest, settings: DeploymentSettings, read: ECSService?) async throws -> (ECSService, warnings: [String]) {
        let services: [ECSService]
        do {
            services = if let read { [read] } else { try await cloud.ecs.describeServices(cluster: request.cluster, services: [request.service]) }
        } catch let error as CloudError where error.code == CloudError.clusterNotFound {
            throw EngineError(.notFound, field: "cluster", "cluster \(request.cluster) not found")
        }
        guard let service = services.first, service.status == "ACTIVE" else {
            throw EngineError(.notFound, field: "service", "service \(request.service) not found in cluster \(request.cluster)")
        }
        switch (request.strategy, service.deploymentController) {
        case (_, .codeDeploy):
            throw EngineError(.failedPrecondition, field: "service",
                              "service \(service.serviceName) uses the CODE_DEPLOY controller; this server deploys ECS and EXTERNAL services")
        case (.canary, .ecs), (.bluegreen, .ecs), (.linear, .ecs):
            guard service.supportsNativeStrategies else {
                throw EngineError(.failedPrecondition, field: "strategy",
                                  "\(request.strategy.rawValue) needs a service with the EXTERNAL deployment controller, or the ECS controller "
                                      + "with a load balancer's advancedConfiguration (alternate target group, production listener rule) "
                                      + "for ECS's own \(request.strategy.rawValue); service \(service.serviceName) has neither (use quicksync or rolling)")
            }
            // Its keys must map to ECS's before anything is recorded.
            _ = try NativeStrategy.configuration(request.strategy, settings)
        case (_, .external):
            guard service.primaryTaskSet != nil else {
                throw EngineError(.failedPrecondition, field: "service",
                                  "service \(service.serviceName) has no PRIMARY task set to deploy from")
            }
        default:
            break
        }
        var warnings: [String] = []
        if let check = env.preflight {
            warnings = try await check.check(request, taskDefinition: try await TaskDefinitionInput.toRegister(request, service: service,
                                                                                                              ecs: cloud.ecs).json,
                                             settings: settings, native: service.supportsNativeStrategies && request.strategy.shiftsTraffic)
        }
        if let unknown = settings.analysis.first(where: { env.analysisTemplates[$0] == nil }) {
            let known = env.analysisTemplates.keys.sorted()
            throw EngineError(.invalidArgument, field: "config.analysis",
                              "config.analysis: no template \(unknown) in analysis.templates (\(known.isEmpty ? "none defined" : known.joined(separator: ", ")))")
        }
        if !settings.alarms.isEmpty {
            let found = Set(try await cloud.cloudWatch.describeAlarms(names: settings.alarms).map(\.name))
            let missing = settings.alarms.filter { !found.contains($0) }
            if !missing.isEmpty {
                throw EngineError(.failedPrecondition, field: "config.alarms",
                                  "config.alarms: CloudWatch has no alarm \(missing.joined(separator: ", ")) (alarms watched during bakes must exist)")
            }
        }
        if settings.failOnDrift {
            let report = try await driftReport(service: service, key: request.serviceKey)
            if !report.items.isEmpty {
                throw EngineError(.failedPrecondition, field: "service", "drift detected: \(report.summary)")
            }
        }
        return (service, warnings)
    }

    /// The cost of the change: the live task definition against the one to register. A read
    /// that fails leaves the cost not estimated; it never refuses the deployment.
    private func cost(of request: DeploymentRequest, settings: DeploymentSettings, service: ECSService, plan: [Stage], pricing: Pricing,
                      known: KnownCost?) async -> ChangeCost {
        do {
            var live: TaskDefinition?
            switch known {
            case .cost(let cost)?: return cost
            case .liveDefinition(let definition)?: live = definition
            case nil:
                if let arn = service.primaryTaskSet?.taskDefinition ?? service.taskDefinition { live = try await cloud.ecs.describeTaskDefinition(arn) }
            }
            let next = TaskDefinitionInput.definitionToRegister(request: request.taskDefinitionJSON, current: live)
            return ChangeCost.estimate(service: service, before: live?.json, after: next.json, plan: plan, strategy: request.strategy,
                                       settings: settings, pricing: pricing)
        } catch {
            return .notEstimated("the live task definition could not be read: \(error)", pricing: pricing)
        }
    }

    /// Starts holding a deployment (new, or read from the store), with its lifecycle.
    func hold(_ record: DeploymentRecord) {
        registry.hold(record, DeploymentLifecycle(record, durable: store.isDurable))
    }

    @discardableResult
    func transition(_ id: String, _ input: DeploymentLifecycle.Input) throws -> [DeploymentLifecycle.Effect] {
        try registry.transition(id, input)
    }

    func lifecycleStatus(_ id: String) -> DeploymentStatus? { registry.lifecycleStatus(id) }

    /// Carries out what the lifecycle decided, in order.
    func perform(_ id: String, _ effects: [DeploymentLifecycle.Effect]) async {
        for effect in effects {
            switch effect {
            case .startRun(let resumed):
                // One that never started waits while a limit holds it.
                if let record = active[id], !record.events.contains(where: { $0.kind == .deploymentStarted }),
                   let block = await startBlock(record) {
                    await enqueue(id, block)
                    continue
                }
                await launch(id, ifNotStarted: .forwardEnded(.cancelled)) { engine in await engine.drive(id, resumed: resumed) }
            case .armApprovalTimer:
                armApprovalTimer(id)
            case .disarmApprovalTimer:
                approvalTimers.removeValue(forKey: id)?.cancel()
            case .cancelRun:
                if let task = registry.task(id) {
                    task.cancel()
                } else if let i = queued.firstIndex(of: id) {
                    // Queued: it never ran, so it ends here as a run stopped before its first stage.
                    queued.remove(at: i)
                    await follow(id, .forwardEnded(.cancelled))
                }
            case .startRollback(let reason):
                await launch(id, ifNotStarted: .rollbackEnded(.cancelled, reason: reason)) { engine in
                    await engine.runRollback(id, reason: reason)
                }
            case .rollBack(let reason):
                await runRollback(id, reason: reason)
            case .continueRollback:
                guard let record = active[id] else { continue }
                // Asked but not started (the process stopped in between): it starts from the plan.
                let started = !record.rollbackStages.isEmpty
                let reason = started ? record.error : record.events.last { $0.kind == .rollbackRequested }?.message ?? "rollback requested"
                await launch(id, ifNotStarted: .rollbackEnded(.cancelled, reason: reason)) { engine in
                    started ? await engine.continueRollback(id, reason: reason) : await engine.runRollback(id, reason: reason)
                }
            case .succeed:
                await succeed(id)
            case .reject(let why):
                await finish(id, event: .deploymentRejected, error: why, message: "nothing was changed")
            case .rolledBack(let reason):
                await rolledBack(id, reason: reason)
            case .rollbackFailed(let reason, let error):
                await rollbackFailed(id, reason: reason, error: error)
            case .checkpoint:
                await checkpoint(id)
            case .interrupt:
                await interrupt(id)
            }
        }
    }

    /// Starts the deployment's work. Once the shutdown has drained the engine (a request
    /// recorded while it drained) nothing starts: the lifecycle learns that the work stopped
    /// at once (`ifNotStarted`), and the deployment is checkpointed (or interrupted) as one
    /// stopped by the shutdown.
    func launch(_ id: String, ifNotStarted: DeploymentLifecycle.Input,
                        _ body: @escaping @Sendable (DeploymentEngine) async -> Void) async {
        guard !work.isClosed else {
            _ = try? transition(id, .shutdown)
            return await follow(id, ifNotStarted)
        }
        registry.launch(id, clock: clock) { await body(self) }
    }

    /// The deployment that holds the service, unless its end is already visible (its status
    /// reads final while its last save completes): it has done its work, and a caller that saw
    /// the end and deploys or rolls back at once is not refused.
    private func busyHolder(of key: String) -> String? {
        guard let holder = locks[key], active[holder]?.status.isTerminal != true else { return nil }
        return holder
    }

    private func releaseLock(_ key: String, id: String) {
        if locks[key] == id { locks[key] = nil }
    }

    /// Applies a change to a running deployment, records an event, saves, and tells everyone.
    /// `status` is given only by a transition of the deployment's lifecycle. `durable: false`
    /// (a stage starting, progress within a stage: nothing a restart resumes from) does not
    /// wait for a save of its own: the next change's save carries it.
    @discardableResult
    func mutate(_ id: String, status: DeploymentStatus? = nil, event type: DeploymentEventKind, stage: String = "",
                message: String = "", durable: Bool = true, _ change: (inout DeploymentRecord) -> Void) async -> DeploymentRecord {
        // Every caller checks first that the deployment is held here (a deployment the
        // shutdown checkpointed is not: `rollback` and `decide` refuse it).
        guard let event = registry.record(id, at: wallClock.now(), status: status, kind: type, subject: stage, message: message, change),
              let record = active[id] else {
            preconditionFailure("deployment \(id) is not held")
        }
        for observer in env.observers { observer.observe(event, record: record) }
        var log = logger
        log[metadataKey: "deployment_id"] = "\(id)"
        log.info("\(type)\(event.stage.isEmpty ? "" : " [\(event.stage)]") \(message)")
        guard durable else { return record }
        do { try await store.save(record) } catch {
            // Visible in the log, the metrics and the status; the next change saves the record again.
            log.error("could not save deployment record: \(error)")
            let warning = "the record could not be saved at \(type.rawValue) (\(error)); later changes save it again"
            _ = active.modify(id) { held in
                if held.warnings?.last != warning { held.warnings = (held.warnings ?? []) + [warning] }
            }
            for observer in env.observers { observer.saveFailed(active[id] ?? record, error: error) }
        }
        for observer in env.observers { await observer.settle() }
        return active[id] ?? record
    }

    /// Drops a deployment from this process (it stays in the store, unfinished).
    func forget(_ id: String) {
        clock.handOff(registry.watchers.endWaiters(id))
        registry.drop(id)
    }

    /// Ends a deployment at the status its lifecycle reached: lock released, watchers closed.
    func finish(_ id: String, event type: DeploymentEventKind, error: String = "", message: String) async {
        freshReads[id] = nil
        await mutate(id, status: lifecycleStatus(id), event: type, message: message) { $0.error = error }
        if let record = active[id] {
            releaseLock(record.request.serviceKey, id: id)
            finished.keep(id, record)
        }
        // Those waiting for the end go on with the work.
        clock.handOff(registry.watchers.endWaiters(id))
        registry.drop(id)
        // A slot may have freed.
        if !queued.isEmpty, accepting { await startQueued() }
    }

    func record(_ id: String) -> DeploymentRecord? { active[id] }

    /// The service just read for the deployment `id`, once, if it is at most `maxAge` old (a
    /// deployment that waited for an approval, a window or a slot reads again).
    func takeFreshRead(_ id: String, maxAge: Duration) -> ECSService? {
        let read = freshRead(id, maxAge: maxAge)
        freshReads[id] = nil
        return read?.service
    }

    private func freshRead(_ id: String, maxAge: Duration) -> (service: ECSService, at: Date)? {
        guard let read = freshReads[id], clock.now().timeIntervalSince(read.at) <= maxAge.seconds else { return nil }
        return read
    }

    /// Services a release has just read, for the deployments of its entries (see `freshReads`).
    /// Reads of entries that never started are dropped once they are older than the longest
    /// poll interval could use.
    public func offerReads(_ reads: [(deploymentID: String, service: ECSService)], at: Date) {
        let now = clock.now()
        freshReads = freshReads.filter { now.timeIntervalSince($0.value.at) <= 3600 }
        for read in reads { freshReads[read.deploymentID] = (read.service, at) }
    }

    /// Stopping, with records that outlive the process: deployments are left to resume.
    var checkpointing: Bool { !accepting && store.isDurable }
}
