import CloudModel
import Foundation

/// Reads the live state of every entry of a release and works out what changes: the
/// containers that get the new image, and entries already at it (skipped).
struct ReleasePlanner {
    let cloud: Cloud

    func plan(_ request: ReleaseRequest) async throws -> [EntryState] {
        var definitions: [String: TaskDefinition] = [:]
        var services: [String: ECSService] = [:]
        var problems: [String] = []
        // Services, described 10 at a time per cluster.
        let byCluster = Dictionary(grouping: request.entries.filter { $0.kind == .service }, by: \.cluster)
        for (cluster, entries) in byCluster {
            do {
                for service in try await cloud.ecs.describeServicesBatched(cluster: cluster, services: entries.map(\.service)) {
                    services["\(cluster)/\(service.serviceName)"] = service
                }
            } catch let error as CloudError where error.code == CloudError.clusterNotFound {
                problems += entries.map { "\($0.source): \($0.label): cluster \(cluster) not found" }
            }
        }
        var states: [EntryState] = []
        for entry in request.entries {
            do {
                let live: String
                var targets: [String] = []
                if entry.kind == .service {
                    guard let service = services["\(entry.cluster)/\(entry.service.arnResourceName)"], service.status == "ACTIVE" else {
                        throw StageError("service \(entry.service) not found in cluster \(entry.cluster)")
                    }
                    guard let td = service.primaryTaskSet?.taskDefinition ?? service.taskDefinition else {
                        throw StageError("service \(entry.service) has no task definition")
                    }
                    live = td
                } else {
                    let ecsTargets = try await cloud.events.listTargetsByRule(rule: entry.ruleName).filter { $0.taskDefinitionArn != nil }
                    guard let first = ecsTargets.first?.taskDefinitionArn else {
                        throw StageError("rule \(entry.ruleName) has no ECS task target")
                    }
                    live = first
                    targets = ecsTargets.filter { $0.taskDefinitionArn == first }.compactMap(\.id)
                }
                if definitions[live] == nil { definitions[live] = try await cloud.ecs.describeTaskDefinition(live) }
                states.append(try Self.state(for: entry, live: definitions[live]!, targets: targets))
            } catch let error as CloudError where error.code == "ResourceNotFoundException" {
                problems.append("\(entry.source): \(entry.label): rule \(entry.ruleName) not found")
            } catch {
                problems.append("\(entry.source): \(entry.label): \(error)")
            }
        }
        guard problems.isEmpty else {
            throw EngineError(.failedPrecondition, field: "manifest", "the release cannot be planned: " + problems.joined(separator: "; "))
        }
        return states
    }

    /// Which containers get the image, and the definition to register. Pure.
    static func state(for entry: ReleaseEntry, live: TaskDefinition, targets: [String]) throws -> EntryState {
        let images = live.images
        let chosen: [String]
        if let name = entry.containerName {
            guard images.contains(where: { $0.container == name }) else {
                throw StageError("container \(name) not found in \(live.familyRevision) (containers: \(images.map(\.container).joined(separator: ", ")))")
            }
            chosen = [name]
        } else {
            let repository = Self.repository(of: entry.image)
            let sameRepository = images.filter { Self.repository(of: $0.image) == repository }.map(\.container)
            if !sameRepository.isEmpty {
                chosen = sameRepository
            } else if images.count == 1 {
                chosen = [images[0].container]
            } else {
                throw StageError("no container of \(live.familyRevision) runs \(repository); name one with containerName")
            }
        }
        let old = images.filter { chosen.contains($0.container) }
        let upToDate = old.allSatisfy { $0.image == entry.image }
        var next = live.registrationInput()
        for container in chosen { next = next.withImage(entry.image, container: container) }
        return EntryState(entry: entry, status: upToDate ? .skipped : .pending, oldImages: old.map { "\($0.container)=\($0.image)" },
                          newImage: entry.image, previousTaskDefinition: live.arn, newTaskDefinitionJSON: next.json.serialized(),
                          deploymentID: nil, newTaskDefinition: nil, updatedTargets: targets, error: "")
    }

    /// `123.dkr.ecr.r.amazonaws.com/app:1.2` -> `123.dkr.ecr.r.amazonaws.com/app`; digests too.
    static func repository(of image: String) -> String {
        var name = image
        if let at = name.firstIndex(of: "@") { name = String(name[..<at]) }
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("/") { name = String(name[..<colon]) }
        return name
    }
}
