import CloudModel
import Foundation

/// One field of a service that differs from what its last successful deployment left.
public struct DriftItem: Sendable, Equatable, Codable {
    public var field: String
    public var expected: String
    public var actual: String
}

public struct DriftReport: Sendable, Equatable {
    public var cluster: String
    public var service: String
    /// The deployment compared against (nil: none recorded for this service).
    public var baselineDeployment: String?
    public var items: [DriftItem]

    public var summary: String {
        guard baselineDeployment != nil else { return "no successful deployment of this service is recorded" }
        if items.isEmpty { return "no drift since deployment \(baselineDeployment!)" }
        return items.map { "\($0.field): expected \($0.expected), found \($0.actual)" }.joined(separator: "; ")
    }
}

/// What a successful deployment left, compared with what runs now. Pure. Desired counts
/// (autoscaling) and fields AWS fills in are not compared: only the task definition and its
/// images, the task sets and the traffic weights.
enum DriftDetector {
    struct Live {
        var service: ECSService
        var images: [String: String]
        var routes: [TrafficRoute]
    }

    static func compare(facts: DeploymentFacts, expectedImages: [String: String], live: Live) -> [DriftItem] {
        guard let expectedTD = facts.newTaskDefinition else { return [] }
        var items: [DriftItem] = []
        let service = live.service
        let liveTD = service.primaryTaskSet?.taskDefinition ?? service.taskDefinition ?? "none"
        if liveTD != expectedTD {
            items.append(DriftItem(field: "taskDefinition", expected: expectedTD.arnResourceName, actual: liveTD.arnResourceName))
        }
        for name in Set(expectedImages.keys).union(live.images.keys).sorted() where expectedImages[name] != live.images[name] {
            items.append(DriftItem(field: "containerDefinitions[\(name)].image", expected: expectedImages[name] ?? "none",
                                   actual: live.images[name] ?? "none"))
        }
        if service.deploymentController == .external {
            let sets = service.taskSets
            let expectedSet = facts.newTaskSet ?? "?"
            if sets.count != 1 || sets.first?.id != expectedSet || sets.first?.status != "PRIMARY" {
                let actual = sets.map { "\($0.status) \($0.id) \($0.taskDefinition.arnResourceName)" }.joined(separator: ", ")
                items.append(DriftItem(field: "taskSets", expected: "PRIMARY \(expectedSet) only", actual: actual.isEmpty ? "none" : actual))
            }
            if let tg = facts.newTargetGroup {
                for route in live.routes where route.share(of: tg) != 100 {
                    let actual = route.weights.sorted { $0.key < $1.key }.map { "\($0.key.arnResource)=\($0.value)" }
                    items.append(DriftItem(field: "weights[\(route.arn.arnResource)]", expected: "\(tg.arnResource)=100%",
                                           actual: actual.joined(separator: ", ")))
                }
            }
        }
        return items
    }
}

extension DeploymentEngine {
    /// Compares a service with its last successful deployment.
    public func drift(cluster: String, service: String) async throws -> DriftReport {
        let found: [ECSService]
        do {
            found = try await cloud.ecs.describeServices(cluster: cluster, services: [service])
        } catch let error as CloudError where error.code == CloudError.clusterNotFound {
            throw EngineError(.notFound, field: "cluster", "cluster \(cluster) not found")
        }
        guard let live = found.first else {
            throw EngineError(.notFound, field: "service", "service \(service) not found in cluster \(cluster)")
        }
        let key = "\(cluster.arnResourceName)/\(service.arnResourceName)"
        let report = try await driftReport(service: live, key: key)
        let summary = report.summary
        env.logger.info("drift check of \(key): \(summary)")
        for observer in env.observers { observer.drift(report) }
        return report
    }

    func driftReport(service: ECSService, key: String) async throws -> DriftReport {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        var report = DriftReport(cluster: parts[0], service: parts.count > 1 ? parts[1] : "", baselineDeployment: nil, items: [])
        let history = try await store.list(DeploymentFilter(cluster: report.cluster, service: report.service, statuses: [.succeeded]))
        guard let baseline = history.first, let expectedTD = baseline.facts.newTaskDefinition else { return report }
        report.baselineDeployment = baseline.id
        let liveTD = service.primaryTaskSet?.taskDefinition ?? service.taskDefinition
        let runner = DeploymentRunner(engine: self, env: env, settings: baseline.settings)
        let expectedImages = try await images(of: expectedTD)
        var liveImages: [String: String] = [:]
        if let liveTD { liveImages = try await images(of: liveTD) }
        let routes = service.deploymentController == .external ? try await runner.readWeights(baseline.facts.trafficTargets) : []
        report.items = DriftDetector.compare(facts: baseline.facts, expectedImages: expectedImages,
                                             live: DriftDetector.Live(service: service, images: liveImages, routes: routes))
        return report
    }

    private func images(of taskDefinition: String) async throws -> [String: String] {
        let td = try await cloud.ecs.describeTaskDefinition(taskDefinition)
        return Dictionary(td.images.map { ($0.container, $0.image) }, uniquingKeysWith: { a, _ in a })
    }
}
