import CloudModel
import Foundation

/// ECS's own blue/green, linear and canary (`deploymentConfiguration.strategy`), played like
/// the rest of a service's timeline: a service deployment moves through its lifecycle stages
/// when its tasks change, when a bake or a linear step ends, when a PAUSE hook is continued or
/// times out, and when it is read (its alarms are evaluated then, as DescribeAlarms does).
extension SimulatorState {
    // MARK: starting

    /// UpdateService asked for a new revision of a service whose strategy ECS runs itself.
    mutating func startNativeDeployment(_ svc: ServiceRecord, taskDefinition target: String, now t: Date) throws {
        guard let advanced = svc.advancedLoadBalancer, let config = advanced.advancedConfiguration else {
            throw CloudError(code: CloudError.invalidParameter,
                             message: "The \(svc.configuration.strategy?.rawValue ?? "") deployment strategy requires a load balancer "
                                 + "with advancedConfiguration (alternateTargetGroupArn, productionListenerRule).")
        }
        if let running = svc.currentNativeIndex {
            if svc.serviceDeployments![running].stage == "CLEAN_UP" {
                // All traffic is on it and the old tasks are going: it ends as it was about to.
                finishNative(svc, running)
            } else {
                // A newer deployment replaces one that has not ended: its traffic goes back first.
                beginNativeRollback(svc, running, reason: "Service deployment stopped: a newer deployment started.", at: t)
                svc.serviceDeployments![running].status = "STOPPED"
                svc.serviceDeployments![running].stoppedAt = t
            }
        }
        guard let p = svc.primaryIndex else { return }
        let source = svc.deployments[p]
        let production = svc.productionTargetGroup ?? advanced.targetGroupArn
        let alternate = production == advanced.targetGroupArn ? config.alternateTargetGroupArn : advanced.targetGroupArn
        let sourceRevision = revision(of: svc, taskDefinition: source.taskDefinition, targetGroup: production, at: source.createdAt)
        let targetRevision = revision(of: svc, taskDefinition: target, targetGroup: alternate, at: t, new: true)
        svc.deployments[p].status = "ACTIVE"
        svc.deployments[p].updatedAt = t
        let id = ids.deploymentID()
        svc.deployments.append(DeploymentRecord(id: id, taskDefinition: target, reason: "ECS deployment \(id) in progress.", at: t))
        let record = NativeDeploymentRecord(
            arn: ARN.serviceDeployment(cluster: svc.cluster, service: svc.name, id: ids.hex(22)), deploymentID: id,
            sourceDeploymentID: source.id, targetRevisionArn: targetRevision, sourceRevisionArn: sourceRevision,
            sourceTargetGroup: production, targetTargetGroup: alternate, productionRule: config.productionListenerRule,
            testRule: config.testListenerRule, configuration: svc.configuration, at: t)
        svc.serviceDeployments = Array(((svc.serviceDeployments ?? []) + [record]).suffix(25))
        targetGroupServices[alternate, default: []].insert(svc.key)
    }

    /// The ARN of the service's revision of `taskDefinition` (a new one when `new`).
    private mutating func revision(of svc: ServiceRecord, taskDefinition: String, targetGroup: String, at t: Date, new: Bool = false) -> String {
        if !new, let known = svc.revisions?.last(where: { $0.taskDefinition == taskDefinition }) { return known.arn }
        let record = ServiceRevisionRecord(arn: ARN.serviceRevision(cluster: svc.cluster, service: svc.name, id: ids.digits(19)),
                                           taskDefinition: taskDefinition, targetGroup: targetGroup, createdAt: t)
        svc.revisions = Array(((svc.revisions ?? []) + [record]).suffix(50))
        return record.arn
    }

    // MARK: the controller

