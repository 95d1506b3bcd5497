import CloudModel
import Foundation

/// Task set operations (services with the EXTERNAL deployment controller).
extension SimulatorState {
    private mutating func externalService(cluster: String, _ name: String, now: Date) throws -> ServiceRecord {
        let svc = try service(cluster: cluster, name, now: now)
        guard svc.controller == .external else {
            throw CloudError(code: CloudError.invalidParameter,
                             message: "Task sets are only supported for services using the EXTERNAL deployment controller.")
        }
        return svc
    }

    private func taskSetIndex(_ svc: ServiceRecord, _ reference: String) throws -> Int {
        guard let k = svc.taskSetIndex(reference) else {
            throw CloudError(code: CloudError.taskSetNotFound, message: "The specified task set does not exist.")
        }
        return k
    }

    private static func validate(_ scale: Scale) throws {
        guard scale.unit == "PERCENT", (0...100).contains(scale.value) else {
            throw CloudError(code: CloudError.invalidParameter, message: "Scale must be a PERCENT between 0 and 100.")
        }
    }

    mutating func createTaskSet(_ input: CreateTaskSetInput, now: Date) throws -> TaskSet {
        let svc = try externalService(cluster: input.cluster, input.service, now: now)
        if let token = input.clientToken, let existing = svc.taskSets.first(where: { $0.clientToken == token }) {
            return existing.snapshot(tasks: svc.tasks, at: now)
        }
        try Self.validate(input.scale)
        let definition = try resolveTaskDefinition(input.taskDefinition)
        for ref in input.loadBalancers where targetGroups[ref.targetGroupArn] == nil {
            throw CloudError(code: CloudError.invalidParameter,
                             message: "The target group \(ref.targetGroupArn) does not exist.")
        }
        var set = newTaskSet(in: svc, taskDefinition: definition.arn ?? input.taskDefinition, externalId: input.externalId,
                             scale: input.scale, loadBalancers: input.loadBalancers, clientToken: input.clientToken, now: now)
        set.launchSettings = input.launchSettings
        if svc.taskSets.isEmpty {
            set.status = "PRIMARY"
            svc.externalTaskDefinition = set.taskDefinition
        }
        svc.taskSets.append(set)
        reconcile(svc)
        return svc.taskSets.first { $0.id == set.id }!.snapshot(tasks: svc.tasks, at: now)
    }

    mutating func updateTaskSet(cluster: String, service: String, taskSet: String, scale: Scale, now: Date) throws -> TaskSet {
        let svc = try externalService(cluster: cluster, service, now: now)
        let k = try taskSetIndex(svc, taskSet)
        try Self.validate(scale)
        guard svc.taskSets[k].status != "DRAINING" else {
            throw CloudError(code: CloudError.invalidParameter, message: "The task set is being deleted.")
        }
        svc.taskSets[k].scale = scale
        svc.taskSets[k].updatedAt = now
        reconcile(svc)
        let result = svc.taskSets[k].snapshot(tasks: svc.tasks, at: now)
        if scale.value == 0 { checkTraffic(now: now, after: "UpdateTaskSet \(result.id) to 0%") }
        return result
    }

    mutating func deleteTaskSet(cluster: String, service: String, taskSet: String, force: Bool, now: Date) throws -> TaskSet {
        let svc = try externalService(cluster: cluster, service, now: now)
        let k = try taskSetIndex(svc, taskSet)
        if svc.taskSets[k].status == "PRIMARY", !force {
            throw CloudError(code: CloudError.invalidParameter,
                             message: "Cannot delete the primary task set of a service unless force is set.")
        }
        if svc.taskSets[k].status == "PRIMARY" { svc.externalTaskDefinition = svc.taskSets[k].taskDefinition }
        svc.taskSets[k].status = "DRAINING"
        svc.taskSets[k].updatedAt = now
        var record = svc.taskSets[k]
        record.computedDesiredCount = 0
        reconcile(svc)
        // A task set without tasks is gone at once; answer with its last state.
        let current = svc.taskSets.first { $0.id == record.id } ?? record
        checkTraffic(now: now, after: "DeleteTaskSet \(record.id)")
        return current.snapshot(tasks: svc.tasks, at: now)
    }

    mutating func describeTaskSets(cluster: String, service: String, taskSets: [String]?, now: Date) throws -> [TaskSet] {
        let svc = try externalService(cluster: cluster, service, now: now)
        let chosen = taskSets.map { refs in svc.taskSets.filter { set in refs.contains { set.matches($0) } } } ?? svc.taskSets
        return chosen.map { $0.snapshot(tasks: svc.tasks, at: now) }
    }

    mutating func updateServicePrimaryTaskSet(cluster: String, service: String, primaryTaskSet: String,
                                              now: Date) throws -> TaskSet {
        let svc = try externalService(cluster: cluster, service, now: now)
        let k = try taskSetIndex(svc, primaryTaskSet)
        guard svc.taskSets[k].status != "DRAINING" else {
            throw CloudError(code: CloudError.invalidParameter, message: "A DRAINING task set cannot become primary.")
        }
        for j in svc.taskSets.indices where svc.taskSets[j].status == "PRIMARY" && j != k {
            svc.taskSets[j].status = "ACTIVE"
            svc.taskSets[j].updatedAt = now
        }
        svc.taskSets[k].status = "PRIMARY"
        svc.taskSets[k].updatedAt = now
        svc.externalTaskDefinition = svc.taskSets[k].taskDefinition
        return svc.taskSets[k].snapshot(tasks: svc.tasks, at: now)
    }
}
