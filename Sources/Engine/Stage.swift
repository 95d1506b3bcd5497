import Foundation

/// Which task definition a stage acts on: the one this deployment registered, or the one the
/// service ran before.
public enum Revision: String, Sendable, Codable {
    case new, previous
}

/// A small, idempotent step of a deployment. Strategies are lists of stages; rollback is a
/// list of compensating stages computed from the recorded facts.
public enum Stage: Sendable, Codable, Equatable {
    case registerTaskDefinition
    case updateService(Revision)
    case waitStable(Revision)

    public var name: String {
        switch self {
        case .registerTaskDefinition: "registerTaskDefinition"
        case .updateService(.new): "updateService"
        case .updateService(.previous): "restorePreviousTaskDefinition"
        case .waitStable(.new): "waitForStability"
        case .waitStable(.previous): "waitForStabilityOnPrevious"
        }
    }

    /// Share of the progress bar.
    var weight: Double {
        switch self {
        case .registerTaskDefinition: 10
        case .updateService: 10
        case .waitStable: 80
        }
    }
}

/// Plans: the stages of each strategy, and the stages that undo them.
public enum Plan {
    public static func stages(for strategy: StrategyKind) -> [Stage] {
        switch strategy {
        case .quicksync, .canary, .bluegreen, .rolling:
            [.registerTaskDefinition, .updateService(.new), .waitStable(.new)]
        }
    }

    /// Compensating stages for what the facts say was done. Empty when nothing changed.
    public static func rollbackStages(facts: DeploymentFacts) -> [Stage] {
        guard facts.serviceUpdated, facts.previousTaskDefinition != nil else { return [] }
        return [.updateService(.previous), .waitStable(.previous)]
    }
}