    /// Runs the controller for a service deployment moving forward; false when there is none
    /// (the rolling controller runs instead).
    mutating func reconcileNative(_ svc: ServiceRecord) -> Bool {
        guard let k = svc.currentNativeIndex else { return false }
        if svc.serviceDeployments![k].isRollingBack {
            finishRollbackIfDone(svc, k)
            return false
        }
        let t = svc.evaluatedAt
        let id = svc.serviceDeployments![k].deploymentID
        // The target revision starts its full count beside the source, which keeps serving.
        let live = svc.liveTasks(of: id)
        if live.count > svc.desiredCount {
            for i in live.suffix(live.count - svc.desiredCount) {
                svc.tasks[i].stop(at: t, reason: "Scaling activity initiated by (deployment \(id))", settings: settings)
            }
        } else if !svc.serviceDeployments![k].breakerTripped, let definition = svc.deployments.first(where: { $0.id == id })?.taskDefinition {
            for _ in live.count..<svc.desiredCount {
                launchTask(in: svc, owner: id, taskDefinition: definition, targets: svc.targets(forDeployment: id), at: t)
            }
        }
        progressNative(svc, k)
        // Deployments replaced before this one are gone once their tasks are.
        let keep = [id, svc.serviceDeployments![k].sourceDeploymentID]
        svc.deployments.removeAll { d in
            !keep.contains(d.id) && !d.isPrimary && !svc.tasks.contains { $0.owner == d.id && !$0.isStopped(at: t) }
        }
        return true
    }

    /// Moves the deployment through every stage whose work is done by `svc.evaluatedAt`.
    private mutating func progressNative(_ svc: ServiceRecord, _ k: Int) {
        let t = svc.evaluatedAt
        for _ in 0..<(NativeDeploymentRecord.sequence.count * 4) {
            var d = svc.serviceDeployments![k]
            guard d.isAdvancing else { return }
            if d.status == "PENDING" {
                d.status = "IN_PROGRESS"
                d.startedAt = t
                d.updatedAt = t
                svc.serviceDeployments![k] = d
                continue
            }
            guard stageWorkDone(svc, k) else { return }
            d = svc.serviceDeployments![k]
            // Then its hooks.
            switch hooksState(svc, k) {
            case .waiting: return
            case .rollback(let reason):
                beginNativeRollback(svc, k, reason: reason, at: t)
                return
            case .done: break
            }
            d = svc.serviceDeployments![k]
            guard let i = NativeDeploymentRecord.sequence.firstIndex(of: d.stage), i + 1 < NativeDeploymentRecord.sequence.count else {
                finishNative(svc, k)
                return
            }
            d.stage = NativeDeploymentRecord.sequence[i + 1]
            d.stepAt = nil
            d.updatedAt = t
            svc.serviceDeployments![k] = d
            enterStage(svc, k)
        }
    }

    /// What a stage does when it begins.
    private mutating func enterStage(_ svc: ServiceRecord, _ k: Int) {
        let t = svc.evaluatedAt
        var d = svc.serviceDeployments![k]
        let config = d.configuration
        switch d.stage {
        case "TEST_TRAFFIC_SHIFT":
            d.testWeight = 100
            if let rule = d.testRule { shiftTraffic(svc, rule: rule, d, weight: 100, at: t) }
        case "PRODUCTION_TRAFFIC_SHIFT":
            let first: Double
            var bake: Int
            switch config.strategy ?? .blueGreen {
            case .canary:
                first = config.canaryConfiguration?.canaryPercent ?? 5
                bake = config.canaryConfiguration?.canaryBakeTimeInMinutes ?? 10
            case .linear:
                first = config.linearConfiguration?.stepPercent ?? 10
                bake = config.linearConfiguration?.stepBakeTimeInMinutes ?? 6
            case .blueGreen, .rolling:
                first = 100
                bake = 0
            }
            if first >= 100 { bake = 0 }
            d.productionWeight = bake == 0 ? 100 : first
            d.stepAt = d.productionWeight < 100 ? t.addingTimeInterval(Double(bake) * 60) : nil
            shiftTraffic(svc, rule: d.productionRule, d, weight: d.productionWeight, at: t)
        case "BAKE_TIME":
            d.stepAt = t.addingTimeInterval(Double(config.bakeTimeInMinutes ?? 0) * 60)
        case "CLEAN_UP":
            // The source revision's tasks stop; production stays on the target's group.
            if let source = d.sourceDeploymentID {
                for i in svc.liveTasks(of: source) {
                    svc.tasks[i].stop(at: t, reason: "Scaling activity initiated by (deployment \(d.deploymentID))", settings: settings)
                }
            }
            svc.productionTargetGroup = d.targetTargetGroup
        default:
            break
        }
        svc.serviceDeployments![k] = d
    }

