import CloudModel
import Foundation
@testable import Simulator
import Testing
import TestSupport

/// The simulator's state file: a cloud saved mid-rollout reads back into a new simulator that
/// answers as the old one would have, and goes on from there; a file that makes no sense is
/// refused with its reason.
@Suite struct StateFileTests {
    static func temporaryFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("simulator-\(UUID().uuidString).json")
    }

    @Test func aCloudSavedMidRolloutReadsBackAndGoesOn() async throws {
        let url = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(at: url) }
        let clock = ManualClock()
        var settings = SimulatorSettings()
        settings.autoCreate = true
        settings.autoCreateController = .external
        let first = SimulatedCloud(clock: clock, settings: settings, savingTo: SimulatorStateFile(url: url))
        // Mock mode creates `web` (with its load balancer) on the first read: that is saved too.
        let created = try #require(try await first.cloud.ecs.describeServices(cluster: "demo", services: ["web"]).first)
        let saveAfterRead = try #require(try SimulatorStateFile(url: url).load())
        #expect(saveAfterRead.state.services.keys.sorted() == ["demo/web"])

        let definition = try await first.cloud.ecs.registerTaskDefinition(TaskDefinition(json: .object([
            "family": .string("web"), "containerDefinitions": .array([.object(["name": .string("app"), "image": .string("nginx:2")])]),
        ])))
        let target = try #require(created.taskSets.first?.loadBalancers.first)
        let green = try await first.cloud.ecs.createTaskSet(CreateTaskSetInput(
            cluster: "demo", service: "web", taskDefinition: try #require(definition.arn), externalId: nil,
            scale: Scale(value: 50), loadBalancers: [target], clientToken: "ecs-test"))
        clock.advance(by: .seconds(7))
        let savedAt = clock.now()
        _ = try await first.cloud.ecs.updateTaskSet(cluster: "demo", service: "web", taskSet: green.id, scale: Scale(value: 100))

        // A second simulator on the same clock, from the file (saved at once: saves are paced):
        // the same answers now and later.
        first.flushStateFile()
        let saved = try #require(try SimulatorStateFile(url: url).load())
        #expect(saved.savedAt == savedAt)
        let second = SimulatedCloud(clock: clock, settings: settings, restoring: saved)
        for _ in 0..<3 {
            let a = try await first.cloud.ecs.describeServices(cluster: "demo", services: ["web"])
            let b = try await second.cloud.ecs.describeServices(cluster: "demo", services: ["web"])
            #expect(a == b)
            #expect(first.tasks(cluster: "demo", service: "web") == second.tasks(cluster: "demo", service: "web"))
            clock.advance(by: .seconds(10))
        }
        let steady = try #require(try await second.cloud.ecs.describeServices(cluster: "demo", services: ["web"]).first)
        #expect(steady.taskSets.first { $0.id == green.id }?.runningCount == 3)
        // Reads save nothing once the service exists.
        let modified = try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date
        _ = try await first.cloud.ecs.describeServices(cluster: "demo", services: ["web"])
        #expect(try FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date == modified)
    }

    @Test func unreadableAndInconsistentFilesAreRefusedWithTheirReason() throws {
        let url = Self.temporaryFile()
        defer { try? FileManager.default.removeItem(at: url) }
        let file = SimulatorStateFile(url: url)
        #expect(try file.load() == nil)

        try Data("{ not json".utf8).write(to: url)
        #expect(throws: SimulatorStateFileError.self) { try file.load() }

        // Well-formed but impossible: a task set scaled to 1e300 percent (a trap waiting to happen).
        let sim = SimulatedCloud(clock: ManualClock(), settings: SimulatorSettings(autoCreate: true), savingTo: file)
        _ = try sim.createService(cluster: "demo", name: "web", taskDefinition: try #require(
            try sim.seedTaskDefinition(family: "web", image: "nginx:1").arn), controller: .external)
        sim.flushStateFile()
        var text = try String(contentsOf: url, encoding: .utf8)
        let scale = try #require(text.range(of: #""value":100"#))
        text.replaceSubrange(scale, with: #""value":1e300"#)
        try Data(text.utf8).write(to: url)
        do {
            _ = try file.load()
            Issue.record("an impossible scale was read")
        } catch let error as SimulatorStateFileError {
            #expect(error.description.contains("scale"), "\(error)")
        }
        let aside = try file.moveAside()
        defer { try? FileManager.default.removeItem(at: aside) }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(aside.lastPathComponent.hasPrefix(url.lastPathComponent + ".unreadable-"))
    }
}
