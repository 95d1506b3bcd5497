import CloudModel
import Foundation

/// ECS's own blue/green, linear and canary: ECS moves the traffic; the stages start its
/// service deployment, follow it (its lifecycle stages as progress, our approval at a PAUSE
/// hook), and undo it.
extension DeploymentRunner {
    /// UpdateService with the strategy, then the service deployment ECS started for the new
    /// task definition, recorded. Run again after a restart, it finds the deployment first.
    func startServiceDeployment(_ c: StageContext, _ request: DeploymentRequest) async throws -> StageResult {
        let facts = try await facts(c.id)
        if let arn = facts.serviceDeployment { return "ECS's deployment \(arn.arnResourceName) already started" }
        let target = try taskDefinition(.new, facts)
        if facts.serviceUpdated, let found = try await findServiceDeployment(request, of: target, deadline: c.deadline) {
            return Self.started(found, note: "found after a restart")
        }
        var configuration = try NativeStrategy.configuration(request.strategy, settings)
        configuration.lifecycleHooks = Self.keptHooks(facts.serviceHooks) + (configuration.lifecycleHooks ?? [])
        await setFacts(c.id, "asking ECS for a \(configuration.strategy?.rawValue ?? "") deployment of \(target.arnResourceName)") {
            $0.serviceUpdated = true
            $0.native = true
        }
        _ = try await cloud.ecs.updateService(UpdateServiceInput(cluster: request.cluster, service: request.service, taskDefinition: target,
                                                                 deploymentConfiguration: configuration))
        guard let found = try await findServiceDeployment(request, of: target, deadline: c.deadline) else {
            throw StageError("ECS shows no service deployment of \(target.arnResourceName) after UpdateService")
        }
        return Self.started(found, note: Self.describe(configuration))
    }

    /// The deployment's ARN, and the target groups of its revisions (the metric templates'
    /// `target_group` and `previous_target_group`).
    private static func started(_ found: FoundDeployment, note: String) -> StageResult {
        StageResult("ECS's deployment \(found.arn.arnResourceName) started (\(note))", learned: "service deployment \(found.arn)") {
            $0.serviceDeployment = found.arn
            if let group = found.revision?.resolvedTargetGroups.first { $0.newTargetGroup = group }
            if let group = found.revision?.otherTargetGroup { $0.previousTargetGroup = group }
            // The production rule: its load balancer is the templates' `load_balancer`.
            if let rule = found.revision?.loadBalancers.lazy.compactMap(\.advancedConfiguration).first?.productionListenerRule {
                $0.trafficTargets = [rule]
            }
        }
    }

    struct FoundDeployment {
        let arn: String
        let revision: ServiceRevision?
    }

    /// The service's own hooks stay; the approval hook an earlier deployment of ours added
    /// (marked in its `hookDetails`) does not.
    static func keptHooks(_ hooks: [DeploymentLifecycleHook]?) -> [DeploymentLifecycleHook] {
        (hooks ?? []).filter { !$0.isOurs }
    }

    static func describe(_ c: DeploymentConfiguration) -> String {
        var parts = [c.strategy?.rawValue ?? "ROLLING"]
        if let canary = c.canaryConfiguration {
            parts.append("\(canary.canaryPercent.map { String(format: "%g", $0) } ?? "5")% for \(canary.canaryBakeTimeInMinutes ?? 10) min")
        }
        if let linear = c.linearConfiguration {
            parts.append("\(linear.stepPercent.map { String(format: "%g", $0) } ?? "10")% every \(linear.stepBakeTimeInMinutes ?? 6) min")
        }
        parts.append("bake \(c.bakeTimeInMinutes ?? 0) min")
        if let hook = c.lifecycleHooks?.first(where: { $0.targetType == "PAUSE" }) {
            parts.append("approval at \(hook.lifecycleStages.joined(separator: ", "))")
        }
        return parts.joined(separator: ", ")
    }

