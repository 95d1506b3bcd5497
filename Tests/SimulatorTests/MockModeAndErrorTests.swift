import CloudModel
import Foundation
import Simulator
import Testing

@Suite("Mock mode, task definitions and AWS errors")
struct MockModeAndErrorTests {
    @Test func autoCreatesClusterAndServiceOnFirstMention() async throws {
        let w = World(settings: SimulatorSettings(autoCreate: true))
        let found = try await w.ecs.describeServices(cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/mock", services: ["api"])
        let api = try #require(found.first)
        #expect(api.serviceName == "api" && api.deploymentController == .ecs)
        #expect(api.runningCount == 3 && api.desiredCount == 3)
        #expect(api.serviceArn == "arn:aws:ecs:us-east-1:123456789012:service/mock/api")
        #expect(api.deploymentConfiguration?.circuitBreaker == CircuitBreaker(enable: true, rollback: false))
        let definition = try await w.ecs.describeTaskDefinition(try #require(api.taskDefinition))
        #expect(definition.familyRevision == "api:1")
        #expect(definition.images.map(\.image) == ["public.ecr.aws/nginx/nginx:stable"])
        #expect(definition.containers.first?["memory"]?.intValue == 512)

        // The engine's usual flow: new revision from the current one, then UpdateService.
        let next = try await w.ecs.registerTaskDefinition(definition.registrationInput().withImage("nginx:2"))
        _ = try await w.ecs.updateService(UpdateServiceInput(cluster: "mock", service: "api", taskDefinition: "api:2"))
        w.advance(20)
        let after = try #require(try await w.ecs.describeServices(cluster: "mock", services: ["api"]).first)
        #expect(after.taskDefinition == next.arn && after.primaryDeployment?.rolloutState == "COMPLETED")

        // UpdateService also creates what it names.
        let other = try await w.ecs.updateService(UpdateServiceInput(cluster: "mock2", service: "worker", desiredCount: 3))
        #expect(other.desiredCount == 3 && other.clusterArn.hasSuffix(":cluster/mock2"))
    }

    @Test func missingThingsWithoutMockMode() async throws {
        let w = World()
        #expect(try await w.ecs.describeServices(cluster: "prod", services: ["ghost"]).isEmpty)
        let noService = await cloudError { _ = try await w.ecs.updateService(UpdateServiceInput(cluster: "prod", service: "ghost", desiredCount: 1)) }
        #expect(noService == CloudError(code: CloudError.serviceNotFound, message: "Service not found."))
        let noCluster = await cloudError { _ = try await w.ecs.describeServices(cluster: "nowhere", services: ["web"]) }
        #expect(noCluster == CloudError(code: CloudError.clusterNotFound, message: "Cluster not found."))
        let noDefinition = await cloudError { _ = try await w.ecs.describeTaskDefinition("ghost:7") }
        #expect(noDefinition == CloudError(code: CloudError.client, message: "Unable to describe task definition."))
        let v1 = try w.register(image: "nginx:1")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1)
        let badUpdate = await cloudError { try await w.deploy(taskDefinition: "web:9") }
        #expect(badUpdate?.code == CloudError.client)
    }

    @Test func describeServicesTakesAtMostTen() async throws {
        let w = World()
        let names = (1...11).map { "svc\($0)" }
        let error = await cloudError { _ = try await w.ecs.describeServices(cluster: "prod", services: names) }
        #expect(error?.code == CloudError.invalidParameter)
    }

    @Test func listServicesPagesByTen() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        for i in 1...12 { try w.sim.createService(cluster: "prod", name: "svc\(i)", taskDefinition: v1, desiredCount: 1) }
        let first = try await w.ecs.listServices(cluster: "prod", nextToken: nil)
        #expect(first.serviceArns.count == 10 && first.nextToken != nil)
        let second = try await w.ecs.listServices(cluster: "prod", nextToken: first.nextToken)
        #expect(second.serviceArns.count == 2 && second.nextToken == nil)
        #expect(second.serviceArns.last == "arn:aws:ecs:us-east-1:123456789012:service/prod/svc12")
    }

    @Test func registerKeepsFieldsAndCountsRevisions() async throws {
        let w = World()
        let input = try JSONValue.parse("""
            {"family":"job","cpu":"256","futureField":{"a":[1,2]},
             "containerDefinitions":[{"name":"main","image":"busybox:1","essential":true}]}
            """)
        let first = try await w.ecs.registerTaskDefinition(TaskDefinition(json: input))
        let second = try await w.ecs.registerTaskDefinition(TaskDefinition(json: input))
        #expect(first.revision == 1 && second.revision == 2)
        #expect(second.arn == "arn:aws:ecs:us-east-1:123456789012:task-definition/job:2")
        #expect(second.json["status"]?.stringValue == "ACTIVE" && second.json["registeredAt"] != nil)
        #expect(second.json["futureField"] == input["futureField"] && second.json["cpu"]?.stringValue == "256")
        #expect(try await w.ecs.describeTaskDefinition("job").revision == 2)
        #expect(try await w.ecs.describeTaskDefinition(try #require(first.arn)).revision == 1)

        let noFamily = await cloudError {
            _ = try await w.ecs.registerTaskDefinition(TaskDefinition(json: .object(["containerDefinitions": .array([])])))
        }
        #expect(noFamily?.code == CloudError.client)
        let noContainers = await cloudError {
            _ = try await w.ecs.registerTaskDefinition(TaskDefinition(json: .object(["family": .string("x")])))
        }
        #expect(noContainers?.code == CloudError.client)
    }

    @Test func listAndDescribeTasksKeepRecentlyStoppedOnes() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        let v2 = try w.register(image: "nginx:2")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1, desiredCount: 2)
        let before = try await w.ecs.listTasks(cluster: "prod", serviceName: "web", startedBy: nil)
        try await w.deploy(taskDefinition: v2)
        w.advance(20)
        let listed = try await w.ecs.listTasks(cluster: "prod", serviceName: "web", startedBy: nil)
        #expect(listed.count == 4)
        let old = try await w.ecs.describeTasks(cluster: "prod", tasks: before)
        #expect(old.count == 2 && old.allSatisfy { $0.lastStatus == "STOPPED" && $0.desiredStatus == "STOPPED" })
        #expect(old.allSatisfy { $0.stoppedReason?.hasPrefix("Scaling activity") == true && $0.stoppedAt != nil })
        w.advance(120)
        #expect(try await w.ecs.listTasks(cluster: "prod", serviceName: "web", startedBy: nil).count == 2)
        #expect(try await w.ecs.describeTasks(cluster: "prod", tasks: before).count == 2)
        w.advance(3600)
        #expect(try await w.ecs.describeTasks(cluster: "prod", tasks: before).isEmpty)
    }
}
