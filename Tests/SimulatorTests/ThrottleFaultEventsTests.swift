import CloudModel
import Foundation
import Simulator
import Testing

@Suite("Throttling, injected faults, EventBridge and STS")
struct ThrottleFaultEventsTests {
    @Test func registerTaskDefinitionBurstIsThrottledLikeAWS() async throws {
        let w = World(settings: SimulatorSettings(throttle: .aws))
        let input = TaskDefinition(json: .object([
            "family": .string("burst"),
            "containerDefinitions": .array([.object(["name": .string("app"), "image": .string("nginx:1")])]),
        ]))
        for _ in 1...20 { _ = try await w.ecs.registerTaskDefinition(input) }
        let throttled = await cloudError { _ = try await w.ecs.registerTaskDefinition(input) }
        #expect(throttled == CloudError(code: "ThrottlingException", message: "Rate exceeded"))
        #expect(w.sim.throttledCount == 1)
        #expect(w.sim.callCounts["ecs:RegisterTaskDefinition"] == 21)

        w.advance(1)
        let passed = try await w.ecs.registerTaskDefinition(input)
        #expect(passed.revision == 21)
        let again = await cloudError { _ = try await w.ecs.registerTaskDefinition(input) }
        #expect(again?.isThrottling == true)
        #expect(w.sim.throttledCount == 2)
        // Other categories have their own buckets.
        _ = try await w.ecs.describeTaskDefinition("burst")
    }

    /// `mock.background_calls`: the account's other tools take their share of a bucket's refill.
    @Test func backgroundCallsTakeTheirShareOfTheAccountsBucket() async throws {
        var settings = SimulatorSettings(throttle: .aws)
        settings.backgroundCalls = ["ecs.register-task-definition": 0.5]
        let w = World(settings: settings)
        let input = TaskDefinition(json: .object([
            "family": .string("busy"),
            "containerDefinitions": .array([.object(["name": .string("app"), "image": .string("nginx:1")])]),
        ]))
        for _ in 1...20 { _ = try await w.ecs.registerTaskDefinition(input) }
        w.advance(1)  // 1/s refill, 0.5/s of it taken by others: half a token
        #expect(await cloudError { _ = try await w.ecs.registerTaskDefinition(input) }?.isThrottling == true)
        w.advance(1)
        _ = try await w.ecs.registerTaskDefinition(input)
    }

    @Test func failNextFailsExactlyThatManyCalls() async throws {
        let w = World()
        let v1 = try w.register(image: "nginx:1")
        try w.sim.createService(cluster: "prod", name: "web", taskDefinition: v1)
        w.sim.failNext(operation: "UpdateService", code: CloudError.server, message: "Service unavailable", times: 2)
        let update = UpdateServiceInput(cluster: "prod", service: "web", desiredCount: 4)
        for _ in 1...2 {
            let error = await cloudError { _ = try await w.ecs.updateService(update) }
            #expect(error?.code == CloudError.server && error?.httpStatus == 500 && error?.isRetryable == true)
        }
        #expect(try await w.ecs.updateService(update).desiredCount == 4)
        #expect(w.sim.callCounts["ecs:UpdateService"] == 3)
        // Other operations were never affected.
        #expect(try await w.describe().desiredCount == 4)

        w.sim.failNext(operation: "elasticloadbalancing:DescribeTargetGroups", code: "AccessDenied", message: "no", times: 1)
        let denied = await cloudError { _ = try await w.elb.describeTargetGroups(arns: []) }
        #expect(denied?.code == "AccessDenied" && denied?.httpStatus == 400)
        #expect(try await w.elb.describeTargetGroups(arns: []).isEmpty)
    }

    /// `mock.api_faults`: a time-out is a call done and not answered; a reset is a call never
    /// read; throttles and 500s are answered as AWS answers them. Each draw is counted.
    @Test func apiFaultsFailTheirShareOfCallsAsTold() async throws {
        let timeouts = World(settings: { var s = SimulatorSettings(); s.apiFaults = APIFaultRates(timeout: 1); return s }())
        let v1 = try timeouts.register(image: "nginx:1")
        try timeouts.sim.createService(cluster: "prod", name: "web", taskDefinition: v1)
        let timedOut = await cloudError { _ = try await timeouts.ecs.updateService(UpdateServiceInput(cluster: "prod", service: "web", desiredCount: 4)) }
        #expect(timedOut?.code == "RequestTimeout" && timedOut?.isRetryable == true && timedOut.map(APIFault.transportFault) == .timeout)
        #expect(try timeouts.sim.describeServices(cluster: "prod", services: ["web"]).first?.desiredCount == 4, "a time-out is done")

        let resets = World(settings: { var s = SimulatorSettings(); s.apiFaults = APIFaultRates(reset: 1); return s }())
        let v2 = try resets.register(image: "nginx:1")
        try resets.sim.createService(cluster: "prod", name: "web", taskDefinition: v2)
        let reset = await cloudError { _ = try await resets.ecs.updateService(UpdateServiceInput(cluster: "prod", service: "web", desiredCount: 4)) }
        #expect(reset?.code == "TransportError" && reset?.isRetryable == true && reset.map(APIFault.transportFault) == .reset)
        #expect(try resets.sim.describeServices(cluster: "prod", services: ["web"]).first?.desiredCount != 4, "a reset is not done")

        let mixed = World(settings: { var s = SimulatorSettings(); s.apiFaults = APIFaultRates(throttle: 0.1, serverError: 0.1); return s }())
        var answered: [String: Int] = [:]
        for _ in 0..<2000 {
            do { _ = try await mixed.elb.describeTargetGroups(arns: []); answered["ok", default: 0] += 1 } catch let error as CloudError {
                answered[error.code, default: 0] += 1
                #expect(APIFault.transportFault(error) == nil)
            }
        }
        // 10% each, drawn from a seeded generator: within a few standard deviations (~13).
        #expect((140...260).contains(answered["ThrottlingException"] ?? 0) && (140...260).contains(answered["InternalFailure"] ?? 0), "\(answered)")
        #expect(mixed.sim.injectedFaults == ["throttle": answered["ThrottlingException"] ?? 0, "server_error": answered["InternalFailure"] ?? 0])
        #expect(mixed.sim.throttledCount == answered["ThrottlingException"] && mixed.sim.callCounts["elasticloadbalancing:DescribeTargetGroups"] == 2000)
    }