    /// Whether the current stage's own work is done (a timed step moves on here).
    private mutating func stageWorkDone(_ svc: ServiceRecord, _ k: Int) -> Bool {
        let t = svc.evaluatedAt
        var d = svc.serviceDeployments![k]
        switch d.stage {
        case "SCALE_UP":
            let own = svc.liveTasks(of: d.deploymentID)
            return own.count == svc.desiredCount && own.allSatisfy { svc.tasks[$0].isHealthyRunning(at: t) }
        case "PRODUCTION_TRAFFIC_SHIFT":
            guard d.productionWeight < 100 else { return true }
            guard let step = d.stepAt, t >= step else { return false }
            let config = d.configuration
            if config.strategy == .linear {
                d.productionWeight = min(100, d.productionWeight + (config.linearConfiguration?.stepPercent ?? 10))
                let bake = Double(config.linearConfiguration?.stepBakeTimeInMinutes ?? 6) * 60
                d.stepAt = d.productionWeight < 100 ? t.addingTimeInterval(bake) : nil
            } else {
                d.productionWeight = 100
                d.stepAt = nil
            }
            d.updatedAt = t
            svc.serviceDeployments![k] = d
            shiftTraffic(svc, rule: d.productionRule, d, weight: d.productionWeight, at: t)
            return d.productionWeight >= 100
        case "BAKE_TIME":
            return d.stepAt.map { t >= $0 } ?? true
        case "CLEAN_UP":
            return !svc.tasks.contains { $0.owner == d.sourceDeploymentID && !$0.isStopped(at: t) }
        default:
            return true
        }
    }

    private enum HooksState { case done, waiting, rollback(String) }

    /// The hooks of the current stage: reached now (a PAUSE hook waits for
    /// ContinueServiceDeployment; the simulator calls no Lambda function, so an AWS_LAMBDA
    /// hook succeeds at once), waiting, or ended.
    private mutating func hooksState(_ svc: ServiceRecord, _ k: Int) -> HooksState {
        let t = svc.evaluatedAt
        var d = svc.serviceDeployments![k]
        let wanted = (d.configuration.lifecycleHooks ?? []).filter { $0.lifecycleStages.contains(d.stage) }
        guard !wanted.isEmpty else { return .done }
        if !d.hooks.contains(where: { $0.stage == d.stage }) {
            for hook in wanted {
                let pause = hook.targetType == "PAUSE"
                d.hooks.append(NativeHookRecord(
                    id: ids.hex(32), stage: d.stage, targetType: hook.targetType ?? "AWS_LAMBDA", targetArn: hook.hookTargetArn,
                    status: pause ? "AWAITING_ACTION" : "SUCCEEDED",
                    expiresAt: pause ? t.addingTimeInterval(Double(hook.timeoutInMinutes ?? 60) * 60) : nil,
                    timeoutAction: hook.timeoutAction ?? "ROLLBACK"))
            }
            d.updatedAt = t
        }
        var state = HooksState.done
        for h in d.hooks.indices where d.hooks[h].stage == d.stage {
            switch d.hooks[h].status {
            case "AWAITING_ACTION":
                if let expires = d.hooks[h].expiresAt, t >= expires {
                    d.hooks[h].status = "TIMED_OUT"
                    if d.hooks[h].timeoutAction != "CONTINUE" {
                        state = .rollback("Lifecycle hook \(d.hooks[h].id) at \(d.stage) timed out.")
                    }
                } else if case .done = state {
                    state = .waiting
                }
            case "FAILED":
                state = .rollback("Lifecycle hook \(d.hooks[h].id) at \(d.stage) failed.")
            default:
                break
            }
        }
        svc.serviceDeployments![k] = d
        return state
    }

