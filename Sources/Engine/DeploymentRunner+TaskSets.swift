import CloudModel
import Foundation

/// Stages for services with the EXTERNAL deployment controller (task sets).
extension DeploymentRunner {
    private func taskSetID(_ revision: Revision, _ facts: DeploymentFacts) throws -> String {
        let id = revision == .new ? facts.newTaskSet : facts.previousTaskSet
        guard let id else { throw StageError("no \(revision.rawValue) task set recorded") }
        return id
    }

    private func targetGroup(_ revision: Revision, _ facts: DeploymentFacts) throws -> String {
        let tg = revision == .new ? facts.newTargetGroup : facts.previousTargetGroup
        guard let tg else { throw StageError("no \(revision.rawValue) target group recorded") }
        return tg
    }

    func createTaskSet(_ c: StageContext, _ request: DeploymentRequest, _ revision: Revision, percent: Int) async throws -> StageResult {
        var facts = try await facts(c.id)
        if revision == .new, let existing = facts.newTaskSet { return "already created \(existing)" }
        let service = try await describeService(request)
        if revision == .previous, let id = facts.previousTaskSet,
           let live = service.taskSets.first(where: { $0.id == id && $0.status != "DRAINING" }) {
            // A rollback before the previous task set's delete was sent: it is still there.
            await setFacts(c.id, "previous task set \(live.id) is still there") {
                $0.previousTaskSetDeleted = false
                $0.previousTaskSetDeleting = nil
            }
            return "previous task set \(live.id) is still there"
        }
        if facts.trafficTargets.isEmpty {
            let routes = try await discoverTraffic(service: service, facts: facts)
            await setFacts(c.id, "traffic: \(routes.targets.count) listener/rule(s), new target group \(routes.newTargetGroup.arnResource)") {
                $0.trafficTargets = routes.targets
                $0.newTargetGroup = routes.newTargetGroup
            }
            facts = try await self.facts(c.id)
        }
        let template = service.primaryTaskSet?.loadBalancers.first ?? service.loadBalancers.first
        let tg = try targetGroup(revision, facts)
        let externalId = "\(request.id)-\(revision.rawValue)"
        let created: TaskSet
        if let earlier = service.taskSets.first(where: { $0.externalId == externalId && $0.status != "DRAINING" }) {
            // Created by this stage before the server stopped, and not yet recorded: adopt it
            // rather than leave it behind as an orphan (ECS keeps clientToken only for a while).
            created = earlier
        } else {
            let input = CreateTaskSetInput(
                cluster: request.cluster, service: request.service, taskDefinition: try taskDefinition(revision, facts),
                externalId: externalId, scale: Scale(value: Double(percent)),
                loadBalancers: [LoadBalancerRef(targetGroupArn: tg, containerName: template?.containerName, containerPort: template?.containerPort)],
                clientToken: Self.clientToken(externalId),
                launchSettings: service.primaryTaskSet?.launchSettings)
            created = try await cloud.ecs.createTaskSet(input)
        }
        return StageResult("created task set \(created.id) at \(percent)% on \(tg.arnResource)",
                           learned: "created \(revision.rawValue) task set \(created.id)") {
            if revision == .new {
                $0.newTaskSet = created.id
            } else {
                $0.previousTaskSet = created.id
                $0.previousTaskSetDeleted = false
                $0.previousTaskSetDeleting = nil
            }
        }
    }

    func scaleTaskSet(_ c: StageContext, _ request: DeploymentRequest, _ revision: Revision, percent: Int) async throws -> StageResult {
        let id = try taskSetID(revision, try await facts(c.id))
        _ = try await cloud.ecs.updateTaskSet(cluster: request.cluster, service: request.service, taskSet: id,
                                              scale: Scale(value: Double(percent)))
        if revision == .previous { await setFacts(c.id, "previous task set scaled to \(percent)%") { $0.previousScale = percent } }
        return "task set \(id) scaled to \(percent)%"
    }

