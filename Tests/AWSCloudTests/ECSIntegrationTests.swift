import MotoHarness
import AWSAuth
@testable import AWSCloud
import CloudModel
import Foundation
import Synchronization
import Testing

@Suite("ECS client against moto", .enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct ECSIntegrationTests {
    @Test func taskDefinitionsAndServiceRollout() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let bodies = Mutex<[String: String]>([:])
        let agents = Mutex<Set<String>>([])
        let factory = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials(),
                                      signer: { input in
                                          let target = input.headers.first { $0.0 == "X-Amz-Target" }?.1 ?? ""
                                          bodies.withLock { $0[target] = String(decoding: input.body, as: UTF8.self) }
                                          agents.withLock { $0.insert(input.headers.first { $0.0 == "User-Agent" }?.1 ?? "none") }
                                          return AWSTransport.sigV4(input)
                                      })
        let ecs = factory.ecs
        let cluster = moto.string("cluster")

        let current = try await ecs.describeTaskDefinition("web")
        #expect(current.arn == moto.string("taskDefinitionArn"))
        #expect(current.json["executionRoleArn"]?.stringValue == moto.string("executionRoleArn"))
        #expect(current.json["status"]?.stringValue == "ACTIVE")

        #expect(agents.withLock { $0 } == ["ecs-deploy/1.0"], "every call names the tool")

        // Tags go with a new revision made from a described one (DescribeTaskDefinition include=TAGS).
        var tagged = current.registrationInput()
        tagged.json["family"] = .string("tagged")
        tagged.json["tags"] = .array([.object(["key": .string("team"), "value": .string("payments")])])
        let first = try await ecs.registerTaskDefinition(tagged)
        let withTags = try await ecs.describeTaskDefinition(try #require(first.arn))
        #expect(withTags.json["tags"] == tagged.json["tags"], "\(withTags.json["tags"] ?? .null)")
        #expect(withTags.registrationInput().json["tags"] == tagged.json["tags"])

        let registered = try await ecs.registerTaskDefinition(current.withImage("nginx:1.26"))
        #expect(registered.revision == 2)
        #expect(registered.images.first?.image == "nginx:1.26")
        #expect(registered.json["taskRoleArn"]?.stringValue == moto.string("taskRoleArn"))
        #expect(registered.json["cpu"]?.stringValue == "256")
        // What went over the wire: the raw definition without AWS's read-only fields.
        let sent = try JSONValue.parse(bodies.withLock { $0["AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition"] ?? "" })
        for field in TaskDefinition.readOnlyFields { #expect(sent[field] == nil, "sent \(field)") }
        #expect(sent["networkMode"]?.stringValue == "awsvpc")

        let before = try #require(try await ecs.describeServices(cluster: cluster, services: [moto.string("service")]).first)
        #expect(before.primaryDeployment?.taskDefinition == current.arn)
        #expect(before.deployments.count == 1 && before.runningCount == before.desiredCount)

        let updated = try await ecs.updateService(UpdateServiceInput(cluster: cluster, service: "web",
                                                                     taskDefinition: registered.familyRevision))
        #expect(updated.taskDefinition == registered.arn)
        #expect(updated.deployments.count == 1)
        #expect(updated.primaryDeployment?.taskDefinition == registered.arn)
        #expect(updated.primaryDeployment?.rolloutState == "COMPLETED")
        #expect(updated.primaryDeployment?.runningCount == updated.desiredCount)
        #expect(updated.primaryDeployment?.id != before.primaryDeployment?.id)

        let scaled = try await ecs.updateService(UpdateServiceInput(cluster: cluster, service: "web", desiredCount: 3))
        #expect(scaled.desiredCount == 3 && scaled.runningCount == 3)

        // Listing and batching past DescribeServices' 10-service limit.
        let page = try await ecs.listServices(cluster: cluster, nextToken: nil)
        let all = try await ecs.listAllServices(cluster: cluster)
        #expect(page.serviceArns.count == 10 && page.nextToken != nil, "ECS's default page: 10 services")
        #expect(Set(page.serviceArns).isSubset(of: Set(all)))
        #expect(all.count == 14)
        let described = try await ecs.describeServicesBatched(cluster: cluster, services: all + ["no-such-service"])
        #expect(Set(described.map(\.serviceArn)) == Set(all))
        await #expect(throws: CloudError.self) { try await ecs.describeServices(cluster: cluster, services: Array(all.prefix(11))) }
    }

    @Test func listAllServicesFollowsNextToken() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let listCalls = Mutex(0)
        let ecs = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials(),
                                  signer: { input in
                                      if input.headers.contains(where: { $0.0 == "X-Amz-Target" && $0.1.hasSuffix(".ListServices") }) {
                                          listCalls.withLock { $0 += 1 }
                                      }
                                      return AWSTransport.sigV4(input)
                                  }).ecs
        // The client has no CreateCluster/CreateService; they go through its JSON protocol.
        _ = try await ecs.rpc.call("CreateCluster", ["clusterName": .string("many")])
        let names = (1...25).map { String(format: "svc-%02d", $0) }
        for name in names {
            _ = try await ecs.rpc.call("CreateService", [
                "cluster": .string("many"), "serviceName": .string(name),
                "taskDefinition": .string(moto.string("taskDefinitionArn")), "desiredCount": .number(1),
                "launchType": .string("FARGATE"),
            ])
        }
        listCalls.withLock { $0 = 0 }
        let all = try await ecs.listAllServices(cluster: "many")
        #expect(all.count == 25)
        #expect(Set(all.map(\.arnResourceName)) == Set(names))
        // No page size is sent, so ECS's default of 10 applies: 10 + 10 + 5.
        let calls = listCalls.withLock { $0 }
        #expect(calls == 3)
    }

    /// Also against moto as it is (`.none`): the answers lack computedDesiredCount and moto
    /// schedules no tasks for a task set, but every call and every answer goes through.
    @Test(arguments: [MotoPatches.full, .none])
    func taskSetsAndTasks(patches: MotoPatches) async throws {
        let moto = try await MotoServer.start(patches: patches)
        let patched = patches == .full
        defer { moto.stop() }
        let ecs = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).ecs
        let cluster = moto.string("cluster"), service = moto.string("externalService")
        let worker = moto.string("workerTaskDefinitionArn")

        // The launch type, as the engine copies it from the task set it replaces (moto as it is
        // defaults to EC2 and fails without container instances).
        let fargate: JSONValue = .object(["launchType": .string("FARGATE")])
        let blue = try await ecs.createTaskSet(CreateTaskSetInput(cluster: cluster, service: service, taskDefinition: worker,
                                                                   externalId: "blue", scale: Scale(value: 50),
                                                                   clientToken: "tok-1", launchSettings: fargate))
        #expect(blue.status == "ACTIVE" && blue.externalId == "blue")
        #expect(blue.computedDesiredCount == (patched ? 2 : nil) && blue.scale == Scale(value: 50))
        #expect(blue.taskDefinition == worker)

        let full = try await ecs.updateTaskSet(cluster: cluster, service: service, taskSet: blue.taskSetArn, scale: Scale(value: 100))
        #expect(full.computedDesiredCount == (patched ? 4 : nil) && full.scale.value == 100)

        // By ARN: moto as it is matches no task set id here (ECS takes either).
        let primary = try await ecs.updateServicePrimaryTaskSet(cluster: cluster, service: service, primaryTaskSet: blue.taskSetArn)
        #expect(primary.status == "PRIMARY")

        let green = try await ecs.createTaskSet(CreateTaskSetInput(cluster: cluster, service: service, taskDefinition: worker,
                                                                    externalId: "green", scale: Scale(value: 0), launchSettings: fargate))
        let both = try await ecs.describeTaskSets(cluster: cluster, service: service, taskSets: nil)
        #expect(Set(both.map(\.id)) == [blue.id, green.id])
        let one = try await ecs.describeTaskSets(cluster: cluster, service: service, taskSets: [green.taskSetArn])
        #expect(one.map(\.id) == [green.id])

        let deleted = try await ecs.deleteTaskSet(cluster: cluster, service: service, taskSet: green.id, force: true)
        #expect(deleted.id == green.id)
        // moto as it is answers the deleted task set as it was (ACTIVE), ECS and the patch DRAINING.
        #expect(deleted.status == (patched ? "DRAINING" : "ACTIVE"), "\(deleted.status)")

        let svc = try #require(try await ecs.describeServices(cluster: cluster, services: [service]).first)
        #expect(svc.deploymentController == .external)
        #expect(svc.taskSets.map(\.id) == [blue.id])
        #expect(svc.primaryTaskSet?.id == blue.id)
        #expect(svc.taskDefinition == worker)

        // moto as it is starts a task set's tasks as the account, not as the task set.
        guard patched else { return }
        let taskArns = try await ecs.listTasks(cluster: cluster, serviceName: nil, startedBy: blue.id)
        #expect(taskArns.count == 2)
        let tasks = try await ecs.describeTasks(cluster: cluster, tasks: taskArns)
        #expect(tasks.count == 2)
        #expect(tasks.allSatisfy { $0.lastStatus == "RUNNING" && $0.startedBy == blue.id && $0.taskDefinitionArn == worker })
        #expect(try await ecs.describeTasks(cluster: cluster, tasks: []).isEmpty)
    }

    @Test(arguments: [MotoPatches.full, .none])
    func errorsDecodeToTypedCloudErrors(patches: MotoPatches) async throws {
        let moto = try await MotoServer.start(patches: patches)
        defer { moto.stop() }
        let ecs = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).ecs
        let cluster = moto.string("cluster")

        let missingFamily = await #expect(throws: CloudError.self) { try await ecs.describeTaskDefinition("no-such-family") }
        #expect(missingFamily?.code == CloudError.client)
        #expect(missingFamily?.httpStatus == 400)
        #expect(missingFamily?.isRetryable == false)
        #expect(missingFamily?.message.hasPrefix("ecs:DescribeTaskDefinition: ") == true)

        let noCluster = await #expect(throws: CloudError.self) {
            try await ecs.describeServices(cluster: "no-such-cluster", services: ["web"])
        }
        #expect(noCluster?.code == CloudError.clusterNotFound)

        let noService = await #expect(throws: CloudError.self) {
            try await ecs.updateService(UpdateServiceInput(cluster: cluster, service: "no-such-service", desiredCount: 1))
        }
        #expect(noService?.code == CloudError.serviceNotFound)

        // moto as it is answers a missing task set with HTTP 500.
        guard patches == .full else { return }
        let noTaskSet = await #expect(throws: CloudError.self) {
            try await ecs.updateTaskSet(cluster: cluster, service: moto.string("externalService"), taskSet: "ecs-svc/0",
                                        scale: Scale(value: 10))
        }
        #expect(noTaskSet?.code == CloudError.taskSetNotFound)
        #expect(noTaskSet?.httpStatus == 400 && noTaskSet?.isRetryable == false)
    }
}
