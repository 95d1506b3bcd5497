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
        /// Target groups that receive traffic but have no healthy target.
        var emptyGroups: Set<String> = []
    }

    /// What the server last left a service as: the new revision of a deployment that
    /// succeeded, or the previous one of a deployment it rolled back.
    struct Expected {
        var taskDefinition: String
        var taskSet: String?
        var targetGroup: String?

        init?(_ record: DeploymentRecord) {
            let f = record.facts
            switch record.status {
            case .succeeded:
                guard let td = f.newTaskDefinition else { return nil }
                (taskDefinition, taskSet, targetGroup) = (td, f.newTaskSet, f.newTargetGroup)
            case .rolledBack:
                guard let td = f.previousTaskDefinition else { return nil }
                (taskDefinition, taskSet, targetGroup) = (td, f.previousTaskSet, f.previousTargetGroup)
            default:
                return nil
            }
        }
    }

    static func compare(expected: Expected, expectedImages: [String: String], live: Live) -> [DriftItem] {
        let expectedTD = expected.taskDefinition
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
            let expectedSet = expected.taskSet ?? "?"
            if sets.count != 1 || sets.first?.id != expectedSet || sets.first?.status != "PRIMARY" {
                let actual = sets.map { "\($0.status) \($0.id) \($0.taskDefinition.arnResourceName)" }.joined(separator: ", ")
                items.append(DriftItem(field: "taskSets", expected: "PRIMARY \(expectedSet) only", actual: actual.isEmpty ? "none" : actual))
            }
            if let tg = expected.targetGroup {
                for route in live.routes where route.share(of: tg) != 100 {
                    let actual = route.weights.sorted { $0.key < $1.key }.map { "\($0.key.arnResource)=\($0.value)" }
                    items.append(DriftItem(field: "weights[\(route.arn.arnResource)]", expected: "\(tg.arnResource)=100%",
                                           actual: actual.joined(separator: ", ")))
                }
            }
            for group in live.emptyGroups.sorted() {
                items.append(DriftItem(field: "targets[\(group.arnResource)]", expected: "healthy targets behind its traffic",
                                       actual: "none healthy"))
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
        // The baseline: what the server last left the service as, its own rollbacks included.
        let history = try await store.list(DeploymentFilter(cluster: report.cluster, service: report.service,
                                                            statuses: [.succeeded, .rolledBack]))
        guard let baseline = history.first(where: { DriftDetector.Expected($0) != nil }),
              let expected = DriftDetector.Expected(baseline) else { return report }
        let expectedTD = expected.taskDefinition
        report.baselineDeployment = baseline.id
        let liveTD = service.primaryTaskSet?.taskDefinition ?? service.taskDefinition
        let runner = DeploymentRunner(engine: self, env: env, settings: baseline.settings)
        let expectedImages = try await images(of: expectedTD)
        var liveImages: [String: String] = [:]
        if let liveTD { liveImages = try await images(of: liveTD) }
        let routes = service.deploymentController == .external ? try await runner.readWeights(baseline.facts.trafficTargets) : []
        var empty: Set<String> = []
        for group in Set(routes.flatMap { route in route.weights.filter { $0.value > 0 }.map(\.key) }) {
            let healthy = try await cloud.elb.describeTargetHealth(targetGroupArn: group).filter { $0.state == "healthy" }
            if healthy.isEmpty { empty.insert(group) }
        }
        report.items = DriftDetector.compare(expected: expected, expectedImages: expectedImages,
                                             live: DriftDetector.Live(service: service, images: liveImages, routes: routes, emptyGroups: empty))
        return report
    }

    private func images(of taskDefinition: String) async throws -> [String: String] {
        let td = try await cloud.ecs.describeTaskDefinition(taskDefinition)
        return Dictionary(td.images.map { ($0.container, $0.image) }, uniquingKeysWith: { a, _ in a })
    }
}
