import CloudModel
import Foundation

/// The other end of `ECSClient`: ECS's AWS JSON 1.1 requests answered by any `ECSAPI` (the
/// simulator, for `grpc-server simulate`), in the shapes AWS answers with. Inputs are read
/// with the field named in errors (`InvalidParameterException`, as ECS says it); nested shapes
/// are read and written by `ECSDecoding`, the client's own, so that both ends agree.
public struct ECSWire: Sendable {
    /// The X-Amz-Target prefix of ECS's operations.
    public static let targetPrefix = "AmazonEC2ContainerServiceV20141113."

    /// The operations answered.
    public static let operations: Set<String> = [
        "RegisterTaskDefinition", "DescribeTaskDefinition", "DescribeServices", "ListServices", "UpdateService",
        "CreateTaskSet", "UpdateTaskSet", "DeleteTaskSet", "DescribeTaskSets", "UpdateServicePrimaryTaskSet",
        "ListTasks", "DescribeTasks", "DeregisterTaskDefinition", "ListServiceDeployments", "DescribeServiceDeployments",
        "DescribeServiceRevisions", "ContinueServiceDeployment", "StopServiceDeployment",
    ]

    let ecs: any ECSAPI
    /// DeregisterTaskDefinition, which `ECSAPI` does not have (the server never calls it).
    let deregister: (@Sendable (String) async throws -> TaskDefinition)?

    public init(ecs: any ECSAPI, deregister: (@Sendable (String) async throws -> TaskDefinition)? = nil) {
        self.ecs = ecs
        self.deregister = deregister
    }

