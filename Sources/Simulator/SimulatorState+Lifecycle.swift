import CloudModel
import Foundation

/// Playing a service's timeline: from one task transition to the next, up to the present,
/// reconciling the deployment controller at each. Nothing ticks; a service nobody asks about
/// costs nothing.
extension SimulatorState {
    /// Brings `svc` to `now`.
    mutating func advance(_ svc: ServiceRecord, to now: Date) {
        // Guards against a loop that never moves time (all timings 0 and a failing image).
        var stepsAtSameInstant = 0
        while let next = svc.nextEvent(), next <= now {
            if next <= svc.evaluatedAt {
                stepsAtSameInstant += 1
                if stepsAtSameInstant > 10_000 { break }
            } else {
                stepsAtSameInstant = 0
                svc.evaluatedAt = next
            }
            applyDueFailures(svc)
            reconcile(svc)
            svc.archiveStopped()
            // A long jump over a crash loop would pile up stopped tasks: prune as we go.
            if svc.stoppedTasks.count > settings.stoppedTasksKept + 64 { pruneStoppedTasks(svc) }
        }
        if now > svc.evaluatedAt { svc.evaluatedAt = now }
        svc.archiveStopped()
        pruneStoppedTasks(svc)
    }

    /// Stops the tasks whose fault is due, counting them as failures of their deployment.
    private mutating func applyDueFailures(_ svc: ServiceRecord) {
        let t = svc.evaluatedAt
        for i in svc.tasks.indices {
            guard let reason = svc.tasks[i].dueFailure(at: t) else { continue }
            svc.tasks[i].stop(at: t, reason: reason, settings: settings)
            recordFailure(svc, owner: svc.tasks[i].owner)
        }
    }

    /// Runs the deployment controller once at `svc.evaluatedAt`.
    mutating func reconcile(_ svc: ServiceRecord) {
        switch svc.controller {
        case .ecs: reconcileDeployments(svc)
        case .external, .codeDeploy: reconcileTaskSets(svc)
        }
    }

    // MARK: ECS deployment controller

    /// maximumPercent / minimumHealthyPercent rolling update: the PRIMARY launches up to the
    /// maximum, ACTIVE tasks stop while enough healthy tasks remain.
    private mutating func reconcileDeployments(_ svc: ServiceRecord) {
        if reconcileNative(svc) { return }
        let t = svc.evaluatedAt
        guard let p = svc.primaryIndex else { return }
        let primary = svc.deployments[p].id
        let desired = svc.desiredCount
        let maxPercent = svc.configuration.maximumPercent ?? 200
        let minPercent = svc.configuration.minimumHealthyPercent ?? 100
        let maxTotal = max(desired, desired * maxPercent / 100)
        let minHealthy = Int((Double(desired * minPercent) / 100).rounded(.up))
        let scaling = "Scaling activity initiated by (deployment \(primary))"

        // The PRIMARY above its desired count gives up its least useful tasks.
        let primaryLive = svc.liveTasks(of: primary)
        for i in surplus(svc, primaryLive, keep: desired) { stopTask(svc, i, reason: scaling) }

        // Older deployments' tasks that serve nothing go at once; healthy ones while the
        // minimum healthy count holds.
        var healthy = 0
        for task in svc.tasks where task.isLive && task.isHealthyRunning(at: t) { healthy += 1 }
        for i in svc.tasks.indices where svc.tasks[i].isLive && svc.tasks[i].owner != primary {
            if !svc.tasks[i].isHealthyRunning(at: t) {
                stopTask(svc, i, reason: scaling)
            } else if healthy - 1 >= minHealthy {
                stopTask(svc, i, reason: scaling)
                healthy -= 1
            }
        }

        // The PRIMARY launches what it lacks, within the maximum.
        if svc.deployments[p].rolloutState != "FAILED" {
            var live = 0
            for task in svc.tasks where task.isLive { live += 1 }
            let launches = min(desired - svc.liveTasks(of: primary).count, maxTotal - live)
            if launches > 0 {
                let definition = svc.deployments[p].taskDefinition
                for _ in 0..<launches {
                    launchTask(in: svc, owner: primary, taskDefinition: definition, targets: svc.targets(forDeployment: primary), at: t)
                }
                svc.deployments[p].updatedAt = t
            }
        }

        // ACTIVE deployments without tasks are gone.
        svc.deployments.removeAll { d in
            !d.isPrimary && !svc.tasks.contains { $0.owner == d.id && !$0.isStopped(at: t) }
        }

        // COMPLETED: the only deployment, with every desired task running and healthy.
        guard let q = svc.primaryIndex, svc.deployments[q].rolloutState == "IN_PROGRESS",
              svc.deployments.count == 1 else { return }
        let own = svc.liveTasks(of: svc.deployments[q].id)
        if own.count == desired, own.allSatisfy({ svc.tasks[$0].isHealthyRunning(at: t) }) {
            svc.deployments[q].rolloutState = "COMPLETED"
            svc.deployments[q].rolloutStateReason = "ECS deployment \(svc.deployments[q].id) completed."
            svc.deployments[q].updatedAt = t
            svc.lastCompleted = .init(taskDefinition: svc.deployments[q].taskDefinition, deploymentID: svc.deployments[q].id)
        }
    }

