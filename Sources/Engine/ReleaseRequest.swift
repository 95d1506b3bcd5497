import CloudModel
import Foundation

/// What to do with the rest of a release when one entry fails.
public enum ReleaseFailurePolicy: String, Sendable, Codable {
    /// Stop starting entries and roll back every entry the release changed (the default).
    case rollback
    /// Stop starting entries; leave what was done.
    case stop
    /// Keep going with the other entries.
    case `continue`
}

/// One line of a release: a service to deploy or a scheduled task to repoint.
public struct ReleaseEntry: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case service, scheduledTask = "scheduled_task" }

    public var kind: Kind
    /// The manifest's `service` label of the entry.
    public var label: String
    /// Services: cluster and service (names or ARNs).
    public var cluster: String
    public var service: String
    /// Scheduled tasks: the EventBridge rule whose ECS target runs the task.
    public var ruleName: String
    public var image: String
    /// The container that gets the image; nil: every container running the old image's
    /// repository, or the only container.
    public var containerName: String?
    public var strategy: StrategyKind
    /// Services: the task's size to set (task-level `cpu` and `memory`, as ECS writes them:
    /// "512", "1 vCPU", "2 GB"); nil keeps the live one.
    public var cpu: String?
    public var memory: String?
    /// Per-entry deployment settings (the same keys as a deployment's `-config`).
    public var config: [String: String]
    /// Wave n+1 starts when wave n is done. Scheduled tasks always go before services.
    public var wave: Int
    /// Where the entry is in the manifest ("deployment.yaml:12"), for messages.
    public var source: String

    public init(kind: Kind, label: String, cluster: String = "", service: String = "", ruleName: String = "", image: String,
                containerName: String? = nil, strategy: StrategyKind = .quicksync, config: [String: String] = [:], wave: Int = 0,
                source: String = "") {
        self.kind = kind
        self.label = label
        self.cluster = cluster
        self.service = service
        self.ruleName = ruleName
        self.image = image
        self.containerName = containerName
        self.strategy = strategy
        self.config = config
        self.wave = wave
        self.source = source
    }

    /// A key unique within a release.
    public var key: String {
        kind == .service ? "service:\(cluster.arnResourceName)/\(service.arnResourceName)" : "task:\(ruleName)"
    }
}

/// Where a release came from, when it came from Git.
public struct ReleaseOrigin: Sendable, Codable, Equatable {
    public var commit: String
    public var author: String
    public var message: String
    public var path: String

    public init(commit: String, author: String, message: String, path: String) {
        self.commit = commit
        self.author = author
        self.message = message
        self.path = path
    }
}

/// A whole release, as read from a `deployment.yaml`.
public struct ReleaseRequest: Sendable, Codable, Equatable {
    /// The release id (a commit sha for Git-driven releases).
    public var id: String
    public var name: String
    public var entries: [ReleaseEntry]
    public var requireApproval: Bool
    public var onFailure: ReleaseFailurePolicy
    /// At most this many entries deploying at once (nil: no limit beyond the AWS throttles).
    public var maxParallel: Int?
    public var origin: ReleaseOrigin?
    public var requestedBy: String
    /// Not before then (the manifest's `schedule`, or `-at`): planned now, started then.
    public var startAt: Date?

    public init(id: String, name: String, entries: [ReleaseEntry], requireApproval: Bool = false,
                onFailure: ReleaseFailurePolicy = .rollback, maxParallel: Int? = nil, origin: ReleaseOrigin? = nil,
                requestedBy: String = "") {
        self.id = id
        self.name = name
        self.entries = entries
        self.requireApproval = requireApproval
        self.onFailure = onFailure
        self.maxParallel = maxParallel
        self.origin = origin
        self.requestedBy = requestedBy
    }
}

