import Engine
import Foundation

/// What a notification is about: the moments of a deployment's or a release's life that people
/// are told of (`notifications.routes[].events`).
public enum NotificationEvent: String, Sendable, CaseIterable, Codable {
    case started
    case approvalRequested = "approval_requested"
    case approved
    case rejected
    case succeeded
    case failed
    case rollingBack = "rolling_back"
    case rolledBack = "rolled_back"
    case interrupted
    case analysisFailed = "analysis_failed"
    case driftFound = "drift_found"
}

/// Where a route's messages go. The URLs and the signing secret are secrets: they are never
/// logged, counted or shown (`description` names the kind only).
public enum NotificationSink: Sendable, Equatable, CustomStringConvertible {
    /// A Slack incoming webhook (Block Kit message).
    case slack(url: String)
    /// A Microsoft Teams Workflows webhook (Adaptive Card).
    case teams(url: String)
    /// Any HTTP receiver: the notice as JSON, signed with HMAC-SHA256 of the body under
    /// `secret` in `X-Ecs-Deploy-Signature` (`sha256=<hex>`) when a secret is set.
    case webhook(url: String, secret: String?)
    /// An Amazon SNS topic: the notice as JSON (as the webhook's), the headline as subject;
    /// through the AWS client (signed, paced, retried like the other calls).
    case sns(topicArn: String)

    public var kind: String {
        switch self {
        case .slack: "slack"
        case .teams: "teams"
        case .webhook: "webhook"
        case .sns: "sns"
        }
    }

    public var description: String { kind }
}

/// `notifications.routes[]`: which notices go to a sink.
public struct NotificationRoute: Sendable, Equatable {
    public var name: String
    public var sink: NotificationSink
    /// The moments notified (all when empty).
    public var events: Set<NotificationEvent>
    /// `match`: glob patterns (`*` any run of characters) on the cluster and the service, and a
    /// strategy; a release matches when one of its entries does. Nil: anything.
    public var cluster: String?
    public var service: String?
    public var strategy: String?
    /// `kinds`: deployments, releases, or both (the default).
    public var kinds: Set<NoticeSubject.Kind>

    public init(name: String, sink: NotificationSink, events: Set<NotificationEvent> = [], cluster: String? = nil,
                service: String? = nil, strategy: String? = nil, kinds: Set<NoticeSubject.Kind> = [.deployment, .release]) {
        self.name = name
        self.sink = sink
        self.events = events
        self.cluster = cluster
        self.service = service
        self.strategy = strategy
        self.kinds = kinds
    }

    /// Whether the notice goes through this route.
    func matches(_ notice: Notice) -> Bool {
        guard kinds.contains(notice.subject.kind), events.isEmpty || events.contains(notice.event) else { return false }
        if cluster == nil && service == nil && strategy == nil { return true }
        return notice.subject.targets.contains { target in
            (cluster.map { Glob.matches($0, target.cluster) } ?? true)
                && (service.map { Glob.matches($0, target.service) } ?? true)
                && (strategy.map { $0 == target.strategy } ?? true)
        }
    }
}
