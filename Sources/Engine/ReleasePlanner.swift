import CloudModel
import Foundation

/// Reads the live state of every entry of a release and works out what changes: the
/// containers that get the new image, and entries already at it (skipped).
struct ReleasePlanner {
    let cloud: Cloud
    /// The server's deployment settings, which each entry's `config` changes (for the cost of its strategy).
    var defaults = DeploymentSettings()
    /// Prices each entry's change; nil: no cost.
    var pricing: Pricing?

    /// Releases reading at most this many live task definitions are planned whole before
    /// anything changes (DescribeTaskDefinition's burst, 50, reads them at once). Larger ones,
    /// without approval, are pipelined: see `ReleaseManager.submit`.
    static let wholePlanLimit = 50

    /// What one entry runs now, read without its task definition.
    enum Live: Sendable {
        /// The live task definition, the service (nil for a scheduled task) and, for a
        /// scheduled task, the rule's targets running it.
        case found(String, service: ECSService?, targets: [String])
        case problem(String)
    }

    /// The checks that need no task definition: every service exists and is active (read 10
    /// a call per cluster) and every rule has an ECS target.
    struct Checked: Sendable {
        var clusterProblems: [String]
        var entries: [Live]

        var problems: [String] {
            clusterProblems + entries.compactMap { if case .problem(let p) = $0 { p } else { nil } }
        }

        var definitions: Set<String> {
            Set(entries.compactMap { if case .found(let td, _, _) = $0 { td } else { nil } })
        }
    }

    func check(_ request: ReleaseRequest) async throws -> Checked {
        var services: [String: ECSService] = [:]
        var clusterProblems: [String] = []
        // Services, described 10 at a time per cluster.
        let byCluster = Dictionary(grouping: request.entries.filter { $0.kind == .service }, by: \.cluster)
        for (cluster, entries) in byCluster {
            do {
                for service in try await cloud.ecs.describeServicesBatched(cluster: cluster, services: entries.map(\.service)) {
                    services["\(cluster)/\(service.serviceName)"] = service
                }
            } catch let error as CloudError where error.code == CloudError.clusterNotFound {
                clusterProblems += entries.map { "\($0.source): \($0.label): cluster \(cluster) not found" }
            }
        }
        var live: [Live] = []
        for entry in request.entries {
            do {
                if entry.kind == .service {
                    guard let service = services["\(entry.cluster)/\(entry.service.arnResourceName)"], service.status == "ACTIVE" else {
                        throw StageError("service \(entry.service) not found in cluster \(entry.cluster)")
                    }
                    guard let td = service.primaryTaskSet?.taskDefinition ?? service.taskDefinition else {
                        throw StageError("service \(entry.service) has no task definition")
                    }
                    live.append(.found(td, service: service, targets: []))
                } else {
                    let ecsTargets = try await cloud.events.listTargetsByRule(rule: entry.ruleName).filter { $0.taskDefinitionArn != nil }
                    guard let first = ecsTargets.first?.taskDefinitionArn else {
                        throw StageError("rule \(entry.ruleName) has no ECS task target")
                    }
                    live.append(.found(first, service: nil, targets: ecsTargets.filter { $0.taskDefinitionArn == first }.compactMap(\.id)))
                }
            } catch {
                live.append(.problem(Self.problem(entry, error)))
            }
        }
        return Checked(clusterProblems: clusterProblems, entries: live)
    }

    /// Every entry planned; any problem refuses the release.
    func plan(_ request: ReleaseRequest) async throws -> [EntryState] {
        try await plan(request, checked: try await check(request))
    }

    func plan(_ request: ReleaseRequest, checked: Checked) async throws -> [EntryState] {
        var definitions: [String: TaskDefinition] = [:]
        var problems = checked.clusterProblems
        var states: [EntryState] = []
        for (entry, live) in zip(request.entries, checked.entries) {
            switch live {
            case .problem(let problem):
                problems.append(problem)
            case .found(let td, let service, let targets):
                do {
                    if definitions[td] == nil { definitions[td] = try await cloud.ecs.describeTaskDefinition(td) }
                    var state = try Self.state(for: entry, live: definitions[td]!, targets: targets)
                    if let service { state.cost = try cost(of: state, service: service, live: definitions[td]!) }
                    states.append(state)
                } catch {
                    problems.append(Self.problem(entry, error))
                }
            }
        }
        guard problems.isEmpty else { throw Self.refusal(problems) }
        return states
    }

    /// One entry planned on its own (pipelined releases, just before it starts), with the live
    /// definition it read (the deployment prices the change with it).
    func plan(_ entry: ReleaseEntry, live: String, targets: [String]) async throws -> (EntryState, live: TaskDefinition) {
        let definition = try await cloud.ecs.describeTaskDefinition(live)
        return (try Self.state(for: entry, live: definition, targets: targets), definition)
    }

    /// What a service entry's change costs with its strategy and settings; nil for an entry
    /// that changes nothing, or without prices.
    func cost(of state: EntryState, service: ECSService, live: TaskDefinition) throws -> ChangeCost? {
        guard let pricing, state.needsChange, let json = state.newTaskDefinitionJSON else { return nil }
        let settings = try defaults.applying(state.entry.config)
        let plan = Plan.stages(for: state.entry.strategy, settings: settings, controller: service.deploymentController,
                               native: service.supportsNativeStrategies)
        return ChangeCost.estimate(service: service, before: live.json, after: try JSONValue.parse(json), plan: plan,
                                   strategy: state.entry.strategy, settings: settings, pricing: pricing)
    }

    /// A checked entry of a pipelined release, planned when it starts: pending, with its live
    /// task definition and targets but no definition to register yet.
    static func unplanned(_ entry: ReleaseEntry, live: String, targets: [String]) -> EntryState {
        EntryState(entry: entry, status: .pending, oldImages: [], newImage: entry.image, previousTaskDefinition: live,
                   newTaskDefinitionJSON: nil, deploymentID: nil, newTaskDefinition: nil, updatedTargets: targets, error: "")
    }

    static func problem(_ entry: ReleaseEntry, _ error: any Error) -> String {
        if let error = error as? CloudError, error.code == "ResourceNotFoundException" {
            return "\(entry.source): \(entry.label): rule \(entry.ruleName) not found"
        }
        return "\(entry.source): \(entry.label): \(error)"
    }

    static func refusal(_ problems: [String]) -> EngineError {
        EngineError(.failedPrecondition, field: "manifest", "the release cannot be planned: " + problems.joined(separator: "; "))
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
        var next = live.registrationInput()
        for container in chosen { next = next.withImage(entry.image, container: container) }
        // The task's size, where the entry sets it (`cpu`, `memory`).
        var resized = false
        for (key, value) in [("cpu", entry.cpu), ("memory", entry.memory)] {
            guard let value else { continue }
            if live.json[key]?.stringValue != value, live.json[key]?.intValue.map(String.init) != value { resized = true }
            next.json[key] = .string(value)
        }
        let upToDate = old.allSatisfy { $0.image == entry.image } && !resized
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
