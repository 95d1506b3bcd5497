import Foundation

/// `limits:` in config.yaml: how many deployments may start, per service over a period, and
/// run at once, per cluster and in all. A deployment over a limit is refused
/// (RESOURCE_EXHAUSTED, with when to retry), or queued when it asked to be (`queue`) or is a
/// release's entry; a queued one starts, in order, when the limits let it.
public struct DeploymentLimits: Sendable, Equatable {
    /// At most `count` deployments of one service accepted within `period`.
    public struct Rate: Sendable, Equatable {
        public var count: Int
        public var period: Duration
        public init(count: Int, period: Duration) {
            self.count = count
            self.period = period
        }
    }

    public var perService: Rate?
    /// Deployments running at once in one cluster (waiting for approval or queued: not running).
    public var perClusterInFlight: Int?
    public var globalInFlight: Int?

    public init(perService: Rate? = nil, perClusterInFlight: Int? = nil, globalInFlight: Int? = nil) {
        self.perService = perService
        self.perClusterInFlight = perClusterInFlight
        self.globalInFlight = globalInFlight
    }

    public var isEmpty: Bool { perService == nil && perClusterInFlight == nil && globalInFlight == nil }
}

/// Why a deployment cannot start now, the words, and when it may (nil: when another
/// deployment ends, or no window opens soon).
struct StartBlock: Sendable, Equatable {
    enum Reason: Sendable, Equatable {
        /// Its start time (`start_at`) has not come.
        case scheduled
        /// Outside its deploy windows.
        case window
        /// A limit holds it: the limit's config key (`limits.per_cluster`).
        case limit(String)
    }

    var reason: Reason
    var message: String
    var retryAt: Date?
}
