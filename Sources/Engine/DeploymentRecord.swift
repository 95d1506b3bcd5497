import CloudModel
import Foundation

public enum DeploymentStatus: String, Sendable, Codable, CaseIterable {
    case pending = "PENDING"
    case pendingApproval = "PENDING_APPROVAL"
    case inProgress = "IN_PROGRESS"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
    case rollingBack = "ROLLING_BACK"
    case rolledBack = "ROLLED_BACK"
    case rejected = "REJECTED"
    case interrupted = "INTERRUPTED"
    /// Outside its deploy window (`windows`): it starts when one opens.
    case waitingWindow = "WAITING_WINDOW"

    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .rolledBack, .rejected, .interrupted: true
        default: false
        }
    }
}

public enum StageStatus: String, Sendable, Codable {
    case pending = "PENDING", running = "RUNNING", succeeded = "SUCCEEDED", failed = "FAILED", skipped = "SKIPPED"
}

public struct StageRecord: Sendable, Codable, Equatable {
    public var stage: Stage
    public var status: StageStatus
    public var message: String
    public var startedAt: Date?
    public var finishedAt: Date?
    /// 0...1 within the stage.
    public var fraction: Double

    public init(stage: Stage) {
        self.stage = stage
        self.status = .pending
        self.message = ""
        self.fraction = 0
    }

    public var name: String { stage.name }
}

/// What the runner learned and did in the cloud: enough to resume or to roll back.
public struct DeploymentFacts: Sendable, Codable, Equatable {
    /// The task definition the service ran before this deployment.
    public var previousTaskDefinition: String?
    /// The task definition this deployment registered.
    public var newTaskDefinition: String?
    /// ECS controller: whether UpdateService to the new task definition was sent.
    public var serviceUpdated = false
    public var desiredCount: Int?
    // EXTERNAL controller:
    /// The PRIMARY task set before this deployment (or the one a rollback recreated).
    public var previousTaskSet: String?
    /// The task set this deployment created.
    public var newTaskSet: String?
    public var previousTargetGroup: String?
    public var newTargetGroup: String?
    /// Listener and rule ARNs whose forward actions carry the service's traffic.
    public var trafficTargets: [String] = []
    /// The share of traffic last routed (and verified) to the new target group.
    public var trafficPercent: Int?
    /// The scale the previous task set was last set to (rolling), if changed.
    public var previousScale: Int?
    public var promoted = false
    public var previousTaskSetDeleted = false
    /// Set before the previous task set's delete is asked: from then on it may be draining, and
    /// a rollback brings the previous revision back before traffic returns to it.
    public var previousTaskSetDeleting: Bool?
    // ECS's own blue/green, linear and canary (optional in stored records):
    /// Set (with `serviceUpdated`) before UpdateService asks ECS to run the strategy.
    public var native: Bool?
    /// The service deployment ECS runs for this deployment, and the one a rollback started
    /// after it had finished (the previous revision back).
    public var serviceDeployment: String?
    public var restoreDeployment: String?
    /// The service's strategy and lifecycle hooks when this deployment began.
    public var serviceStrategy: DeploymentStrategy?
    public var serviceHooks: [DeploymentLifecycleHook]?

    public init() {}
}

/// An ECS-run deployment waiting at a PAUSE lifecycle hook for approval (`approve_at`): the
/// deployment's approve ends it (ContinueServiceDeployment CONTINUE), a rejection or a
/// rollback rolls back (ROLLBACK).
public struct HookPause: Sendable, Codable, Equatable {
    public var stage: String
    public var hookId: String
    public var since: Date
    public var approvals: [ApprovalRecord]
    public var approved: Bool

    public init(stage: String, hookId: String, since: Date) {
        self.stage = stage
        self.hookId = hookId
        self.since = since
        self.approvals = []
        self.approved = false
    }
}

/// A bake paused on an inconclusive analysis: it goes on when someone approves (the
/// deployment's approve), or rolls back when someone rejects it or asks for a rollback.
public struct AnalysisPause: Sendable, Codable, Equatable {
    public var template: String
    /// The inconclusive measurement's message.
    public var reason: String
    public var since: Date

    public init(template: String, reason: String, since: Date) {
        self.template = template
        self.reason = reason
        self.since = since
    }
}

public struct ApprovalRecord: Sendable, Codable, Equatable {
    public var approved: Bool
    public var approver: String
    public var reason: String
    public var at: Date

    /// A decision on a deployment or release; the approver is required.
    static func decision(approved: Bool, approver: String, reason: String, at: Date) throws -> ApprovalRecord {
        guard !approver.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw EngineError.invalid("approver", "is required to \(approved ? "approve" : "reject")")
        }
        return ApprovalRecord(approved: approved, approver: approver, reason: reason, at: at)
    }

    /// Adds `approver`'s approval to `approvals` (the ones given so far toward `required`
    /// distinct approvers). The requester never approves their own change (four eyes), and
    /// nobody approves twice. Answers the approvals, whether they are enough, and a message.
    static func tally(_ approvals: [ApprovalRecord], adding approver: String, reason: String, at: Date, required: Int,
                      requester: String, subject: String) throws -> ApprovalTally {
        let decision = try decision(approved: true, approver: approver, reason: reason, at: at)
        if !requester.isEmpty, approver == requester {
            throw EngineError(.permissionDenied, field: "approver",
                              "\(approver) requested \(subject) and cannot approve it; another approver must")
        }
        if approvals.contains(where: { $0.approver == approver }) {
            throw EngineError(.failedPrecondition, field: "approver", "\(approver) already approved \(subject); "
                + "\(max(1, required - approvals.count)) more approver(s) needed")
        }
        let all = approvals + [decision]
        let because = reason.isEmpty ? "" : ": \(reason)"
        let count = required > 1 ? " (\(all.count) of \(required))" : ""
        let missing = required - all.count
        let more = missing > 0 ? "; \(missing) more approver(s) needed" : ""
        return ApprovalTally(approvals: all, required: required, complete: missing <= 0,
                             message: "approved by \(approver)\(count)\(because)\(more)")
    }

    /// The final decision of several approvals: every approver, the last time and reason.
    static func combined(_ approvals: [ApprovalRecord]) -> ApprovalRecord? {
        guard let last = approvals.last else { return nil }
        return ApprovalRecord(approved: true, approver: approvals.map(\.approver).joined(separator: ", "), reason: last.reason, at: last.at)
    }
}