    /// CLEAN_UP is over (the source revision's tasks have stopped): SUCCESSFUL.
    private mutating func finishNative(_ svc: ServiceRecord, _ k: Int) {
        let t = svc.evaluatedAt
        var d = svc.serviceDeployments![k]
        svc.deployments.removeAll { $0.id == d.sourceDeploymentID }
        d.status = "SUCCESSFUL"
        d.statusReason = "Service deployment completed successfully."
        d.finishedAt = t
        d.updatedAt = t
        svc.serviceDeployments![k] = d
        if let p = svc.deployments.firstIndex(where: { $0.id == d.deploymentID }) {
            svc.deployments[p].rolloutState = "COMPLETED"
            svc.deployments[p].rolloutStateReason = "ECS deployment \(d.deploymentID) completed."
            svc.deployments[p].updatedAt = t
            svc.lastCompleted = .init(taskDefinition: svc.deployments[p].taskDefinition, deploymentID: d.deploymentID)
        }
    }

    // MARK: rolling back

    /// Production and test traffic go back to the source revision at once (its tasks still
    /// run), the source becomes PRIMARY again, and the target's tasks stop; ROLLBACK_SUCCESSFUL
    /// once they have. Not in CLEAN_UP: the source's tasks are stopping by then, so nothing is
    /// left to move the traffic back to (`canRollBack`).
    mutating func beginNativeRollback(_ svc: ServiceRecord, _ k: Int, reason: String, at t: Date) {
        var d = svc.serviceDeployments![k]
        guard d.canRollBack else { return }
        d.status = "ROLLBACK_IN_PROGRESS"
        d.statusReason = reason
        d.rollback = ServiceDeploymentRollback(reason: reason, startedAt: t, serviceRevisionArn: d.sourceRevisionArn)
        d.stepAt = nil
        d.updatedAt = t
        if d.productionWeight > 0 { shiftTraffic(svc, rule: d.productionRule, d, weight: 0, at: t) }
        if d.testWeight > 0, let rule = d.testRule { shiftTraffic(svc, rule: rule, d, weight: 0, at: t) }
        d.productionWeight = 0
        d.testWeight = 0
        svc.serviceDeployments![k] = d
        if let target = svc.deployments.firstIndex(where: { $0.id == d.deploymentID }) {
            svc.deployments[target].status = "ACTIVE"
            svc.deployments[target].rolloutState = "FAILED"
            svc.deployments[target].rolloutStateReason = reason
            svc.deployments[target].updatedAt = t
        }
        if let source = svc.deployments.firstIndex(where: { $0.id == d.sourceDeploymentID }) {
            svc.deployments[source].status = "PRIMARY"
            svc.deployments[source].updatedAt = t
        }
        for i in svc.liveTasks(of: d.deploymentID) {
            svc.tasks[i].stop(at: t, reason: "Service deployment rolled back: \(reason)", settings: settings)
        }
    }

    private func finishRollbackIfDone(_ svc: ServiceRecord, _ k: Int) {
        let t = svc.evaluatedAt
        let d = svc.serviceDeployments![k]
        guard !svc.tasks.contains(where: { $0.owner == d.deploymentID && !$0.isStopped(at: t) }) else { return }
        svc.serviceDeployments![k].status = "ROLLBACK_SUCCESSFUL"
        svc.serviceDeployments![k].finishedAt = t
        svc.serviceDeployments![k].updatedAt = t
    }

