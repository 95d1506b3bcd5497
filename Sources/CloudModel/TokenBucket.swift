import Foundation

/// A token bucket: `capacity` tokens, refilled at `refillPerSecond`, on an injected time.
public struct TokenBucket: Sendable, Equatable {
    public let capacity: Double
    public let refillPerSecond: Double
    public private(set) var tokens: Double
    private var updatedAt: Date?

    public init(capacity: Double, refillPerSecond: Double) {
        self.capacity = capacity
        self.refillPerSecond = refillPerSecond
        self.tokens = capacity
    }

    private mutating func refill(at now: Date) {
        if let updatedAt, now > updatedAt {
            tokens = min(capacity, tokens + now.timeIntervalSince(updatedAt) * refillPerSecond)
        }
        if updatedAt == nil || now > updatedAt! { updatedAt = now }
    }

    /// Takes one token if there is one (how AWS decides to throttle).
    public mutating func tryTake(at now: Date) -> Bool {
        refill(at: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Reserves one token, going into debt if needed, and returns how long the caller must
    /// wait before its call fits the bucket (how a polite client paces itself).
    public mutating func reserve(at now: Date) -> Duration {
        refill(at: now)
        tokens -= 1
        guard tokens < 0 else { return .zero }
        return .seconds(-tokens / refillPerSecond)
    }
}

/// One AWS API category's throttle: bucket size and refill rate.
public struct RateLimit: Sendable, Equatable, Codable {
    public var capacity: Double
    public var refillPerSecond: Double
    public init(capacity: Double, refillPerSecond: Double) {
        self.capacity = capacity
        self.refillPerSecond = refillPerSecond
    }
}

/// An API call as the middleware sees it.
public struct CloudCall: Sendable, Hashable, CustomStringConvertible {
    /// `ecs`, `elasticloadbalancing`, `events`, `sts`, `iam`.
    public var service: String
    public var operation: String
    public init(_ service: String, _ operation: String) {
        self.service = service
        self.operation = operation
    }
    public var description: String { "\(service):\(operation)" }
}

/// AWS's per-API throttle buckets, grouped into categories that share a bucket.
public struct RateLimits: Sendable, Equatable {
    /// Category name -> limit.
    public var limits: [String: RateLimit]
    /// `service:Operation` -> category name.
    public var categories: [String: String]

    public init(limits: [String: RateLimit], categories: [String: String]) {
        self.limits = limits
        self.categories = categories
    }

    public func category(of call: CloudCall) -> String? { categories[call.description] }

    /// AWS's published limits for the calls this server makes (ECS: "Request throttling
    /// for the Amazon ECS API"; ELBv2: "Request throttling"; CloudWatch: "CloudWatch service
    /// quotas", DescribeAlarms 9 per second, GetMetricData 50; SNS: Publish 300 per second, the lowest regional quota). Calls without a category are
    /// not limited.
    public static let aws = RateLimits(
        limits: [
            "ecs.register-task-definition": RateLimit(capacity: 20, refillPerSecond: 1),
            "ecs.service-mutations": RateLimit(capacity: 50, refillPerSecond: 5),
            "ecs.service-reads": RateLimit(capacity: 100, refillPerSecond: 20),
            "ecs.describe-task-definition": RateLimit(capacity: 50, refillPerSecond: 20),
            "ecs.task-reads": RateLimit(capacity: 100, refillPerSecond: 20),
            "elb.mutations": RateLimit(capacity: 20, refillPerSecond: 3),
            "elb.reads": RateLimit(capacity: 40, refillPerSecond: 10),
            "events.mutations": RateLimit(capacity: 50, refillPerSecond: 10),
            "events.reads": RateLimit(capacity: 50, refillPerSecond: 20),
            "monitoring.describe-alarms": RateLimit(capacity: 9, refillPerSecond: 9),
            "monitoring.get-metric-data": RateLimit(capacity: 50, refillPerSecond: 50),
            "sns.publish": RateLimit(capacity: 300, refillPerSecond: 300),
        ],
        categories: [
            "ecs:RegisterTaskDefinition": "ecs.register-task-definition",
            "ecs:UpdateService": "ecs.service-mutations",
            "ecs:CreateService": "ecs.service-mutations",
            "ecs:CreateTaskSet": "ecs.service-mutations",
            "ecs:UpdateTaskSet": "ecs.service-mutations",
            "ecs:DeleteTaskSet": "ecs.service-mutations",
            "ecs:UpdateServicePrimaryTaskSet": "ecs.service-mutations",
            "ecs:DescribeServices": "ecs.service-reads",
            "ecs:ListServices": "ecs.service-reads",
            "ecs:DescribeTaskSets": "ecs.service-reads",
            // ECS publishes no figures for the service deployment calls: those that read share
            // the service reads' bucket, those that change one the service mutations'.
            "ecs:ListServiceDeployments": "ecs.service-reads",
            "ecs:DescribeServiceDeployments": "ecs.service-reads",
            "ecs:DescribeServiceRevisions": "ecs.service-reads",
            "ecs:ContinueServiceDeployment": "ecs.service-mutations",
            "ecs:StopServiceDeployment": "ecs.service-mutations",
            "ecs:DescribeTaskDefinition": "ecs.describe-task-definition",
            "ecs:ListTasks": "ecs.task-reads",
            "ecs:DescribeTasks": "ecs.task-reads",
            "elasticloadbalancing:ModifyListener": "elb.mutations",
            "elasticloadbalancing:ModifyRule": "elb.mutations",
            "elasticloadbalancing:DescribeTargetGroups": "elb.reads",
            "elasticloadbalancing:DescribeLoadBalancers": "elb.reads",
            "elasticloadbalancing:DescribeListeners": "elb.reads",
            "elasticloadbalancing:DescribeRules": "elb.reads",
            "elasticloadbalancing:DescribeTargetHealth": "elb.reads",
            "events:PutTargets": "events.mutations",
            "events:DescribeRule": "events.reads",
            "events:ListTargetsByRule": "events.reads",
            "monitoring:DescribeAlarms": "monitoring.describe-alarms",
            "monitoring:GetMetricData": "monitoring.get-metric-data",
            "sns:Publish": "sns.publish",
        ])
}
