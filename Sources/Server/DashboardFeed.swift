import Access
import Engine
import Foundation
import Synchronization

/// What changed, for the overview: one deployment's or release's row as it is now.
struct DashboardChange: Sendable {
    enum Kind: String, Sendable { case deployment, release }
    var kind: Kind
    var id: String
    /// cluster/service of a deployment; the release's name.
    var title: String
    var strategy: String
    var status: DeploymentStatus
    var progress: Int
    var updated: Date
    /// The scopes a viewer needs to see it (every entry's, for a release).
    var scopes: [String]
}

/// The overview's live feed: every deployment and release change, handed to each open overview
/// (a bounded buffer each: a slow page loses old rows, never holds the engine back).
final class DashboardFeed: DeploymentObserver, ReleaseObserver, Sendable {
    private let subscribers = Mutex<(open: [UUID: AsyncStream<DashboardChange>.Continuation], finished: Bool)>(([:], false))
    /// The scopes of each release in flight, worked out at its first change seen with an
    /// overview open (a release's entries do not change), dropped when it ends.
    private let releaseScopes = Mutex<[String: [String]]>([:])

    func subscribe() -> AsyncStream<DashboardChange> {
        let (stream, continuation) = AsyncStream<DashboardChange>.makeStream(bufferingPolicy: .bufferingNewest(200))
        let id = UUID()
        let finished = subscribers.withLock { s in
            if !s.finished { s.open[id] = continuation }
            return s.finished
        }
        if finished { continuation.finish() }
        continuation.onTermination = { [weak self] _ in self?.subscribers.withLock { _ = $0.open.removeValue(forKey: id) } }
        return stream
    }

    /// The server stops: every open overview's stream ends (so that the HTTP port can close).
    func finish() {
        let open = subscribers.withLock { s in
            s.finished = true
            defer { s.open = [:] }
            return Array(s.open.values)
        }
        for continuation in open { continuation.finish() }
    }

    /// Nothing to make durable.
    func settle() async {}

    var subscriberCount: Int { subscribers.withLock { $0.open.count } }

    private func publish(_ change: DashboardChange) {
        for continuation in subscribers.withLock({ Array($0.open.values) }) { continuation.yield(change) }
    }

    /// With no overview open, an event costs nothing here.
    private var nobodyListens: Bool { subscribers.withLock { $0.open.isEmpty } }

    func observe(_ event: DeploymentEvent, record: DeploymentRecord) {
        // Progress ticks are many; the row changes with each stage and status anyway.
        guard event.kind != .stageProgress, !nobodyListens else { return }
        let r = record.request
        publish(DashboardChange(kind: .deployment, id: record.id, title: "\(r.cluster)/\(r.service)", strategy: r.strategy.rawValue,
                                status: record.status, progress: record.progress, updated: record.updatedAt,
                                scopes: [AccessPolicy.scope(cluster: r.cluster, service: r.service)]))
    }

    func observe(_ event: ReleaseEvent, release: ReleaseRecord) {
        guard !nobodyListens else {
            if release.status.isTerminal { releaseScopes.withLock { _ = $0.removeValue(forKey: release.id) } }
            return
        }
        var done = 0
        // By index: the entries' states are read in place, not copied.
        for i in release.entries.indices where [.succeeded, .skipped].contains(release.entries[i].status) { done += 1 }
        let scopes = releaseScopes.withLock { known in
            if let scopes = known[release.id] { return scopes }
            let scopes = DeploymentAPIService.scopes(of: release.request)
            known[release.id] = scopes
            return scopes
        }
        if release.status.isTerminal { releaseScopes.withLock { _ = $0.removeValue(forKey: release.id) } }
        publish(DashboardChange(kind: .release, id: release.id, title: release.request.name, strategy: "\(done)/\(release.entries.count)",
                                status: release.status, progress: 0, updated: release.updatedAt, scopes: scopes))
    }
}
