import CloudModel
import DeployAPI
import Foundation
import Server
import Simulator
import Testing

/// Releases through the real server and client, on the simulator with the test clock.
@Suite struct ReleaseTests {
    /// The second seed's sample, as written there.
    static let seedManifest = """
        tasks:
          - service: rating-cleanup
            cwRuleName: test-rating-cleanup
            image: "11111111111.dkr.ecr.us-west-2.amazonaws.com/rating-cleanup:2.0.0"
        services:
          - service: service-a
            clusterName: test-Cluster-0IEYQ2GqGmL7
            serviceName: test-movie-info-service-Service-TALkUbJVrBgS
            image: "11111111111.dkr.ecr.us-east-1.amazonaws.com/movie-info-service:4.0.0"
        """

    static func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("deployment-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static var mockMode: SimulatorSettings {
        var s = SimulatorSettings()
        s.autoCreate = true
        s.autoCreateController = .external
        return s
    }

    @Test func seedManifestRunsUnchangedInMockMode() async throws {
        let t = try await TestServer(simulator: Self.mockMode)
        let file = try Self.write(Self.seedManifest)
        let plan = await t.client(["-action", "plan", "-file", file])
        #expect(plan.code == 0, "\(plan.text)")
        #expect(plan.out.contains { $0.hasPrefix("  ~ task rating-cleanup (rule test-rating-cleanup)") }, "\(plan.text)")
        #expect(plan.out.contains { $0.hasPrefix("  ~ service service-a (test-Cluster-0IEYQ2GqGmL7/test-movie-info-service-Service-TALkUbJVrBgS)") })

        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "r1", "-wait"]) }
        #expect(result.code == 0, "\(result.text)")
        #expect(result.out.last?.hasPrefix("Release r1: SUCCEEDED") == true, "\(result.text)")
        let service = try #require(t.service(cluster: "test-Cluster-0IEYQ2GqGmL7", "test-movie-info-service-Service-TALkUbJVrBgS"))
        let td = try t.sim.describeTaskDefinition(service.taskSets.first!.taskDefinition)
        #expect(td.images.map(\.image) == ["11111111111.dkr.ecr.us-east-1.amazonaws.com/movie-info-service:4.0.0"])
        let target = try #require(try t.sim.listTargetsByRule(rule: "test-rating-cleanup").first)
        let taskTD = try t.sim.describeTaskDefinition(try #require(target.taskDefinitionArn))
        #expect(taskTD.images.map(\.image) == ["11111111111.dkr.ecr.us-west-2.amazonaws.com/rating-cleanup:2.0.0"])
        #expect(target.json["RoleArn"] != nil, "PutTargets kept the target's other fields")

        // The same manifest again changes nothing.
        let again = await t.client(["-action", "release", "-file", file, "-id", "r2"])
        #expect(again.out.first == "Release r2 accepted: 0 of 2 entries to change, status SUCCEEDED", "\(again.text)")
        let status = await t.client(["-action", "status", "-id", "r1"])
        #expect(status.out.contains("Status:      SUCCEEDED"), "\(status.text)")
        try await t.stop()
    }

    @Test func brokenManifestNamesFileLineAndField() async throws {
        let t = try await TestServer(simulator: Self.mockMode)
        let file = try Self.write("services:\n  - service: a\n    clusterName: c\n    serviceName: s\n    imgae: x\n")
        let result = await t.client(["-action", "release", "-file", file])
        #expect(result.code == 1)
        let name = URL(fileURLWithPath: file).lastPathComponent
        #expect(result.err.first?.hasPrefix("error: \(name):") == true, "\(result.text)")
        #expect(result.err.first?.contains("services[0]") == true, "\(result.text)")
        try await t.stop()
    }

    /// 6 services; one image never becomes healthy: the whole release rolls back.
    @Test func oneUnhealthyServiceRollsBackTheWholeRelease() async throws {
        let t = try await TestServer()
        for i in 1...6 { try t.seedService(cluster: "prod", name: "svc-\(i)", image: "repo/svc-\(i):1") }
        let rule = try t.sim.seedTaskDefinition(family: "cleanup", image: "repo/cleanup:1")
        t.sim.createEventRule(name: "nightly-cleanup", targets: [RuleTarget(json: .object([
            "Id": .string("t1"), "Arn": .string("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
            "EcsParameters": .object(["TaskDefinitionArn": .string(rule.arn!), "TaskCount": .number(1)]),
        ]))])
        var manifest = "tasks:\n  - service: cleanup\n    cwRuleName: nightly-cleanup\n    image: repo/cleanup:2\nservices:\n"
        for i in 1...6 {
            let image = i == 4 ? "repo/svc-4:2-unhealthy" : "repo/svc-\(i):2"
            manifest += "  - service: svc-\(i)\n    clusterName: prod\n    serviceName: svc-\(i)\n    image: \(image)\n"
        }
        let file = try Self.write(manifest)
        let result = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "bad", "-wait"]) }
        #expect(result.code == 1)
        #expect(result.out.last?.hasPrefix("Release bad: ROLLED_BACK") == true, "\(result.text)")
        for i in 1...6 {
            let service = try #require(t.service("svc-\(i)"))
            #expect(service.taskDefinition?.hasSuffix("svc-\(i):1") == true, "svc-\(i) on \(service.taskDefinition ?? "-")")
            #expect(service.deployments.count == 1)
        }
        #expect(try t.sim.listTargetsByRule(rule: "nightly-cleanup").first?.taskDefinitionArn == rule.arn)
        let release = await t.client(["-action", "status", "-id", "bad"])
        #expect(release.out.contains { $0.contains("ROLLED_BACK") && $0.contains("service svc-4") }, "\(release.text)")
        try await t.stop()
    }
}
