import CloudModel
import Foundation

/// Bake stages: hold for a while, watching the new task set, its targets, the CloudWatch alarms
/// (`alarms`), the metric templates (`analysis`) and the optional custom HTTP health check;
/// the first sign of trouble fails the stage.
extension DeploymentRunner {
    func bake(_ c: StageContext, _ request: DeploymentRequest, seconds: Double) async throws -> StageResult {
        let start = clock.now()
        var end = start.addingTimeInterval(seconds)
        var paused = 0.0
        var nextProbe = start
        var checks = 0
        var analyses = settings.analysis.compactMap { env.analysisTemplates[$0] }.map { AnalysisRun($0, bakeStart: start) }
        while true {
            let facts = try await facts(c.id)
            try await checkHealth(request, facts)
            try await checkAlarms(settings.alarms)
            for i in analyses.indices where clock.now() >= analyses[i].nextAt {
                do {
                    try await analyses[i].measure(MetricSources(prometheus: env.metrics, cloudWatch: cloud.cloudWatch),
                                                  placeholders: Self.placeholders(request, facts), now: clock.now())
                    // Recorded on the stage: the value, the verdict, the query.
                    await engine.mutate(c.id, event: .analysisMeasured, message: analyses[i].lastMeasurement, durable: false) { _ in }
                } catch let failure as AnalysisFailure where failure.inconclusive && analyses[i].template.pausesWhenInconclusive {
                    // The bake's time stands still while it waits for a person.
                    let waited = try await waitWhilePaused(c, request, failure, template: analyses[i].template.name)
                    paused += waited
                    end = end.addingTimeInterval(waited)
                }
            }
            if let url = settings.healthCheckURL, clock.now() >= nextProbe {
                try await probe(url)
                nextProbe = clock.now().adding(settings.healthCheckInterval)
            }
            checks += 1
            let now = clock.now()
            if now >= end { break }
            let elapsed = now.timeIntervalSince(start) - paused
            let measured = analyses.map(\.last).filter { !$0.isEmpty }
            await progress(c, "healthy for \(GoDuration.format(.seconds(elapsed))) of \(GoDuration.format(.seconds(seconds)))"
                + (measured.isEmpty ? "" : "; analysis: " + measured.joined(separator: ", ")),
                           fraction: seconds > 0 ? elapsed / seconds : 1)
            try await clock.sleep(for: min(settings.pollInterval, .seconds(end.timeIntervalSince(now))))
        }
        let judged = analyses.map { "\($0.template.name) \($0.measured - $0.failed)/\($0.measured) ok" }
        return StageResult("healthy for \(GoDuration.format(.seconds(seconds))) (\(checks) checks"
            + (judged.isEmpty ? ")" : "; analysis: \(judged.joined(separator: ", ")))"))
    }

    /// An inconclusive analysis with `inconclusive: pause`: the bake waits until someone
    /// approves (the deployment's approve), still watching the health and the alarms; a
    /// rollback, a rejection, trouble, or `approval_timeout` (else the deployment's `timeout`)
    /// without a decision ends it. Answers how long it waited.
    private func waitWhilePaused(_ c: StageContext, _ request: DeploymentRequest, _ failure: AnalysisFailure,
                                 template: String) async throws -> TimeInterval {
        let since = clock.now()
        let limit = settings.approvalTimeout ?? settings.timeout
        await engine.pauseAnalysis(c.id, template: template, reason: failure.description)
        await progress(c, "paused: \(failure.description); approve to go on", fraction: 0)
        do {
            while await engine.isAnalysisPaused(c.id) {
                try await checkHealth(request, try await facts(c.id))
                try await checkAlarms(settings.alarms)
                if clock.now().timeIntervalSince(since) >= limit.seconds {
                    throw StageError("\(failure.description); paused \(GoDuration.format(limit)) without a decision")
                }
                try await clock.sleep(for: min(settings.pollInterval, .seconds(max(0.001, limit.seconds - clock.now().timeIntervalSince(since)))))
            }
        } catch {
            await engine.endAnalysisPause(c.id, error is CancellationError ? "the bake was stopped" : "\(error)")
            throw error
        }
        return clock.now().timeIntervalSince(since)
    }

    /// What a template's `{{name}}` stands for in this deployment: target groups and the load
    /// balancer as CloudWatch's ELB dimensions name them (`targetgroup/NAME/ID`, `app/NAME/ID`).
    static func placeholders(_ request: DeploymentRequest, _ facts: DeploymentFacts) -> [String: String] {
        func suffix(_ arn: String?) -> String { arn.map { String($0.split(separator: ":").last ?? "") } ?? "" }
        return [
            "cluster": request.cluster.arnResourceName, "service": request.service.arnResourceName,
            "target_group": suffix(facts.newTargetGroup), "baseline_target_group": suffix(facts.previousTargetGroup),
            "load_balancer": facts.trafficTargets.lazy.compactMap(loadBalancerDimension).first ?? "",
            "task_set": facts.newTaskSet ?? "", "canary_weight": String(facts.trafficPercent ?? 0),
        ]
    }

    /// `app/NAME/ID` from a listener's or a rule's ARN (`...:listener/app/NAME/ID/LISTENER`,
    /// `...:listener-rule/app/NAME/ID/LISTENER/RULE`).
    static func loadBalancerDimension(_ arn: String) -> String? {
        let resource = suffixAfterColon(arn).split(separator: "/")
        guard resource.count >= 4, ["listener", "listener-rule"].contains(resource[0]) else { return nil }
        return resource[1...3].joined(separator: "/")
    }

    private static func suffixAfterColon(_ arn: String) -> String { String(arn.split(separator: ":").last ?? "") }

    /// The new task set is running all its tasks, none of its targets is unhealthy.
    private func checkHealth(_ request: DeploymentRequest, _ facts: DeploymentFacts) async throws {
        guard let id = facts.newTaskSet, let tg = facts.newTargetGroup else { return }
        let set = try await describeTaskSet(request, id)
        let targets = try await cloud.elb.describeTargetHealth(targetGroupArn: tg)
        switch TaskSetHealth.evaluate(set, targets: targets) {
        case .healthy: return
        case .unhealthy(let reason): throw StageError(reason)
        case .starting(let report, _): throw StageError("task set \(id) is no longer healthy: \(report)")
        }
    }

    /// Fails when one of the alarms is in ALARM, or is gone.
    func checkAlarms(_ names: [String]) async throws {
        guard !names.isEmpty else { return }
        let found = try await cloud.cloudWatch.describeAlarms(names: names)
        if let firing = found.first(where: { $0.state == .alarm }) {
            throw StageError("alarm \(firing.name) is in ALARM" + (firing.reason.isEmpty ? "" : ": \(firing.reason)"))
        }
        let missing = Set(names).subtracting(found.map(\.name))
        if !missing.isEmpty { throw StageError("alarm \(missing.sorted().joined(separator: ", ")) not found in CloudWatch") }
    }

    func probe(_ url: String) async throws {
        let status: Int
        let shown = CredentialRedaction.redact(url)
        do {
            status = try await env.probe.status(of: url, timeout: min(settings.healthCheckInterval, .seconds(30)))
        } catch {
            throw StageError("health check \(shown) failed: \(CredentialRedaction.redact("\(error)"))")
        }
        guard status == settings.healthCheckStatus else {
            throw StageError("health check \(shown) answered \(status), expected \(settings.healthCheckStatus)")
        }
    }
}