    /// The newest service deployment of the service whose target revision runs `taskDefinition`
    /// (ECS may list it a moment after UpdateService: looked for again until the deadline, at
    /// most three times).
    func findServiceDeployment(_ request: DeploymentRequest, of taskDefinition: String, deadline: Date) async throws -> FoundDeployment? {
        for attempt in 0..<3 {
            let recent = Array(try await cloud.ecs.listServiceDeployments(cluster: request.cluster, service: request.service).prefix(5))
            let revisions = try await cloud.ecs.describeServiceRevisions(arns: recent.compactMap(\.targetServiceRevisionArn))
            for brief in recent {
                let revision = revisions.first { $0.serviceRevisionArn == brief.targetServiceRevisionArn }
                if revision?.taskDefinition == taskDefinition { return FoundDeployment(arn: brief.serviceDeploymentArn, revision: revision) }
            }
            if attempt < 2 { try await pollPause(until: deadline, waitingFor: "ECS to list its deployment of \(taskDefinition.arnResourceName)") }
        }
        return nil
    }

    /// Follows ECS's deployment to SUCCESSFUL; ECS's rollback (circuit breaker, alarms, a hook)
    /// or a stop fails the stage with ECS's reason. Its time limit is `timeout` plus the
    /// strategy's bakes, plus the time spent waiting for approval.
    func followServiceDeployment(_ c: StageContext, _ request: DeploymentRequest) async throws -> StageResult {
        guard let arn = try await facts(c.id).serviceDeployment else { throw StageError("no service deployment recorded") }
        let bakes = NativeStrategy.bakeSeconds(try NativeStrategy.configuration(request.strategy, settings))
        let done = try await awaitServiceDeployment(c, request, arn: arn, deadline: c.deadline.addingTimeInterval(bakes), forward: true)
        guard done.status == "SUCCESSFUL" else {
            throw StageError("ECS \(done.isRollingBack ? "rolled back" : "stopped") its deployment \(arn.arnResourceName) "
                + "(\(done.status)): \(Self.reason(done))")
        }
        return "ECS's deployment \(arn.arnResourceName) succeeded"
    }

    /// Undoes the deployment from where ECS is: a deployment still running is stopped with a
    /// rollback (at our PAUSE hook: ContinueServiceDeployment ROLLBACK), one ECS is rolling
    /// back is followed, and one that finished (or was never found) gives way to a new
    /// deployment of the previous revision (ECS's blue/green, no bake).
    func rollBackServiceDeployment(_ c: StageContext, _ request: DeploymentRequest) async throws -> StageResult {
        let facts = try await facts(c.id)
        if let restore = facts.restoreDeployment { return try await followRestore(c, request, arn: restore) }
        var arn = facts.serviceDeployment
        if arn == nil, let target = facts.newTaskDefinition {
            arn = try await findServiceDeployment(request, of: target, deadline: clock.now())?.arn
        }
        if let arn, let d = try await cloud.ecs.describeServiceDeployments(arns: [arn]).first {
            if d.status == "PENDING" || d.status == "IN_PROGRESS" {
                do {
                    try await settled(arn, unless: { !["PENDING", "IN_PROGRESS"].contains($0.status) }) {
                        if let hook = d.awaitingHook {
                            try await cloud.ecs.continueServiceDeployment(arn: arn, hookId: hook.hookId, action: "ROLLBACK")
                        } else {
                            try await cloud.ecs.stopServiceDeployment(arn: arn, stopType: "ROLLBACK")
                        }
                    }
                } catch let error as CloudError where error.code == "ConflictException" {
                    // ECS is removing the previous revision (CLEAN_UP): it cannot go back now.
                    // Its end is awaited, and then the previous revision deployed again.
                }
                if d.awaitingHook != nil { await engine.endHookPause(c.id, "ECS rolls back from \(d.lifecycleStage ?? "its hook")") }
            }
            if !["SUCCESSFUL", "STOPPED", "ROLLBACK_FAILED"].contains(d.status) {
                let end = try await awaitServiceDeployment(c, request, arn: arn, deadline: c.deadline, forward: false)
                if end.status == "ROLLBACK_SUCCESSFUL" { return "ECS rolled back \(arn.arnResourceName): \(Self.reason(end))" }
                if !["STOPPED", "SUCCESSFUL"].contains(end.status) {
                    throw StageError("ECS's rollback of \(arn.arnResourceName) ended \(end.status): \(Self.reason(end))")
                }
            }
        }
        guard let previous = facts.previousTaskDefinition else { return "nothing to undo: no previous task definition recorded" }
        let service = try await describeService(request)
        if arn == nil, service.taskDefinition == previous, service.primaryDeployment?.rolloutState == "COMPLETED" {
            return "nothing to undo: the service runs \(previous.arnResourceName)"
        }
        var configuration = NativeStrategy.restore
        configuration.lifecycleHooks = Self.keptHooks(facts.serviceHooks)
        _ = try await cloud.ecs.updateService(UpdateServiceInput(cluster: request.cluster, service: request.service, taskDefinition: previous,
                                                                 deploymentConfiguration: configuration))
        guard let restore = try await findServiceDeployment(request, of: previous, deadline: c.deadline)?.arn else {
            throw StageError("ECS shows no service deployment of \(previous.arnResourceName) after UpdateService")
        }
        await setFacts(c.id, "ECS deploys \(previous.arnResourceName) again (\(restore.arnResourceName))") { $0.restoreDeployment = restore }
        return try await followRestore(c, request, arn: restore)
    }