    func describeTaskSet(_ request: DeploymentRequest, _ id: String) async throws -> TaskSet {
        let sets = try await cloud.ecs.describeTaskSets(cluster: request.cluster, service: request.service, taskSets: [id])
        guard var set = sets.first else { throw StageError("task set \(id) not found") }
        if set.computedDesiredCount == nil, set.scale.unit == "PERCENT",
           let service = try await cloud.ecs.describeServices(cluster: request.cluster, services: [request.service]).first {
            // An answer may leave it out (the SDKs treat every member as optional): ECS derives
            // it from the service's desired count and the task set's scale, and so does this.
            set.computedDesiredCount = set.scale.taskCount(of: service.desiredCount)
        }
        return set
    }

    func waitTaskSetHealthy(_ c: StageContext, _ request: DeploymentRequest, _ revision: Revision) async throws -> StageResult {
        let facts = try await facts(c.id)
        let id = try taskSetID(revision, facts)
        let tg = try targetGroup(revision, facts)
        var lastReport = ""
        var lookedForStops = clock.now()
        while true {
            let set = try await describeTaskSet(request, id)
            let targets = try await cloud.elb.describeTargetHealth(targetGroupArn: tg)
            switch TaskSetHealth.evaluate(set, targets: targets) {
            case .healthy(let report):
                return StageResult(report)
            case .unhealthy(let reason):
                throw StageError(reason)
            case .starting(let report, let fraction):
                if report != lastReport {
                    lastReport = report
                    await progress(c, report, fraction: fraction)
                }
                // Only a new set: a previous one brought back (a rollback) has the tasks its
                // scale-in stopped, and ran before.
                if revision == .new, clock.now().timeIntervalSince(lookedForStops) >= Self.stoppedTasksLook {
                    lookedForStops = clock.now()
                    if let failure = try await failedTasks(request, of: set) { throw StageError(failure) }
                }
                try await pollPause(until: c.deadline, waitingFor: "task set \(id) to be healthy (\(report))")
            }
        }
    }

    /// How often a task set that is not up yet is looked at for tasks that stopped.
    static let stoppedTasksLook: TimeInterval = 30

    /// Task sets have no circuit breaker: a new one whose image cannot run (it fails to start,
    /// crashes, fails its health checks before its target shows it) has its tasks stopped and
    /// replaced without end, and its targets never show `unhealthy`. As ECS's circuit breaker
    /// stops a deployment, this fails the wait once `max(3, min(200, ceil(desired / 2)))` of the
    /// set's tasks have stopped, saying why ECS stopped them. ListTasks takes `startedBy` only
    /// alone, so the service's stopped tasks are listed and those the set started counted.
    func failedTasks(_ request: DeploymentRequest, of set: TaskSet) async throws -> String? {
        let desired = set.computedDesiredCount ?? 1
        let threshold = max(3, min(200, (desired + 1) / 2))
        let stopped = try await cloud.ecs.listTasks(cluster: request.cluster, serviceName: request.service, startedBy: nil,
                                                    desiredStatus: "STOPPED")
        guard stopped.count >= threshold else { return nil }
        // Stopped by a scale-in or a deletion ("Scaling activity initiated by ...", "Task set ...
        // deleted") is no failure.
        let own = try await cloud.ecs.describeTasks(cluster: request.cluster, tasks: Array(stopped.prefix(300)))
            .filter { $0.startedBy == set.id && !($0.stoppedReason ?? "").hasPrefix("Scaling activity") && !($0.stoppedReason ?? "").hasPrefix("Task set") }
        guard own.count >= threshold else { return nil }
        let reasons = Set(own.compactMap(\.stoppedReason)).sorted().prefix(3)
        return "\(own.count) tasks of task set \(set.id) stopped (\(threshold) fail a task set, as ECS's circuit breaker fails a deployment): "
            + (reasons.isEmpty ? "no reason given" : reasons.joined(separator: "; "))
    }