    /// Answers one call. Throws `CloudError` (AWS's error code and message) for a bad input
    /// or what the cloud refused.
    public func call(_ operation: String, _ input: JSONValue) async throws -> JSONValue {
        let read = WireInput(service: "ecs", operation: operation, body: input, invalidCode: "InvalidParameterException")
        switch operation {
        case "RegisterTaskDefinition":
            // The cloud checks the definition (family, containers), as ECS does.
            return .object(["taskDefinition": try await ecs.registerTaskDefinition(TaskDefinition(json: input)).json])
        case "DeregisterTaskDefinition":
            guard let deregister else { throw Self.unknown(operation) }
            return .object(["taskDefinition": try await deregister(try read.string("taskDefinition")).json])
        case "DescribeTaskDefinition":
            let definition = try await ecs.describeTaskDefinition(try read.string("taskDefinition"))
            var answer: [String: JSONValue] = ["taskDefinition": definition.json]
            if case .object(var fields) = definition.json, let tags = fields.removeValue(forKey: "tags") {
                // AWS answers the tags beside the definition (with `include: TAGS`), not in it.
                answer["taskDefinition"] = .object(fields)
                if read.includesTags { answer["tags"] = tags }
            }
            return .object(answer)
        case "DescribeServices":
            let names = try read.strings("services")
            guard (1...10).contains(names.count) else { throw read.invalid("services", "between 1 and 10 services") }
            let found = try await ecs.describeServices(cluster: read.cluster, services: names)
            let missing = names.filter { name in !found.contains { $0.serviceName == name || $0.serviceArn == name } }
            return .object(["services": .array(found.map(Self.json)),
                            "failures": .array(missing.map { .object(["arn": .string($0), "reason": .string("MISSING")]) })])
        case "ListServices":
            let page = try await ecs.listServices(cluster: read.cluster, nextToken: read.optionalString("nextToken"))
            var answer: [String: JSONValue] = ["serviceArns": .array(page.serviceArns.map(JSONValue.string))]
            if let token = page.nextToken { answer["nextToken"] = .string(token) }
            return .object(answer)
        case "UpdateService":
            let input = UpdateServiceInput(
                cluster: read.cluster, service: try read.string("service"), taskDefinition: read.optionalString("taskDefinition"),
                desiredCount: try read.optionalInt("desiredCount"), forceNewDeployment: input["forceNewDeployment"]?.boolValue ?? false,
                deploymentConfiguration: input["deploymentConfiguration"].map(read.decoding.deploymentConfiguration))
            return .object(["service": Self.json(try await ecs.updateService(input))])
        case "CreateTaskSet":
            let launch = (input.objectValue ?? [:]).filter { TaskSet.launchSettingKeys.contains($0.key) }
            let created = try await ecs.createTaskSet(CreateTaskSetInput(
                cluster: read.cluster, service: try read.string("service"), taskDefinition: try read.string("taskDefinition"),
                externalId: read.optionalString("externalId"), scale: try read.scale(),
                loadBalancers: (input["loadBalancers"]?.arrayValue ?? []).compactMap(read.decoding.loadBalancer),
                clientToken: read.optionalString("clientToken"), launchSettings: launch.isEmpty ? nil : .object(launch)))
            return .object(["taskSet": Self.json(created)])
        case "UpdateTaskSet":
            let updated = try await ecs.updateTaskSet(cluster: read.cluster, service: try read.string("service"),
                                                      taskSet: try read.string("taskSet"), scale: try read.scale())
            return .object(["taskSet": Self.json(updated)])
        case "DeleteTaskSet":
            let deleted = try await ecs.deleteTaskSet(cluster: read.cluster, service: try read.string("service"),
                                                      taskSet: try read.string("taskSet"), force: input["force"]?.boolValue ?? false)
            return .object(["taskSet": Self.json(deleted)])
        case "DescribeTaskSets":
            let sets = try await ecs.describeTaskSets(cluster: read.cluster, service: try read.string("service"),
                                                      taskSets: input["taskSets"] == nil ? nil : try read.strings("taskSets"))
            return .object(["taskSets": .array(sets.map(Self.json)), "failures": .array([])])
        case "UpdateServicePrimaryTaskSet":
            let primary = try await ecs.updateServicePrimaryTaskSet(cluster: read.cluster, service: try read.string("service"),
                                                                    primaryTaskSet: try read.string("primaryTaskSet"))
            return .object(["taskSet": Self.json(primary)])
        case "ListTasks":
            let desired = read.optionalString("desiredStatus")
            if let desired, !["RUNNING", "PENDING", "STOPPED"].contains(desired) {
                throw CloudError(code: CloudError.invalidParameter, message: "desiredStatus must be RUNNING, PENDING or STOPPED.")
            }
            let arns = try await ecs.listTasks(cluster: read.cluster, serviceName: read.optionalString("serviceName"),
                                               startedBy: read.optionalString("startedBy"), desiredStatus: desired)
            return .object(["taskArns": .array(arns.map(JSONValue.string))])
        case "DescribeTasks":
            let arns = try read.strings("tasks")
            guard (1...100).contains(arns.count) else { throw read.invalid("tasks", "between 1 and 100 tasks") }
            let tasks = try await ecs.describeTasks(cluster: read.cluster, tasks: arns)
            return .object(["tasks": .array(tasks.map(Self.json)), "failures": .array([])])
        case "ListServiceDeployments":
            let found = try await ecs.listServiceDeployments(cluster: read.cluster, service: try read.string("service"))
            return .object(["serviceDeployments": .array(found.map(ECSDecoding.json))])
        case "DescribeServiceDeployments":
            let arns = try read.strings("serviceDeploymentArns")
            guard (1...20).contains(arns.count) else { throw read.invalid("serviceDeploymentArns", "between 1 and 20 ARNs") }
            let found = try await ecs.describeServiceDeployments(arns: arns)
            return .object(["serviceDeployments": .array(found.map(ECSDecoding.json)), "failures": Self.missing(arns, found.map(\.serviceDeploymentArn))])
        case "DescribeServiceRevisions":
            let arns = try read.strings("serviceRevisionArns")
            guard (1...20).contains(arns.count) else { throw read.invalid("serviceRevisionArns", "between 1 and 20 ARNs") }
            let found = try await ecs.describeServiceRevisions(arns: arns)
            return .object(["serviceRevisions": .array(found.map(ECSDecoding.json)), "failures": Self.missing(arns, found.map(\.serviceRevisionArn))])
        case "ContinueServiceDeployment":
            let arn = try read.string("serviceDeploymentArn")
            try await ecs.continueServiceDeployment(arn: arn, hookId: try read.string("hookId"), action: read.optionalString("action") ?? "CONTINUE")
            return .object(["serviceDeploymentArn": .string(arn)])
        case "StopServiceDeployment":
            let arn = try read.string("serviceDeploymentArn")
            try await ecs.stopServiceDeployment(arn: arn, stopType: read.optionalString("stopType") ?? "ROLLBACK")
            return .object(["serviceDeploymentArn": .string(arn)])
        default:
            throw Self.unknown(operation)
        }
    }

    /// `failures` for the ARNs asked for and not found.
    private static func missing(_ asked: [String], _ found: [String]) -> JSONValue {
        .array(asked.filter { !found.contains($0) }.map { .object(["arn": .string($0), "reason": .string("MISSING")]) })
    }

    /// An operation not answered here (its name, as the caller sent it, cut to 100 characters).
    public static func unknown(_ operation: String) -> CloudError {
        CloudError(code: "UnknownOperationException", message: "ecs:\(operation.prefix(100)) is not served by this endpoint")
    }