    private func followRestore(_ c: StageContext, _ request: DeploymentRequest, arn: String) async throws -> StageResult {
        let end = try await awaitServiceDeployment(c, request, arn: arn, deadline: c.deadline, forward: false)
        guard end.status == "SUCCESSFUL" else {
            throw StageError("ECS's deployment of the previous revision \(arn.arnResourceName) ended \(end.status): \(Self.reason(end))")
        }
        return "the previous revision is back (ECS's deployment \(arn.arnResourceName))"
    }

    /// Polls the service deployment until it has ended, reporting its lifecycle stage and
    /// traffic as progress. Going `forward`: our PAUSE hook waits for the deployment's approval
    /// (`approve_at`; the wait does not count against the deadline), and while production
    /// traffic moves and ECS bakes, the metric templates (`analysis`) and the health check
    /// (`health_check_url`) are judged as in any bake: a failure fails the stage, and the
    /// rollback asks ECS to roll back.
    private func awaitServiceDeployment(_ c: StageContext, _ request: DeploymentRequest, arn: String, deadline: Date,
                                        forward: Bool) async throws -> ServiceDeploymentDetail {
        var deadline = deadline
        var lastReport = ""
        var watch = forward ? TrafficWatch(runner: self) : nil
        while true {
            guard let d = try await cloud.ecs.describeServiceDeployments(arns: [arn]).first else {
                throw StageError("ECS's service deployment \(arn.arnResourceName) was not found")
            }
            if d.status == "IN_PROGRESS", ["PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"].contains(d.lifecycleStage ?? "") {
                try await watch?.check(c, request)
            }
            let report = Self.report(d) + (watch?.summary ?? "")
            if report != lastReport {
                lastReport = report
                await progress(c, report, fraction: Self.fraction(d))
            }
            if d.isFinished {
                await engine.endHookPause(c.id, "ECS's deployment ended \(d.status)")
                return d
            }
            // ECS waits at a PAUSE hook (ours, or one of the service's own that someone else
            // continues); its own time-out bounds the wait, not ours.
            if let hook = d.awaitingHook {
                let paused = clock.now()
                if forward, settings.approveAt != nil, try await approvedAtHook(c, hook: hook, stage: d.lifecycleStage ?? "") {
                    try await settled(arn, unless: { $0.awaitingHook?.hookId != hook.hookId }) {
                        try await cloud.ecs.continueServiceDeployment(arn: arn, hookId: hook.hookId, action: "CONTINUE")
                    }
                    await engine.endHookPause(c.id, "approved: ECS goes on")
                    continue
                }
                try await clock.sleep(for: Self.pauseToNextTick(now: paused, interval: settings.pollInterval))
                deadline = deadline.addingTimeInterval(clock.now().timeIntervalSince(paused))
                continue
            }
            try await pollPause(until: deadline, waitingFor: "ECS's deployment \(arn.arnResourceName) (\(report))")
        }
    }

    /// What is judged while ECS moves production traffic and bakes: the metric templates, each
    /// when due from the first look (`initial_delay`, then every `interval`), and the health
    /// check every `health_check_interval`. An inconclusive measurement cannot pause ECS (it
    /// holds only at its hooks): it counts as a failure.
    struct TrafficWatch {
        let runner: DeploymentRunner
        var analyses: [AnalysisRun] = []
        var started = false
        var nextProbe: Date?

        init(runner: DeploymentRunner) { self.runner = runner }

