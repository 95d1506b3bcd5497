import CloudModel
import Foundation
import Simulator
import Testing
import TestSupport

/// A simulator on a manual clock, with one cluster and a `web` task definition family.
struct World {
    let clock = ManualClock()
    let sim: SimulatedCloud
    var cloud: Cloud { sim.cloud }
    var ecs: any ECSAPI { sim.cloud.ecs }
    var elb: any ELBAPI { sim.cloud.elb }

    init(settings: SimulatorSettings = .init()) {
        sim = SimulatedCloud(clock: clock, settings: settings)
        sim.createCluster("prod")
    }

    func advance(_ seconds: Int) { clock.advance(by: .seconds(seconds)) }

    /// Registers `family` with one container running `image`; returns its ARN.
    @discardableResult
    func register(_ family: String = "web", image: String) throws -> String {
        try #require(try sim.seedTaskDefinition(family: family, image: image).arn)
    }

    func describe(_ service: String = "web") async throws -> ECSService {
        try #require(try await ecs.describeServices(cluster: "prod", services: [service]).first)
    }

    func deploy(_ service: String = "web", taskDefinition: String) async throws {
        _ = try await ecs.updateService(UpdateServiceInput(cluster: "prod", service: service, taskDefinition: taskDefinition))
    }

    func stoppedReasons(_ service: String = "web") -> [String] {
        sim.tasks(cluster: "prod", service: service).compactMap(\.stoppedReason)
    }
}

/// Runs `body` and returns the `CloudError` it threw (nil, and a failed expectation, if none).
func cloudError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> CloudError? {
    do {
        try await body()
        Issue.record("expected a CloudError", sourceLocation: sourceLocation)
        return nil
    } catch let error as CloudError {
        return error
    } catch {
        Issue.record("expected a CloudError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