    /// A task of the target revision failed: the circuit breaker counts it, as ECS's does.
    /// Returns false when `owner` is not the target of a deployment in progress.
    mutating func recordNativeFailure(_ svc: ServiceRecord, owner: String) -> Bool {
        guard let k = svc.currentNativeIndex, svc.serviceDeployments![k].isAdvancing,
              svc.serviceDeployments![k].deploymentID == owner else { return false }
        let t = svc.evaluatedAt
        svc.serviceDeployments![k].breakerFailures += 1
        if let p = svc.deployments.firstIndex(where: { $0.id == owner }) { svc.deployments[p].failedTasks += 1 }
        guard svc.serviceDeployments![k].canRollBack, let breaker = svc.serviceDeployments![k].configuration.circuitBreaker, breaker.enable,
              svc.serviceDeployments![k].breakerFailures >= Self.breakerThreshold(svc.desiredCount) else { return true }
        svc.serviceDeployments![k].breakerTripped = true
        let reason = "Circuit breaker triggered: \(svc.serviceDeployments![k].breakerFailures) tasks of the new revision failed."
        if breaker.rollback {
            beginNativeRollback(svc, k, reason: reason, at: t)
        } else {
            svc.serviceDeployments![k].status = "STOPPED"
            svc.serviceDeployments![k].statusReason = reason
            svc.serviceDeployments![k].stoppedAt = t
            svc.serviceDeployments![k].updatedAt = t
        }
        return true
    }

    /// ECS's circuit breaker threshold: half the desired count, at least 3 and at most 200.
    static func breakerThreshold(_ desired: Int) -> Int { max(3, min(200, Int((Double(desired) / 2).rounded(.up)))) }

    // MARK: traffic

    /// ECS moves `weight` percent of a listener rule's traffic to the target revision's group.
    private mutating func shiftTraffic(_ svc: ServiceRecord, rule ruleArn: String, _ d: NativeDeploymentRecord, weight: Double, at t: Date) {
        let target = Int(weight.rounded())
        let groups = [WeightedTargetGroup(targetGroupArn: d.sourceTargetGroup, weight: 100 - target),
                      WeightedTargetGroup(targetGroupArn: d.targetTargetGroup, weight: target)]
        let actions = [ListenerAction.forward(groups)]
        if var rule = rules[ruleArn] {
            rule.actions = actions
            rules[ruleArn] = rule
        } else if let listenerArn = listeners.first(where: { $0.value.defaultRuleArn == ruleArn || $0.key == ruleArn })?.key {
            listeners[listenerArn]?.listener.defaultActions = actions
        } else {
            return
        }
        weightChanges.append(WeightChange(time: t, resourceArn: ruleArn, weights: groups))
        // The service is in the middle of its own timeline: judged as it is, not played on.
        for group in groups where group.weight > 0 && !svc.serves(targetGroup: group.targetGroupArn) {
            trafficViolations.append("\(t.ISO8601Format()) after ECS's traffic shift: target group \(group.targetGroupArn) has weight "
                + "\(group.weight) in \(ruleArn) but no live task behind it")
        }
    }

    // MARK: the API

    /// Newest first.
    mutating func listServiceDeployments(cluster: String, service name: String, now: Date) throws -> [ServiceDeploymentBrief] {
        let svc = try service(cluster: cluster, name, now: now)
        return (svc.serviceDeployments ?? []).reversed().map { d in
            ServiceDeploymentBrief(serviceDeploymentArn: d.arn, status: d.status, statusReason: d.statusReason,
                                   targetServiceRevisionArn: d.targetRevisionArn, createdAt: d.createdAt, finishedAt: d.finishedAt)
        }
    }

    mutating func describeServiceDeployments(arns: [String], now: Date) throws -> [ServiceDeploymentDetail] {
        guard arns.count <= 20 else {
            throw CloudError(code: CloudError.invalidParameter, message: "serviceDeploymentArns can have at most 20 items.")
        }
        var found: [ServiceDeploymentDetail] = []
        for arn in arns {
            guard let (svc, k) = nativeDeployment(arn, now: now) else { continue }
            checkAlarms(svc, k, now: now)
            found.append(snapshot(svc, svc.serviceDeployments![k], at: now))
        }
        return found
    }

