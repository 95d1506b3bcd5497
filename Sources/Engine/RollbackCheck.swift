import CloudModel
import Foundation

/// Whether a service is back where it was before the deployment, once the rollback stages
/// ran. Pure. ECS controller: the PRIMARY deployment is on the previous task definition with
/// every task running. EXTERNAL: exactly one task set, PRIMARY, on the previous task
/// definition (the recorded previous task set), none on the new revision, and every recorded
/// listener and rule sends 100% of its traffic to the previous target group.
enum RollbackCheck {
    /// What is not as it should be; empty when the service settled back.
    static func problems(facts: DeploymentFacts, service: ECSService, routes: [TrafficRoute]) -> [String] {
        service.deploymentController == .external
            ? taskSetProblems(facts: facts, service: service) + trafficProblems(facts: facts, routes: routes)
            : deploymentProblems(facts: facts, service: service)
    }

    private static func deploymentProblems(facts: DeploymentFacts, service: ECSService) -> [String] {
        guard let previous = facts.previousTaskDefinition else { return [] }
        guard let primary = service.primaryDeployment else { return ["the service has no PRIMARY deployment"] }
        var out: [String] = []
        if primary.taskDefinition != previous {
            out.append("the PRIMARY deployment is on \(primary.taskDefinition.arnResourceName), not \(previous.arnResourceName)")
        }
        if primary.runningCount != primary.desiredCount {
            out.append("the PRIMARY deployment runs \(primary.runningCount)/\(primary.desiredCount) tasks")
        }
        return out
    }

    private static func taskSetProblems(facts: DeploymentFacts, service: ECSService) -> [String] {
        // A draining task set of an earlier revision is on its way out (a rollback asked while
        // the deployment deleted it); one of the new revision is a leftover (below).
        let sets = service.taskSets.filter { $0.status != "DRAINING" || $0.taskDefinition == facts.newTaskDefinition }
        let listed = sets.map(describe).joined(separator: ", ")
        guard let previous = facts.previousTaskDefinition else {
            // The service had no task set before the deployment: none should be left.
            return sets.isEmpty ? [] : ["task sets left on a service that had none: \(listed)"]
        }
        var out: [String] = []
        if sets.count != 1 {
            out.append(sets.isEmpty ? "no task set left" : "\(sets.count) task sets left (\(listed)), expected only the previous one")
        }
        if let primary = service.primaryTaskSet {
            if primary.taskDefinition != previous {
                out.append("the PRIMARY task set \(primary.id) is on \(primary.taskDefinition.arnResourceName), not \(previous.arnResourceName)")
            } else if let expected = facts.previousTaskSet, primary.id != expected {
                out.append("the PRIMARY task set is \(primary.id), not the previous task set \(expected)")
            }
        } else if !sets.isEmpty {
            out.append("no task set is PRIMARY")
        }
        let leftovers = sets.filter { $0.id == facts.newTaskSet || $0.taskDefinition == facts.newTaskDefinition }
        for set in leftovers {
            out.append("task set \(set.id) on the new revision \(set.taskDefinition.arnResourceName) is still there")
        }
        return out
    }

    private static func trafficProblems(facts: DeploymentFacts, routes: [TrafficRoute]) -> [String] {
        guard let old = facts.previousTargetGroup else { return [] }
        return routes.filter { $0.share(of: old) != 100 }.map { route in
            let weights = route.weights.sorted { $0.key < $1.key }.map { "\($0.key.arnResource)=\($0.value)" }
            return "\(route.arn.arnResource) sends \(route.share(of: old))% of its traffic to \(old.arnResource), not 100% "
                + "(\(weights.joined(separator: ", ")))"
        }
    }

    private static func describe(_ set: TaskSet) -> String {
        "\(set.status) \(set.id) \(set.taskDefinition.arnResourceName)"
    }
}

extension DeploymentRunner {
    /// Reads the service (and, for EXTERNAL services, the recorded listeners and rules) and
    /// says what keeps it from being back on the previous revision; nil when it settled back.
    /// A failing check is read again a few times, one poll interval apart (reads after a
    /// change may lag), before it counts.
    func rollbackLeftovers(_ request: DeploymentRequest, facts: DeploymentFacts) async throws -> String? {
        var attempt = 0
        while true {
            attempt += 1
            let verdict: String?
            do {
                let service = try await describeService(request)
                let routes = service.deploymentController == .external && facts.previousTargetGroup != nil
                    ? try await readWeights(facts.trafficTargets) : []
                let problems = RollbackCheck.problems(facts: facts, service: service, routes: routes)
                verdict = problems.isEmpty ? nil : "the service did not settle back: \(problems.joined(separator: "; "))"
            } catch let error as CancellationError {
                throw error
            } catch {
                verdict = "the service's final state could not be checked: \(error)"
            }
            guard let verdict else { return nil }
            if attempt >= 3 { return verdict }
            try await clock.sleep(for: settings.pollInterval)
        }
    }
}