        mutating func check(_ c: StageContext, _ request: DeploymentRequest) async throws {
            let now = runner.clock.now()
            if !started {
                started = true
                analyses = runner.settings.analysis.compactMap { runner.env.analysisTemplates[$0] }.map { AnalysisRun($0, bakeStart: now) }
            }
            let facts = try await runner.facts(c.id)
            for i in analyses.indices where now >= analyses[i].nextAt {
                do {
                    try await analyses[i].measure(MetricSources(prometheus: runner.env.metrics, cloudWatch: runner.cloud.cloudWatch),
                                                  placeholders: DeploymentRunner.placeholders(request, facts), now: now)
                } catch let failure as AnalysisFailure where failure.inconclusive {
                    throw AnalysisFailure("\(failure.description) (ECS cannot be held here, so it counts as a failure)")
                }
                await runner.engine.mutate(c.id, event: .analysisMeasured, message: analyses[i].lastMeasurement, durable: false) { _ in }
            }
            if let url = runner.settings.healthCheckURL, now >= (nextProbe ?? now) {
                try await runner.probe(url)
                nextProbe = now.adding(runner.settings.healthCheckInterval)
            }
        }

        var summary: String {
            let measured = analyses.map(\.last).filter { !$0.isEmpty }
            return measured.isEmpty ? "" : "; analysis: " + measured.joined(separator: ", ")
        }
    }

    /// Runs a call that changes the service deployment; when ECS refuses it, the deployment is
    /// read again, and a refusal because the change was already made (a retried call whose
    /// first attempt went through, a deployment that moved on meanwhile: `done`) is no error.
    private func settled(_ arn: String, unless done: (ServiceDeploymentDetail) -> Bool, _ call: () async throws -> Void) async throws {
        do {
            try await call()
        } catch let error as CloudError where !error.isRetryable {
            guard let now = try await cloud.ecs.describeServiceDeployments(arns: [arn]).first, done(now) else { throw error }
        }
    }

    /// Whether the deployment's approvers have let it past `hook` (the pause is recorded, and
    /// announced, the first time it is seen).
    private func approvedAtHook(_ c: StageContext, hook: LifecycleHookDetail, stage: String) async throws -> Bool {
        guard let record = await engine.record(c.id) else { throw CancellationError() }
        if let pause = record.hookPause, pause.hookId == hook.hookId { return pause.approved }
        await engine.pauseAtHook(c.id, stage: stage, hookId: hook.hookId,
                                 expires: hook.expiresAt.map { " (ECS rolls back at \($0.ISO8601Format()) without it)" } ?? "")
        await progress(c, "waiting for approval at \(stage): grpc-client -action approve -id \(c.id)", fraction: 0.5)
        return false
    }

    static func reason(_ d: ServiceDeploymentDetail) -> String {
        d.rollback?.reason ?? d.statusReason ?? d.status
    }

    /// "PRODUCTION_TRAFFIC_SHIFT: 10% of production traffic on the new revision, 3/3 tasks running".
    static func report(_ d: ServiceDeploymentDetail) -> String {
        var parts = ["\(d.status) \(d.lifecycleStage ?? "")".trimmingCharacters(in: .whitespaces)]
        if let target = d.targetServiceRevision {
            if let weight = target.requestedProductionTrafficWeight {
                parts.append("\(String(format: "%g", weight))% of production traffic on the new revision")
            }
            parts.append("\(target.runningTaskCount)/\(target.requestedTaskCount) new tasks running")
        }
        if let breaker = d.circuitBreaker, breaker.failureCount ?? 0 > 0 {
            parts.append("circuit breaker \(breaker.failureCount ?? 0)/\(breaker.threshold ?? 0) \(breaker.status)")
        }
        if let triggered = d.alarms?.triggeredAlarmNames, !triggered.isEmpty { parts.append("alarms \(triggered.joined(separator: ", "))") }
        if let hook = d.awaitingHook { parts.append("waiting at hook \(hook.hookId)") }
        return parts.joined(separator: "; ")
    }

    /// Progress through ECS's lifecycle stages.
    static func fraction(_ d: ServiceDeploymentDetail) -> Double {
        let order = ServiceDeploymentDetail.lifecycleStages
        guard let stage = d.lifecycleStage, let i = order.firstIndex(of: stage) else { return 0 }
        return Double(i) / Double(order.count)
    }
}
