import AWSAuth
import CloudModel
import Foundation

/// Amazon ECS over AWS JSON 1.1.
public struct ECSClient: ECSAPI {
    let rpc: JSONProtocol

    public init(transport: AWSTransport, environment: AWSEnvironment) {
        rpc = JSONProtocol(transport: transport, service: .ecs, environment: environment)
    }

    /// Output-only fields of DescribeTaskDefinition that RegisterTaskDefinition refuses,
    /// beyond `TaskDefinition.readOnlyFields`.
    static let extraOutputOnlyFields: Set<String> = ["deleteRequestedAt"]

    public func registerTaskDefinition(_ definition: TaskDefinition) async throws -> TaskDefinition {
        guard case .object(var input) = definition.registrationInput().json else {
            throw CloudError(code: CloudError.invalidParameter, message: "ecs:RegisterTaskDefinition: the task definition is not a JSON object",
                             httpStatus: 0)
        }
        for key in Self.extraOutputOnlyFields { input.removeValue(forKey: key) }
        let answer = try await rpc.call("RegisterTaskDefinition", input)
        return try taskDefinition(answer, call: "RegisterTaskDefinition")
    }

    /// With its tags (`include: TAGS`), kept in the JSON as `tags` so that a new revision
    /// made from it carries them (RegisterTaskDefinition takes them at that key).
    public func describeTaskDefinition(_ taskDefinition: String) async throws -> TaskDefinition {
        let answer = try await rpc.call("DescribeTaskDefinition", ["taskDefinition": .string(taskDefinition),
                                                                   "include": .array([.string("TAGS")])])
        var definition = try self.taskDefinition(answer, call: "DescribeTaskDefinition")
        if let tags = answer["tags"]?.arrayValue, !tags.isEmpty { definition.json["tags"] = .array(tags) }
        return definition
    }

    private func taskDefinition(_ answer: JSONValue, call: String) throws -> TaskDefinition {
        guard let json = answer["taskDefinition"], case .object = json, json["taskDefinitionArn"]?.stringValue != nil else {
            throw ResponseReader(call: "ecs:\(call)").missing("taskDefinition.taskDefinitionArn")
        }
        return TaskDefinition(json: json)
    }

    public func describeServices(cluster: String, services: [String]) async throws -> [ECSService] {
        if services.isEmpty { return [] }
        guard services.count <= 10 else {
            throw CloudError(code: CloudError.invalidParameter,
                             message: "ecs:DescribeServices: at most 10 services a call, \(services.count) given", httpStatus: 0)
        }
        let answer = try await rpc.call("DescribeServices", [
            "cluster": .string(cluster), "services": .array(services.map(JSONValue.string)),
        ])
        let decode = ECSDecoding(call: "ecs:DescribeServices")
        return try decode.read.array(answer, "services").map(decode.service)
    }

    public func listServices(cluster: String, nextToken: String?) async throws -> ServicePage {
        var input: [String: JSONValue] = ["cluster": .string(cluster)]
        if let nextToken { input["nextToken"] = .string(nextToken) }
        let answer = try await rpc.call("ListServices", input)
        let arns = (answer["serviceArns"]?.arrayValue ?? []).compactMap(\.stringValue)
        let token = answer["nextToken"]?.stringValue
        return ServicePage(serviceArns: arns, nextToken: token?.isEmpty == true ? nil : token)
    }

    public func updateService(_ input: UpdateServiceInput) async throws -> ECSService {
        var body: [String: JSONValue] = ["cluster": .string(input.cluster), "service": .string(input.service)]
        if let td = input.taskDefinition { body["taskDefinition"] = .string(td) }
        if let n = input.desiredCount { body["desiredCount"] = .number(Double(n)) }
        if input.forceNewDeployment { body["forceNewDeployment"] = .bool(true) }
        if let c = input.deploymentConfiguration { body["deploymentConfiguration"] = ECSDecoding.json(c) }
        let answer = try await rpc.call("UpdateService", body)
        guard let service = answer["service"] else { throw ResponseReader(call: "ecs:UpdateService").missing("service") }
        return try ECSDecoding(call: "ecs:UpdateService").service(service)
    }

    public func createTaskSet(_ input: CreateTaskSetInput) async throws -> TaskSet {
        var body: [String: JSONValue] = [
            "cluster": .string(input.cluster), "service": .string(input.service),
            "taskDefinition": .string(input.taskDefinition), "scale": ECSDecoding.json(input.scale),
        ]
        if let id = input.externalId { body["externalId"] = .string(id) }
        if !input.loadBalancers.isEmpty { body["loadBalancers"] = .array(input.loadBalancers.map(ECSDecoding.json)) }
        if let token = input.clientToken { body["clientToken"] = .string(token) }
        for (key, value) in input.launchSettings?.objectValue ?? [:] where TaskSet.launchSettingKeys.contains(key) {
            body[key] = value
        }
        return try await taskSetCall("CreateTaskSet", body)
    }

    public func updateTaskSet(cluster: String, service: String, taskSet: String, scale: Scale) async throws -> TaskSet {
        try await taskSetCall("UpdateTaskSet", [
            "cluster": .string(cluster), "service": .string(service), "taskSet": .string(taskSet),
            "scale": ECSDecoding.json(scale),
        ])
    }

