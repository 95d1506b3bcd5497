import CloudModel
import Engine
import Foundation

/// What a notice is about.
public struct NoticeSubject: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable { case deployment, release }
    public struct Target: Sendable, Equatable, Codable {
        public var cluster: String
        public var service: String
        public var strategy: String
    }

    public var kind: Kind
    public var id: String
    /// "deployment d1: prod/web (canary)", "release r1 (nightly): 12 entries".
    public var title: String
    /// The services (and rules) it changes, for a route's `match`.
    public var targets: [Target]
}

/// One message to people: a moment of a deployment's or a release's life, with what changed,
/// who asked, the outcome and how to act on it. Holds no secret.
public struct Notice: Sendable, Equatable, Codable {
    public var event: NotificationEvent
    public var subject: NoticeSubject
    /// The status when the event was recorded (SUCCEEDED, ROLLING_BACK, ...).
    public var status: String
    public var requestedBy: String
    /// What changes: "web:1 -> app=repo/web:2", or a release's entry counts.
    public var change: String
    /// From the request to the end (final events only).
    public var duration: TimeInterval?
    public var error: String
    /// The recorded event's own words ("approved by alice", "canary at 25% failed ...").
    public var detail: String
    /// The command that approves it (approval_requested).
    public var approveCommand: String?
    /// What the change costs (`pricing`), when it is asked to be approved or starts.
    public var cost: String?
    public var at: Date
    /// Unique per event ("deployment/d1/7"): the receiver can drop a message it has seen.
    public var key: String

    /// The headline: "deployment d1: prod/web (canary) succeeded".
    public var headline: String { "\(subject.title) \(event.rawValue.replacingOccurrences(of: "_", with: " "))" }
}

extension Notice {
    /// The notice for a deployment event, when the event is one people are told of. A
    /// deployment run for a release is told of through its release.
    public static func of(_ event: DeploymentEvent, record: DeploymentRecord) -> Notice? {
        let request = record.request
        guard !request.requestedBy.hasPrefix("release ") else { return nil }
        let moment: NotificationEvent
        switch event.kind {
        case .deploymentStarted: moment = .started
        case .approvalRequested, .analysisPaused: moment = .approvalRequested
        case .approvalApproved: moment = .approved
        case .deploymentRejected: moment = .rejected
        case .deploymentSucceeded: moment = .succeeded
        case .deploymentFailed: moment = .failed
        case .rollbackStarted: moment = .rollingBack
        case .deploymentRolledBack: moment = .rolledBack
        case .deploymentInterrupted: moment = .interrupted
        case .analysisFailed: moment = .analysisFailed
        default: return nil
        }
        let images = TaskDefinition(json: request.taskDefinitionJSON).images.map { "\($0.container)=\($0.image)" }.joined(separator: ", ")
        let from = record.facts.previousTaskDefinition?.arnResourceName
        let subject = NoticeSubject(kind: .deployment, id: record.id,
                                    title: "deployment \(record.id): \(request.serviceKey) (\(request.strategy.rawValue))",
                                    targets: [.init(cluster: request.cluster.arnResourceName, service: request.service.arnResourceName,
                                                    strategy: request.strategy.rawValue)])
        return Notice(event: moment, subject: subject, status: event.status.rawValue, requestedBy: request.requestedBy,
                      change: (from.map { "\($0) -> " } ?? "") + images,
                      duration: record.status.isTerminal ? event.at.timeIntervalSince(record.createdAt) : nil,
                      error: record.status.isTerminal ? record.error : "", detail: event.message,
                      approveCommand: moment == .approvalRequested ? "grpc-client -action approve -id \(record.id)" : nil,
                      cost: [.approvalRequested, .started].contains(moment) ? record.cost?.summary : nil,
                      at: event.at, key: "deployment/\(record.id)/\(event.sequence)")
    }

    /// The notice for a release event, when the event is one people are told of.
    public static func of(_ event: ReleaseEvent, record: ReleaseRecord) -> Notice? {
        guard event.entry.isEmpty else { return nil }
        let moment: NotificationEvent
        switch event.kind {
        case .releaseStarted: moment = .started
        case .approvalRequested: moment = .approvalRequested
        case .approvalApproved: moment = .approved
        case .releaseRejected: moment = .rejected
        case .releaseSucceeded: moment = .succeeded
        case .releaseFailed: moment = .failed
        case .releaseRollingBack: moment = .rollingBack
        case .releaseRolledBack: moment = .rolledBack
        case .releaseInterrupted: moment = .interrupted
        default: return nil
        }
        let entries = record.entries.map(\.entry)
        let name = record.request.name.isEmpty ? "" : " (\(record.request.name))"
        let subject = NoticeSubject(kind: .release, id: record.id, title: "release \(record.id)\(name): \(entries.count) entries",
                                    targets: entries.map { .init(cluster: $0.cluster.arnResourceName, service: $0.service.arnResourceName,
                                                                 strategy: $0.strategy.rawValue) })
        let counts = record.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        return Notice(event: moment, subject: subject, status: event.status.rawValue, requestedBy: record.request.requestedBy,
                      change: counts, duration: record.status.isTerminal ? event.at.timeIntervalSince(record.createdAt) : nil,
                      error: record.status.isTerminal ? record.error : "", detail: event.message,
                      approveCommand: moment == .approvalRequested ? "grpc-client -action approve -id \(record.id)" : nil,
                      cost: [.approvalRequested, .started].contains(moment) ? record.cost?.summary : nil,
                      at: event.at, key: "release/\(record.id)/\(event.sequence)")
    }

    /// The notice for a drift check that found drift.
    public static func of(_ report: DriftReport, at now: Date) -> Notice? {
        guard !report.items.isEmpty else { return nil }
        let key = "\(report.cluster.arnResourceName)/\(report.service.arnResourceName)"
        let subject = NoticeSubject(kind: .deployment, id: report.baselineDeployment ?? "",
                                    title: "service \(key)", targets: [.init(cluster: report.cluster.arnResourceName,
                                                                            service: report.service.arnResourceName, strategy: "")])
        return Notice(event: .driftFound, subject: subject, status: "DRIFTED", requestedBy: "", change: report.summary, duration: nil,
                      error: "", detail: report.summary, approveCommand: nil, cost: nil, at: now,
                      key: "drift/\(key)/\(Int(now.timeIntervalSince1970))")
    }
}