/// The approvals of a deployment or release after one more, against how many are needed.
struct ApprovalTally {
    var approvals: [ApprovalRecord]
    var required: Int
    var complete: Bool
    var message: String
}

/// A deployment or a release: what records its approvals.
protocol ApprovalHolding {
    var approval: ApprovalRecord? { get set }
    var approvals: [ApprovalRecord]? { get set }
    var approvalsRequired: Int? { get set }
}

extension ApprovalHolding {
    /// Records the approvals so far; the decision once they are enough.
    mutating func record(_ tally: ApprovalTally) {
        approvals = tally.approvals
        approvalsRequired = tally.required
        if tally.complete { approval = ApprovalRecord.combined(tally.approvals) }
    }
}

extension DeploymentRecord: ApprovalHolding {}
extension ReleaseRecord: ApprovalHolding {}

public struct DeploymentEvent: Sendable, Codable, Equatable {
    public var deploymentID: String
    public var sequence: Int
    public var at: Date
    public var kind: DeploymentEventKind
    public var stage: String
    public var status: DeploymentStatus
    public var progress: Int
    public var message: String

    /// The event's name on the wire and in the audit log (`stage.started`, `deployment.failed`, ...).
    public var type: String { kind.rawValue }

    /// Stored under `type`, as before the kinds were typed.
    enum CodingKeys: String, CodingKey {
        case deploymentID, sequence, at, stage, status, progress, message
        case kind = "type"
    }

    public init(deploymentID: String, sequence: Int, at: Date, kind: DeploymentEventKind, stage: String, status: DeploymentStatus,
                progress: Int, message: String) {
        self.deploymentID = deploymentID
        self.sequence = sequence
        self.at = at
        self.kind = kind
        self.stage = stage
        self.status = status
        self.progress = progress
        self.message = message
    }
}

/// A deployment: the request, its plan with a cursor, the facts recorded so far, and history.
public struct DeploymentRecord: Sendable, Codable, Equatable {
    public var request: DeploymentRequest
    public var status: DeploymentStatus
    public var stages: [StageRecord]
    public var rollbackStages: [StageRecord]
    public var facts: DeploymentFacts
    /// The settings it runs with: the server's defaults with its `-config` applied.
    public var settings: DeploymentSettings
    public var error: String
    public var createdAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
    public var approval: ApprovalRecord?
    /// The approvals given so far, when more than one approver is needed (or one was given).
    public var approvals: [ApprovalRecord]?
    /// How many distinct approvers the last approval was counted against.
    public var approvalsRequired: Int?
    /// Who asked for the rollback, when one was asked.
    public var rollbackRequestedBy: String?
    /// What the deployment went on despite (a pre-flight check that could not be made).
    public var warnings: [String]?
    /// Started outside its deploy windows by an admin's override.
    public var windowOverride: Bool?
    /// Set while a bake waits for a person, its analysis inconclusive (`inconclusive: pause`).
    public var analysisPause: AnalysisPause?
    /// Set while ECS's deployment waits at our PAUSE hook for approval (`approve_at`).
    public var hookPause: HookPause?
    /// What the change costs, worked out when it was accepted (`pricing`).
    public var cost: ChangeCost?
    public var events: [DeploymentEvent]

    public init(request: DeploymentRequest, settings: DeploymentSettings, plan: [Stage], at: Date) {
        self.request = request
        self.settings = settings
        self.status = .pending
        self.stages = plan.map(StageRecord.init)
        self.rollbackStages = []
        self.facts = DeploymentFacts()
        self.error = ""
        self.createdAt = at
        self.updatedAt = at
        self.events = []
    }

    public var id: String { request.id }

    /// The stage running now, else the last one that ran.
    public var currentStage: String {
        let all = stages + rollbackStages
        if let running = all.last(where: { $0.status == .running }) { return running.name }
        return all.last(where: { $0.status != .pending })?.name ?? ""
    }

    /// 0...100: weighted by stage, counting the running stage's fraction.
    public var progress: Int {
        if status == .succeeded { return 100 }
        let weights = stages.map(\.stage.weight)
        let total = weights.reduce(0, +)
        guard total > 0 else { return 0 }
        var done = 0.0
        for (record, weight) in zip(stages, weights) {
            switch record.status {
            case .succeeded, .skipped: done += weight
            case .running, .failed: done += weight * record.fraction
            case .pending: break
            }
        }
        return min(99, Int((done / total * 100).rounded(.down)))
    }
}
