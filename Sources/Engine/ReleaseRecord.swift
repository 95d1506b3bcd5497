import CloudModel
import Foundation

/// Where one entry of a release stands.
public enum EntryStatus: String, Sendable, Codable {
    case pending = "PENDING"
    /// Already at the target image: nothing to do.
    case skipped = "SKIPPED"
    case inProgress = "IN_PROGRESS"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
    case rollingBack = "ROLLING_BACK"
    case rolledBack = "ROLLED_BACK"
    /// The release stopped before this entry started.
    case notStarted = "NOT_STARTED"
}

/// One entry of a release: what the plan found, and what happened to it.
public struct EntryState: Sendable, Codable, Equatable {
    public var entry: ReleaseEntry
    public var status: EntryStatus
    /// The images before and after, per container ("app=repo:1.0").
    public var oldImages: [String]
    public var newImage: String
    /// The live task definition the plan read.
    public var previousTaskDefinition: String?
    /// The task definition to register: the live one with the new image (raw JSON text).
    public var newTaskDefinitionJSON: String?
    /// Services: the deployment that runs the entry.
    public var deploymentID: String?
    /// Scheduled tasks: the registered task definition and the rule targets repointed.
    public var newTaskDefinition: String?
    public var updatedTargets: [String]
    public var error: String
    /// Services: what the change costs (`pricing`), from the plan.
    public var cost: ChangeCost?

    public var needsChange: Bool { status != .skipped }
}

public struct ReleaseEvent: Sendable, Codable, Equatable {
    public var releaseID: String
    public var sequence: Int
    public var at: Date
    public var kind: ReleaseEventKind
    /// The entry's label, when the event is about one.
    public var entry: String
    public var status: DeploymentStatus
    public var message: String

    /// The event's name on the wire and in the audit log (`release.started`, `entry.failed`, ...).
    public var type: String { kind.rawValue }

    public init(releaseID: String, sequence: Int, at: Date, kind: ReleaseEventKind, entry: String, status: DeploymentStatus,
                message: String) {
        self.releaseID = releaseID
        self.sequence = sequence
        self.at = at
        self.kind = kind
        self.entry = entry
        self.status = status
        self.message = message
    }

    /// Stored under `type`, as before the kinds were typed.
    enum CodingKeys: String, CodingKey {
        case releaseID, sequence, at, entry, status, message
        case kind = "type"
    }
}

/// A release: its request, the plan of every entry, and its history.
public struct ReleaseRecord: Sendable, Codable, Equatable {
    public var request: ReleaseRequest
    public var status: DeploymentStatus
    public var entries: [EntryState]
    public var error: String
    public var approval: ApprovalRecord?
    /// The approvals given so far, when more than one approver is needed (or one was given).
    public var approvals: [ApprovalRecord]?
    /// How many distinct approvers the last approval was counted against.
    public var approvalsRequired: Int?
    /// Who asked for the rollback, when one was asked.
    public var rollbackRequestedBy: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
    public var events: [ReleaseEvent]

    public var id: String { request.id }

    public init(request: ReleaseRequest, entries: [EntryState], at: Date) {
        self.request = request
        self.status = .pending
        self.entries = entries
        self.error = ""
        self.createdAt = at
        self.updatedAt = at
        self.events = []
    }

    /// The cost of every entry's change added up (nil without prices).
    public var cost: ChangeCost? { ChangeCost.total(entries.filter(\.needsChange).map(\.cost)) }

    /// Entries by status, e.g. ["SUCCEEDED": 48, "SKIPPED": 2].
    public var counts: [String: Int] {
        Dictionary(grouping: entries, by: { $0.status.rawValue }).mapValues(\.count)
    }
}