    // MARK: Answers (the shapes `ECSDecoding` reads)

    static func json(_ s: ECSService) -> JSONValue {
        var fields: [String: JSONValue] = [
            "serviceArn": .string(s.serviceArn), "serviceName": .string(s.serviceName), "clusterArn": .string(s.clusterArn),
            "status": .string(s.status), "desiredCount": number(s.desiredCount), "runningCount": number(s.runningCount),
            "pendingCount": number(s.pendingCount), "deploymentController": .object(["type": .string(s.deploymentController.rawValue)]),
            "deployments": .array(s.deployments.map(json)), "taskSets": .array(s.taskSets.map(json)),
            "loadBalancers": .array(s.loadBalancers.map(ECSDecoding.json)),
            // The service's event messages: the simulator keeps none (AWS always answers the list).
            "events": .array([]),
        ]
        if let td = s.taskDefinition { fields["taskDefinition"] = .string(td) }
        if let c = s.deploymentConfiguration { fields["deploymentConfiguration"] = ECSDecoding.json(c) }
        fields["createdAt"] = date(s.createdAt)
        merge(s.launchSettings, into: &fields)
        return .object(fields)
    }

    static func json(_ d: ServiceDeployment) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(d.id), "status": .string(d.status), "taskDefinition": .string(d.taskDefinition),
            "desiredCount": number(d.desiredCount), "pendingCount": number(d.pendingCount), "runningCount": number(d.runningCount),
            "failedTasks": number(d.failedTasks),
        ]
        if let state = d.rolloutState { fields["rolloutState"] = .string(state) }
        if let reason = d.rolloutStateReason { fields["rolloutStateReason"] = .string(reason) }
        fields["createdAt"] = date(d.createdAt)
        fields["updatedAt"] = date(d.updatedAt)
        return .object(fields)
    }

    static func json(_ t: TaskSet) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(t.id), "taskSetArn": .string(t.taskSetArn), "serviceArn": .string(t.serviceArn),
            "clusterArn": .string(t.clusterArn), "status": .string(t.status), "taskDefinition": .string(t.taskDefinition),
            "pendingCount": number(t.pendingCount), "runningCount": number(t.runningCount), "scale": ECSDecoding.json(t.scale),
            "stabilityStatus": .string(t.stabilityStatus), "loadBalancers": .array(t.loadBalancers.map(ECSDecoding.json)),
        ]
        if let id = t.externalId { fields["externalId"] = .string(id) }
        if let n = t.computedDesiredCount { fields["computedDesiredCount"] = number(n) }
        fields["createdAt"] = date(t.createdAt)
        fields["updatedAt"] = date(t.updatedAt)
        merge(t.launchSettings, into: &fields)
        return .object(fields)
    }

    static func json(_ t: ECSTask) -> JSONValue {
        var fields: [String: JSONValue] = [
            "taskArn": .string(t.taskArn), "clusterArn": .string(t.clusterArn), "taskDefinitionArn": .string(t.taskDefinitionArn),
            "lastStatus": .string(t.lastStatus), "desiredStatus": .string(t.desiredStatus), "healthStatus": .string(t.healthStatus),
        ]
        if let by = t.startedBy { fields["startedBy"] = .string(by) }
        if let group = t.group { fields["group"] = .string(group) }
        if let reason = t.stoppedReason { fields["stoppedReason"] = .string(reason) }
        fields["createdAt"] = date(t.createdAt)
        fields["startedAt"] = date(t.startedAt)
        fields["stoppedAt"] = date(t.stoppedAt)
        return .object(fields)
    }

    private static func number(_ n: Int) -> JSONValue { .number(Double(n)) }

    /// AWS JSON's timestamps: seconds since 1970.
    private static func date(_ d: Date?) -> JSONValue? { d.map { .number($0.timeIntervalSince1970) } }

    private static func merge(_ settings: JSONValue?, into fields: inout [String: JSONValue]) {
        for (key, value) in settings?.objectValue ?? [:] { fields[key] = value }
    }
}

/// ECS's inputs.
extension WireInput {
    var decoding: ECSDecoding { ECSDecoding(call: "ecs:\(operation)") }

    /// The cluster named, else the account's `default` (as ECS does).
    var cluster: String { optionalString("cluster") ?? "default" }
    var includesTags: Bool { body["include"]?.arrayValue?.contains(.string("TAGS")) == true }

    func scale() throws -> Scale {
        guard case .number(let value)? = body["scale"]?["value"], (0...100).contains(value) else {
            throw invalid("scale.value", "a number from 0 to 100")
        }
        return Scale(value: value, unit: body["scale"]?["unit"]?.stringValue ?? "PERCENT")
    }
}