    public func deleteTaskSet(cluster: String, service: String, taskSet: String, force: Bool) async throws -> TaskSet {
        try await taskSetCall("DeleteTaskSet", [
            "cluster": .string(cluster), "service": .string(service), "taskSet": .string(taskSet), "force": .bool(force),
        ])
    }

    /// The service's task sets; nil asks for all of them, an empty list for none.
    public func describeTaskSets(cluster: String, service: String, taskSets: [String]?) async throws -> [TaskSet] {
        if taskSets?.isEmpty == true { return [] }
        var body: [String: JSONValue] = ["cluster": .string(cluster), "service": .string(service)]
        if let taskSets { body["taskSets"] = .array(taskSets.map(JSONValue.string)) }
        let answer = try await rpc.call("DescribeTaskSets", body)
        let decode = ECSDecoding(call: "ecs:DescribeTaskSets")
        return try decode.read.array(answer, "taskSets").map(decode.taskSet)
    }

    public func updateServicePrimaryTaskSet(cluster: String, service: String, primaryTaskSet: String) async throws -> TaskSet {
        try await taskSetCall("UpdateServicePrimaryTaskSet", [
            "cluster": .string(cluster), "service": .string(service), "primaryTaskSet": .string(primaryTaskSet),
        ])
    }

    private func taskSetCall(_ operation: String, _ body: [String: JSONValue]) async throws -> TaskSet {
        let answer = try await rpc.call(operation, body)
        guard let taskSet = answer["taskSet"] else { throw ResponseReader(call: "ecs:\(operation)").missing("taskSet") }
        return try ECSDecoding(call: "ecs:\(operation)").taskSet(taskSet)
    }

    /// Every page of ListTasks.
    public func listTasks(cluster: String, serviceName: String?, startedBy: String?, desiredStatus: String?) async throws -> [String] {
        var arns: [String] = []
        var token: String?
        repeat {
            var body: [String: JSONValue] = ["cluster": .string(cluster)]
            if let serviceName { body["serviceName"] = .string(serviceName) }
            if let startedBy { body["startedBy"] = .string(startedBy) }
            if let desiredStatus { body["desiredStatus"] = .string(desiredStatus) }
            if let token { body["nextToken"] = .string(token) }
            let answer = try await rpc.call("ListTasks", body)
            arns += (answer["taskArns"]?.arrayValue ?? []).compactMap(\.stringValue)
            token = answer["nextToken"]?.stringValue
            if token?.isEmpty == true { token = nil }
        } while token != nil
        return arns
    }

    /// DescribeTasks, 100 tasks a call (AWS's limit).
    public func describeTasks(cluster: String, tasks: [String]) async throws -> [ECSTask] {
        var result: [ECSTask] = []
        let decode = ECSDecoding(call: "ecs:DescribeTasks")
        for start in stride(from: 0, to: tasks.count, by: 100) {
            let batch = Array(tasks[start..<min(start + 100, tasks.count)])
            let answer = try await rpc.call("DescribeTasks", [
                "cluster": .string(cluster), "tasks": .array(batch.map(JSONValue.string)),
            ])
            result += try decode.read.array(answer, "tasks").map(decode.task)
        }
        return result
    }

    // MARK: Service deployments (ECS's own blue/green, linear and canary)

    /// Every page, newest first.
    public func listServiceDeployments(cluster: String, service: String) async throws -> [ServiceDeploymentBrief] {
        var found: [ServiceDeploymentBrief] = []
        var token: String?
        let decode = ECSDecoding(call: "ecs:ListServiceDeployments")
        repeat {
            var body: [String: JSONValue] = ["cluster": .string(cluster), "service": .string(service)]
            if let token { body["nextToken"] = .string(token) }
            let answer = try await rpc.call("ListServiceDeployments", body)
            found += try decode.read.array(answer, "serviceDeployments").map(decode.serviceDeploymentBrief)
            token = answer["nextToken"]?.stringValue
            if token?.isEmpty == true { token = nil }
        } while token != nil && found.count < 1000
        return found.sorted { ($0.createdAt ?? .distantPast) > ($1.createdAt ?? .distantPast) }
    }

    public func describeServiceDeployments(arns: [String]) async throws -> [ServiceDeploymentDetail] {
        if arns.isEmpty { return [] }
        let answer = try await rpc.call("DescribeServiceDeployments", ["serviceDeploymentArns": .array(arns.map(JSONValue.string))])
        let decode = ECSDecoding(call: "ecs:DescribeServiceDeployments")
        return try decode.read.array(answer, "serviceDeployments").map(decode.serviceDeployment)
    }

    public func describeServiceRevisions(arns: [String]) async throws -> [ServiceRevision] {
        if arns.isEmpty { return [] }
        let answer = try await rpc.call("DescribeServiceRevisions", ["serviceRevisionArns": .array(arns.map(JSONValue.string))])
        let decode = ECSDecoding(call: "ecs:DescribeServiceRevisions")
        return try decode.read.array(answer, "serviceRevisions").map(decode.serviceRevision)
    }

    public func continueServiceDeployment(arn: String, hookId: String, action: String) async throws {
        _ = try await rpc.call("ContinueServiceDeployment", ["serviceDeploymentArn": .string(arn), "hookId": .string(hookId),
                                                             "action": .string(action)])
    }

    public func stopServiceDeployment(arn: String, stopType: String) async throws {
        _ = try await rpc.call("StopServiceDeployment", ["serviceDeploymentArn": .string(arn), "stopType": .string(stopType)])
    }
}