    /// A rule fires each period from when it is first seen, its jobs exit; after a long gap
    /// (a fast clock) at most 10 firings are caught up, counted rather than walked.
    @Test func rulesFireOnTheirScheduleAndCatchUpAtMostTen() async throws {
        let w = World()
        let job = try w.register("job", image: "busybox:1")
        w.sim.createEventRule(name: "every-minute", scheduleExpression: "rate(1 minute)", targets: [RuleTarget(json: .object([
            "Id": .string("1"), "Arn": .string("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
            "EcsParameters": .object(["TaskDefinitionArn": .string(job), "TaskCount": .number(2)]),
        ]))])
        func jobs(_ status: String) throws -> Int {
            try w.sim.listTasks(cluster: "prod", serviceName: nil, startedBy: "events-rule/every-minute", desiredStatus: status).count
        }
        #expect(try jobs("RUNNING") == 0)  // first seen now
        w.advance(60)
        #expect(try jobs("RUNNING") == 2)
        w.advance(2 * 60)  // two more firings; the first ones' jobs ended 60 s after running
        #expect(try jobs("RUNNING") == 4 && jobs("STOPPED") == 2)
        w.clock.advance(by: .seconds(10 * 365 * 86400))
        #expect(try jobs("RUNNING") + jobs("STOPPED") <= 6 + 20, "at most 10 firings of 2 tasks caught up")
    }

    @Test func putTargetsUpsertsAndKeepsUnknownFields() async throws {
        let w = World()
        let original = try JSONValue.parse("""
            {"Id":"nightly","Arn":"arn:aws:ecs:us-east-1:123456789012:cluster/prod",
             "RoleArn":"arn:aws:iam::123456789012:role/events",
             "EcsParameters":{"TaskDefinitionArn":"arn:aws:ecs:us-east-1:123456789012:task-definition/job:1",
                              "TaskCount":1,"LaunchType":"FARGATE",
                              "NetworkConfiguration":{"awsvpcConfiguration":{"Subnets":["subnet-1"]}}},
             "SomethingNew":{"keep":true}}
            """)
        w.sim.createEventRule(name: "nightly-job", scheduleExpression: "cron(0 3 * * ? *)",
                              targets: [RuleTarget(json: original)])
        let events = w.cloud.events
        let rule = try await events.describeRule(name: "nightly-job")
        #expect(rule.arn == "arn:aws:events:us-east-1:123456789012:rule/nightly-job")
        #expect(rule.scheduleExpression == "cron(0 3 * * ? *)" && rule.state == "ENABLED")

        let current = try #require(try await events.listTargetsByRule(rule: "nightly-job").first)
        let newArn = "arn:aws:ecs:us-east-1:123456789012:task-definition/job:2"
        let extra = RuleTarget(json: .object(["Id": .string("audit"), "Arn": .string("arn:aws:sqs:us-east-1:123456789012:q")]))
        try await events.putTargets(rule: "nightly-job", targets: [current.withTaskDefinition(newArn), extra])
        let targets = try await events.listTargetsByRule(rule: "nightly-job")
        #expect(targets.map { $0.id ?? "" } == ["nightly", "audit"])
        #expect(targets[0].taskDefinitionArn == newArn)
        #expect(targets[0].json["SomethingNew"] == original["SomethingNew"])
        #expect(targets[0].json["EcsParameters"]?["NetworkConfiguration"] == original["EcsParameters"]?["NetworkConfiguration"])

        let missing = await cloudError { _ = try await events.describeRule(name: "ghost") }
        #expect(missing?.code == CloudError.resourceNotFound)
    }

    @Test func callerIdentity() async throws {
        let w = World()
        let identity = try await w.cloud.identity.getCallerIdentity()
        #expect(identity.account == "123456789012")
        #expect(w.sim.callCounts["sts:GetCallerIdentity"] == 1)
    }
}