    mutating func describeServiceRevisions(arns: [String]) throws -> [ServiceRevision] {
        guard arns.count <= 20 else {
            throw CloudError(code: CloudError.invalidParameter, message: "serviceRevisionArns can have at most 20 items.")
        }
        return arns.compactMap { arn in
            guard let svc = owner(of: arn, kind: "service-revision"),
                  let revision = svc.revisions?.first(where: { $0.arn == arn }) else { return nil }
            return ServiceRevision(serviceRevisionArn: arn, serviceArn: svc.arn, taskDefinition: revision.taskDefinition,
                                   loadBalancers: svc.loadBalancers, resolvedTargetGroups: revision.targetGroup.map { [$0] } ?? [],
                                   createdAt: revision.createdAt)
        }
    }

    mutating func continueServiceDeployment(arn: String, hookId: String, action: String, now: Date) throws {
        guard ["CONTINUE", "ROLLBACK"].contains(action) else {
            throw CloudError(code: CloudError.invalidParameter, message: "action must be CONTINUE or ROLLBACK.")
        }
        guard let (svc, k) = nativeDeployment(arn, now: now) else { throw Self.serviceDeploymentNotFound }
        guard svc.serviceDeployments![k].isAdvancing,
              let h = svc.serviceDeployments![k].hooks.firstIndex(where: { $0.id == hookId && $0.status == "AWAITING_ACTION" }) else {
            throw CloudError(code: CloudError.invalidParameter, message: "The lifecycle hook \(hookId.prefix(64)) is not awaiting action.")
        }
        svc.serviceDeployments![k].hooks[h].status = action == "CONTINUE" ? "SUCCEEDED" : "FAILED"
        svc.serviceDeployments![k].updatedAt = now
        reconcile(svc)
    }

    mutating func stopServiceDeployment(arn: String, stopType: String, now: Date) throws {
        guard ["ROLLBACK", "ABORT"].contains(stopType) else {
            throw CloudError(code: CloudError.invalidParameter, message: "stopType must be ROLLBACK or ABORT.")
        }
        guard let (svc, k) = nativeDeployment(arn, now: now) else { throw Self.serviceDeploymentNotFound }
        guard svc.serviceDeployments![k].isAdvancing else {
            throw CloudError(code: "ConflictException",
                             message: "The service deployment is \(svc.serviceDeployments![k].status) and cannot be stopped.")
        }
        guard svc.serviceDeployments![k].canRollBack else {
            throw CloudError(code: "ConflictException",
                             message: "The service deployment is in CLEAN_UP, removing the previous revision, and cannot be stopped.")
        }
        if stopType == "ROLLBACK" {
            beginNativeRollback(svc, k, reason: "Service deployment rolled back because of a StopServiceDeployment request.", at: now)
        } else {
            svc.serviceDeployments![k].status = "STOPPED"
            svc.serviceDeployments![k].statusReason = "Service deployment stopped because of a StopServiceDeployment request."
            svc.serviceDeployments![k].stoppedAt = now
            svc.serviceDeployments![k].updatedAt = now
        }
        reconcile(svc)
    }

    /// The service a service deployment or revision ARN names (…:<kind>/<cluster>/<service>/<id>).
    private func owner(of arn: String, kind: String) -> ServiceRecord? {
        guard let range = arn.range(of: ":\(kind)/") else { return nil }
        let parts = arn[range.upperBound...].split(separator: "/").map(String.init)
        guard parts.count == 3 else { return nil }
        return services[ServiceRecord.key(cluster: parts[0], name: parts[1])]
    }

    private mutating func nativeDeployment(_ arn: String, now: Date) -> (ServiceRecord, Int)? {
        guard let svc = owner(of: arn, kind: "service-deployment") else { return nil }
        advance(svc, to: now)
        guard let k = svc.serviceDeployments?.firstIndex(where: { $0.arn == arn }) else { return nil }
        return (svc, k)
    }

