import AWSAuth
@testable import AWSCloud
import CloudModel
import Foundation
import MotoHarness
import Simulator
import Testing
import TestSupport

/// ECS's service deployment calls on the wire. moto does not implement them, so: recorded
/// answers (Tests/Fixtures/ecs-service-deployments, in the shapes of ECS's API reference) are
/// checked against botocore's model of ECS and decoded by the client; the local endpoint's
/// answers are checked against the same model; and the client's requests are checked by the
/// moto harness's request check (which sees them although moto cannot answer them).
@Suite(.enabled(if: MotoServer.isAvailable, Comment(rawValue: MotoServer.unavailableReason ?? "")))
struct ServiceDeploymentWireTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures/ecs-service-deployments")
    static let operations = ["ListServiceDeployments", "DescribeServiceDeployments", "DescribeServiceRevisions",
                             "ContinueServiceDeployment", "StopServiceDeployment"]

    /// Problems of an answer against botocore's output shape of `operation`.
    static func modelProblems(_ operation: String, _ file: URL) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("scripts/moto/request_check.py").path, "answer", "ecs", operation, file.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        if process.terminationStatus != 0, lines.isEmpty { return ["the check failed with status \(process.terminationStatus)"] }
        return lines
    }

    @Test func recordedAnswersHoldToTheModelAndDecode() async throws {
        for operation in Self.operations {
            let file = Self.fixtures.appendingPathComponent("\(operation).json")
            #expect(try Self.modelProblems(operation, file) == [], "\(operation)")
        }
        func answer(_ operation: String) throws -> CannedHTTPServer.Canned {
            CannedHTTPServer.Canned(status: 200, headers: [("Content-Type", "application/x-amz-json-1.1")],
                                    body: try String(contentsOf: Self.fixtures.appendingPathComponent("\(operation).json"), encoding: .utf8))
        }
        let server = try await CannedHTTPServer.start(responses: try Self.operations.map(answer))
        defer { Task { await server.stop() } }
        let environment = try AWSEnvironment(environment: ["AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(server.port)"])
        let ecs = AWSCloudFactory(environment: environment, credentials: StaticCredentials()).ecs

        let listed = try await ecs.listServiceDeployments(cluster: "prod", service: "web")
        #expect(listed.map(\.status) == ["IN_PROGRESS", "SUCCESSFUL"], "newest first")
        #expect(listed.first?.targetServiceRevisionArn?.hasSuffix("service-revision/prod/web/4980306466373577095") == true)

        let described = try await ecs.describeServiceDeployments(arns: [listed[0].serviceDeploymentArn])
        let running = try #require(described.first)
        #expect(running.lifecycleStage == "PRODUCTION_TRAFFIC_SHIFT")
        #expect(running.targetServiceRevision?.requestedProductionTrafficWeight == 10)
        #expect(running.sourceServiceRevisions.first?.requestedProductionTrafficWeight == 90)
        #expect(running.awaitingHook?.hookId == "0123456789abcdef0123456789abcdef")
        #expect(running.awaitingHook?.timeoutAction == "ROLLBACK")
        #expect(running.deploymentConfiguration?.strategy == .canary)
        #expect(running.deploymentConfiguration?.canaryConfiguration == CanaryConfiguration(canaryPercent: 10, canaryBakeTimeInMinutes: 10))
        #expect(running.deploymentConfiguration?.lifecycleHooks?.first?.lifecycleStages == ["PRE_PRODUCTION_TRAFFIC_SHIFT"])
        #expect(running.deploymentConfiguration?.lifecycleHooks?.first?.timeoutInMinutes == 1440)
        #expect(running.deploymentConfiguration?.alarms?.alarmNames == ["web-5xx"])
        #expect(running.circuitBreaker == RollbackMonitor(status: "MONITORING", failureCount: 0, threshold: 3))
        let rolledBack = try #require(described.last)
        #expect(rolledBack.status == "ROLLBACK_SUCCESSFUL" && rolledBack.isFinished && rolledBack.isRollingBack)
        #expect(rolledBack.rollback?.reason?.contains("circuit breaker") == true)
        #expect(rolledBack.circuitBreaker?.status == "TRIGGERED")

        let revision = try #require(try await ecs.describeServiceRevisions(arns: [listed[0].targetServiceRevisionArn!]).first)
        #expect(revision.taskDefinition == "arn:aws:ecs:us-east-1:123456789012:task-definition/web:42")
        #expect(revision.resolvedTargetGroups.map { $0.hasSuffix("web-green/2c2a4b7f0e1d3a5b") } == [true])
        #expect(revision.otherTargetGroup?.hasSuffix("web-blue/9d8c7b6a5f4e3d2c") == true)

        try await ecs.continueServiceDeployment(arn: listed[0].serviceDeploymentArn, hookId: "0123456789abcdef0123456789abcdef", action: "CONTINUE")
        try await ecs.stopServiceDeployment(arn: listed[0].serviceDeploymentArn, stopType: "ROLLBACK")

        // What the client sent: each operation by its target, with the members ECS names.
        let sent = server.requests
        #expect(sent.count == 5)
        let targets = sent.compactMap { request in request.headers.first { $0.0.lowercased() == "x-amz-target" }?.1 }
        #expect(targets == Self.operations.map { "AmazonEC2ContainerServiceV20141113.\($0)" })
        let continued = try JSONValue.parse(sent[3].body)
        #expect(continued["hookId"]?.stringValue == "0123456789abcdef0123456789abcdef" && continued["action"]?.stringValue == "CONTINUE")
    }

    /// `grpc-server simulate` answers a native canary's calls in the shapes AWS answers with.
    @Test func theLocalEndpointAnswersInTheModelsShapes() async throws {
        let clock = ManualClock()
        let sim = SimulatedCloud(clock: clock, settings: SimulatorSettings())
        let td = try sim.seedTaskDefinition(family: "web", image: "web:1")
        try sim.createNativeService(cluster: "prod", name: "web", taskDefinition: td.arn!)
        let next = try sim.registerTaskDefinition(TaskDefinition(json: try JSONValue.parse(
            #"{"family":"web","containerDefinitions":[{"name":"app","image":"web:2"}]}"#)))
        let wire = ECSWire(ecs: sim)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wire-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func check(_ operation: String, _ input: JSONValue) async throws -> JSONValue {
            let answer = try await wire.call(operation, input)
            let file = directory.appendingPathComponent("\(operation)-\(UUID().uuidString).json")
            try Data(answer.serialized().utf8).write(to: file)
            #expect(try Self.modelProblems(operation, file) == [], "\(operation): \(answer)")
            return answer
        }
        func text(_ v: String) -> JSONValue { .string(v) }
        let hooks: JSONValue = .array([.object(["targetType": text("PAUSE"), "lifecycleStages": .array([text("POST_TEST_TRAFFIC_SHIFT")])])])
        let update = try await check("UpdateService", .object([
            "cluster": text("prod"), "service": text("web"), "taskDefinition": .string(next.arn!),
            "deploymentConfiguration": .object(["strategy": text("CANARY"), "bakeTimeInMinutes": .number(1),
                                                "canaryConfiguration": .object(["canaryPercent": .number(10), "canaryBakeTimeInMinutes": .number(5)]),
                                                "lifecycleHooks": hooks]),
        ]))
        #expect(update["service"]?["deploymentConfiguration"]?["strategy"]?.stringValue == "CANARY")
        clock.advance(by: .seconds(120))
        let listed = try await check("ListServiceDeployments", .object(["cluster": text("prod"), "service": text("web")]))
        let arn = try #require(listed["serviceDeployments"]?.arrayValue?.first?["serviceDeploymentArn"]?.stringValue)
        let revision = try #require(listed["serviceDeployments"]?.arrayValue?.first?["targetServiceRevisionArn"]?.stringValue)
        _ = try await check("DescribeServiceRevisions", .object(["serviceRevisionArns": .array([.string(revision)])]))
        let described = try await check("DescribeServiceDeployments", .object(["serviceDeploymentArns": .array([.string(arn)])]))
        let hook = try #require(described["serviceDeployments"]?.arrayValue?.first?["lifecycleHookDetails"]?.arrayValue?.first?["hookId"]?.stringValue)
        _ = try await check("ContinueServiceDeployment", .object(["serviceDeploymentArn": .string(arn), "hookId": .string(hook),
                                                                  "action": text("CONTINUE")]))
        _ = try await check("StopServiceDeployment", .object(["serviceDeploymentArn": .string(arn), "stopType": text("ROLLBACK")]))
        clock.advance(by: .seconds(60))
        let ended = try await check("DescribeServiceDeployments", .object(["serviceDeploymentArns": .array([.string(arn)])]))
        #expect(ended["serviceDeployments"]?.arrayValue?.first?["status"]?.stringValue == "ROLLBACK_SUCCESSFUL", "\(ended)")
        // A refusal names the field, as ECS does.
        await #expect(throws: CloudError.self) { _ = try await wire.call("DescribeServiceDeployments", .object(["serviceDeploymentArns": .array([])])) }
    }

    /// The client's requests for these calls, as the moto harness's check sees them: members,
    /// types and enums as botocore's model of ECS has them (moto itself cannot answer them).
    @Test func theClientsRequestsHoldToTheModel() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let ecs = AWSCloudFactory(environment: try moto.environment(), credentials: StaticCredentials()).ecs
        let arn = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/Nz9Bd2Lp4hPtWxU0xPjQc"
        _ = try? await ecs.listServiceDeployments(cluster: moto.string("cluster"), service: moto.string("service"))
        _ = try? await ecs.describeServiceDeployments(arns: [arn])
        _ = try? await ecs.describeServiceRevisions(arns: ["arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1"])
        _ = try? await ecs.continueServiceDeployment(arn: arn, hookId: "h1", action: "ROLLBACK")
        _ = try? await ecs.stopServiceDeployment(arn: arn, stopType: "ROLLBACK")
        var configuration = DeploymentConfiguration(circuitBreaker: CircuitBreaker(enable: true, rollback: true), strategy: .linear,
                                                    bakeTimeInMinutes: 5,
                                                    linearConfiguration: LinearConfiguration(stepPercent: 25, stepBakeTimeInMinutes: 2),
                                                    lifecycleHooks: [DeploymentLifecycleHook(targetType: "PAUSE", lifecycleStages: ["POST_SCALE_UP"],
                                                                                             timeoutInMinutes: 60, timeoutAction: "ROLLBACK",
                                                                                             hookDetails: .object(["ecs-deploy": .string("approve_at")]))],
                                                    alarms: DeploymentAlarms(alarmNames: ["web-5xx"], enable: true, rollback: true))
        configuration.canaryConfiguration = CanaryConfiguration(canaryPercent: 12.5, canaryBakeTimeInMinutes: 3)
        _ = try? await ecs.updateService(UpdateServiceInput(cluster: moto.string("cluster"), service: moto.string("service"),
                                                            deploymentConfiguration: configuration))
        #expect(moto.takeRequestProblems() == [])
    }
}