    func promote(_ c: StageContext, _ request: DeploymentRequest, _ revision: Revision) async throws -> StageResult {
        let id = try taskSetID(revision, try await facts(c.id))
        _ = try await cloud.ecs.updateServicePrimaryTaskSet(cluster: request.cluster, service: request.service, primaryTaskSet: id)
        return StageResult("task set \(id) is PRIMARY", learned: "task set \(id) is PRIMARY") { $0.promoted = revision == .new }
    }

    /// Deletes a task set, but only once no listener or rule sends it traffic.
    func deleteTaskSet(_ c: StageContext, _ request: DeploymentRequest, _ revision: Revision) async throws -> StageResult {
        let facts = try await facts(c.id)
        let id = try taskSetID(revision, facts)
        let tg = try targetGroup(revision, facts)
        let routes = try await readWeights(facts.trafficTargets)
        if let live = routes.first(where: { ($0.weights[tg] ?? 0) > 0 }) {
            throw StageError("refusing to delete task set \(id): \(live.arn.arnResource) still sends it \(live.share(of: tg))% of the traffic")
        }
        if revision == .previous {
            // Recorded before the call: once it is sent, the task set may be draining.
            await setFacts(c.id, "deleting previous task set \(id)") { $0.previousTaskSetDeleting = true }
        }
        do {
            _ = try await cloud.ecs.deleteTaskSet(cluster: request.cluster, service: request.service, taskSet: id, force: false)
        } catch let error as CloudError where error.code == CloudError.taskSetNotFound {
            // Already gone (a resumed stage).
        }
        // Done when ECS has drained it and it is gone.
        while let set = try await cloud.ecs.describeTaskSets(cluster: request.cluster, service: request.service, taskSets: [id]).first {
            try await pollPause(until: c.deadline, waitingFor: "task set \(id) to drain (\(set.status), \(set.runningCount) tasks)")
        }
        return StageResult("deleted task set \(id)", learned: "deleted \(revision.rawValue) task set \(id)") {
            if revision == .previous { $0.previousTaskSetDeleted = true } else { $0.newTaskSet = nil }
        }
    }
}

/// Whether a task set is up: steady, every task running, every target of it healthy. Pure.
enum TaskSetHealth: Equatable {
    case healthy(String)
    case starting(String, fraction: Double)
    case unhealthy(String)

    static func evaluate(_ set: TaskSet, targets: [TargetHealth]) -> TaskSetHealth {
        if set.status == "DRAINING" { return .unhealthy("task set \(set.id) is draining") }
        if let bad = targets.first(where: { $0.state == "unhealthy" }) {
            return .unhealthy("target \(bad.targetId) of task set \(set.id) is unhealthy\(bad.reason.map { " (\($0))" } ?? "")")
        }
        let healthy = targets.filter { $0.state == "healthy" }.count
        // The one answer field this decision needs: without it, say so rather than guess.
        guard let desired = set.computedDesiredCount else {
            return .unhealthy("ecs:DescribeTaskSets answered no taskSet.computedDesiredCount for task set \(set.id): "
                + "cannot tell whether it runs all its tasks")
        }
        let report = "\(set.runningCount)/\(desired) tasks running, \(healthy) healthy targets, \(set.stabilityStatus)"
        if set.stabilityStatus == "STEADY_STATE", set.runningCount == desired, healthy >= desired {
            return .healthy("task set \(set.id): \(report)")
        }
        let fraction = desired > 0 ? Double(min(healthy, desired)) / Double(desired) : 0.5
        return .starting(report, fraction: fraction)
    }
}

extension DeploymentRunner {
    /// ECS takes a `clientToken` of at most 36 characters, and an id may have 128: the token is
    /// a 128-bit digest of the external id (two FNV-1a hashes), the same at every attempt and
    /// after a restart.
    static func clientToken(_ externalId: String) -> String {
        func fnv(_ seed: UInt64) -> UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
            for byte in externalId.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            return hash
        }
        let hex = [fnv(0), fnv(0x9e37_79b9_7f4a_7c15)].map { String($0, radix: 16) }.map { String(repeating: "0", count: 16 - $0.count) + $0 }
        return "ecs-" + hex.joined()
    }
}