    /// Alarm-based rollback: an alarm of `deploymentConfiguration.alarms` in ALARM once traffic
    /// has begun to move rolls the deployment back (when `rollback` is set).
    private mutating func checkAlarms(_ svc: ServiceRecord, _ k: Int, now: Date) {
        let d = svc.serviceDeployments![k]
        guard d.isAdvancing, let alarms = d.configuration.alarms, alarms.enable, !alarms.alarmNames.isEmpty,
              ["PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"].contains(d.stage) else { return }
        let simulated = Dictionary(settings.metricAlarms.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var triggered: [String] = []
        for name in alarms.alarmNames {
            let state = simulated[name].flatMap { try? evaluate($0, now: now).state } ?? self.alarms?[name]?.state
            if state == .alarm { triggered.append(name) }
        }
        guard !triggered.isEmpty else { return }
        svc.serviceDeployments![k].triggeredAlarms = triggered
        createdOnRead = true
        if alarms.rollback {
            beginNativeRollback(svc, k, reason: "Alarm(s) \(triggered.joined(separator: ", ")) in ALARM.", at: now)
        }
    }

    private func snapshot(_ svc: ServiceRecord, _ d: NativeDeploymentRecord, at t: Date) -> ServiceDeploymentDetail {
        func summary(_ revision: String, owner: String?, production: Double, test: Double, requested: Int) -> ServiceRevisionSummary {
            var running = 0, pending = 0
            for task in svc.tasks where task.owner == owner {
                switch task.lastStatus(at: t) {
                case "RUNNING": running += 1
                case "PROVISIONING", "PENDING": pending += 1
                default: break
                }
            }
            return ServiceRevisionSummary(arn: revision, requestedTaskCount: requested, runningTaskCount: running, pendingTaskCount: pending,
                                          requestedTestTrafficWeight: test, requestedProductionTrafficWeight: production)
        }
        let ended = !d.isAdvancing
        let succeeded = d.status == "SUCCESSFUL"
        let target = summary(d.targetRevisionArn, owner: d.deploymentID, production: succeeded ? 100 : d.productionWeight,
                             test: succeeded ? 100 : d.testWeight, requested: (ended && !succeeded) ? 0 : svc.desiredCount)
        let sources = d.sourceRevisionArn.map {
            [summary($0, owner: d.sourceDeploymentID, production: succeeded ? 0 : 100 - d.productionWeight,
                     test: succeeded ? 0 : 100 - d.testWeight, requested: succeeded ? 0 : svc.desiredCount)]
        } ?? []
        let breaker = d.configuration.circuitBreaker
        let breakerMonitor = RollbackMonitor(
            status: breaker?.enable == true ? (d.breakerTripped ? "TRIGGERED" : ended ? "MONITORING_COMPLETE" : "MONITORING") : "DISABLED",
            failureCount: d.breakerFailures, threshold: Self.breakerThreshold(svc.desiredCount))
        let alarms = d.configuration.alarms
        let alarmMonitor = RollbackMonitor(
            status: alarms?.enable == true ? (d.triggeredAlarms != nil ? "TRIGGERED" : ended ? "MONITORING_COMPLETE" : "MONITORING") : "DISABLED",
            triggeredAlarmNames: d.triggeredAlarms)
        return ServiceDeploymentDetail(
            serviceDeploymentArn: d.arn, serviceArn: svc.arn, clusterArn: svc.clusterArn, status: d.status, statusReason: d.statusReason,
            lifecycleStage: d.shownStage, sourceServiceRevisions: sources, targetServiceRevision: target,
            lifecycleHookDetails: d.hooks.map {
                LifecycleHookDetail(hookId: $0.id, targetType: $0.targetType, targetArn: $0.targetArn, status: $0.status,
                                    expiresAt: $0.expiresAt, timeoutAction: $0.timeoutAction)
            },
            deploymentConfiguration: d.configuration, rollback: d.rollback, circuitBreaker: breakerMonitor, alarms: alarmMonitor,
            createdAt: d.createdAt, startedAt: d.startedAt, finishedAt: d.finishedAt, stoppedAt: d.stoppedAt, updatedAt: d.updatedAt)
    }

    static var serviceDeploymentNotFound: CloudError {
        CloudError(code: "ServiceDeploymentNotFoundException", message: "The service deployment does not exist.")
    }
}