    /// A failed task of the PRIMARY counts in `failedTasks`; enough of them trip the circuit
    /// breaker, which may roll back to the last COMPLETED deployment.
    private mutating func recordFailure(_ svc: ServiceRecord, owner: String) {
        let t = svc.evaluatedAt
        guard svc.controller == .ecs, !recordNativeFailure(svc, owner: owner),
              let p = svc.deployments.firstIndex(where: { $0.id == owner && $0.isPrimary }) else { return }
        svc.deployments[p].failedTasks += 1
        svc.deployments[p].updatedAt = t
        guard let breaker = svc.configuration.circuitBreaker, breaker.enable,
              svc.deployments[p].rolloutState == "IN_PROGRESS" else { return }
        let threshold = Self.breakerThreshold(svc.desiredCount)
        guard svc.deployments[p].failedTasks >= threshold else { return }
        svc.deployments[p].rolloutState = "FAILED"
        svc.deployments[p].rolloutStateReason =
            "ECS deployment circuit breaker: tasks failed to start. (\(svc.deployments[p].failedTasks) tasks failed)"
        guard breaker.rollback, !svc.deployments[p].isRollback, let target = svc.lastCompleted else { return }
        svc.deployments[p].status = "ACTIVE"
        let rollback = DeploymentRecord(
            id: ids.deploymentID(), taskDefinition: target.taskDefinition,
            reason: "ECS deployment circuit breaker: rolling back to deploymentId \(target.deploymentID).",
            at: t, isRollback: true)
        svc.deployments.append(rollback)
    }

    // MARK: EXTERNAL controller

    /// Each task set runs `ceil(desired * scale)` tasks; a DRAINING one runs none and goes
    /// away once its tasks have stopped.
    private mutating func reconcileTaskSets(_ svc: ServiceRecord) {
        let t = svc.evaluatedAt
        for k in svc.taskSets.indices {
            let set = svc.taskSets[k]
            let draining = set.status == "DRAINING"
            let wanted = draining ? 0 : set.scale.taskCount(of: svc.desiredCount)
            if wanted != set.computedDesiredCount {
                svc.taskSets[k].computedDesiredCount = wanted
                svc.taskSets[k].updatedAt = t
            }
            let live = svc.liveTasks(of: set.id)
            let reason = draining ? "Task set \(set.id) deleted" : "Scaling activity initiated by (deployment \(set.id))"
            for i in surplus(svc, live, keep: wanted) { stopTask(svc, i, reason: reason) }
            if live.count < wanted {
                for _ in live.count..<wanted {
                    launchTask(in: svc, owner: set.id, taskDefinition: set.taskDefinition,
                               targets: set.loadBalancers, at: t)
                }
                svc.taskSets[k].updatedAt = t
            }
        }
        svc.taskSets.removeAll { set in
            set.status == "DRAINING" && !svc.tasks.contains { $0.owner == set.id && !$0.isStopped(at: t) }
        }
        for k in svc.taskSets.indices {
            let own = svc.liveTasks(of: svc.taskSets[k].id)
            let steady = own.count == svc.taskSets[k].computedDesiredCount
                && own.allSatisfy { svc.tasks[$0].isHealthyRunning(at: t) }
                && !svc.tasks.contains { $0.owner == svc.taskSets[k].id && !$0.isLive && !$0.isStopped(at: t) }
            let status = steady ? "STEADY_STATE" : "STABILIZING"
            if svc.taskSets[k].stabilityStatus != status {
                svc.taskSets[k].stabilityStatus = status
                svc.taskSets[k].updatedAt = t
            }
        }
    }

    // MARK: helpers

    /// Which of `candidates` to stop so that `keep` remain: the least advanced first, then
    /// the newest.
    private func surplus(_ svc: ServiceRecord, _ candidates: [Int], keep: Int) -> [Int] {
        guard candidates.count > keep else { return [] }
        let t = svc.evaluatedAt
        let ordered = candidates.sorted { a, b in
            let ha = svc.tasks[a].isHealthyRunning(at: t), hb = svc.tasks[b].isHealthyRunning(at: t)
            if ha != hb { return !ha }
            return svc.tasks[a].createdAt > svc.tasks[b].createdAt
        }
        return Array(ordered.prefix(candidates.count - max(0, keep)))
    }

    private mutating func stopTask(_ svc: ServiceRecord, _ index: Int, reason: String) {
        svc.tasks[index].stop(at: svc.evaluatedAt, reason: reason, settings: settings)
    }

    /// Forgets STOPPED tasks past the retention time, and the oldest beyond the cap.
    private mutating func pruneStoppedTasks(_ svc: ServiceRecord) {
        let horizon = svc.evaluatedAt.addingTimeInterval(-settings.stoppedTaskRetention)
        var drop = 0
        for task in svc.stoppedTasks {
            guard svc.stoppedTasks.count - drop > settings.stoppedTasksKept || task.stoppedAt! < horizon else { break }
            taskOwners[task.id] = nil
            drop += 1
        }
        if drop > 0 { svc.stoppedTasks.removeFirst(drop) }
    }
}
