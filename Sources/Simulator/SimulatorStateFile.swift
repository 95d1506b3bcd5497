import CloudModel
import Foundation
import Synchronization

/// Mock mode's cloud on disk: the simulator's state (clusters, services with their tasks and
/// task sets, task definitions, load balancers, listeners, rules), written after the calls
/// that change it and read back at start, so that a server restarted (or killed) in mock mode
/// finds the cloud it left, as it would on AWS.
///
/// A save costs time in proportion to the whole cloud, so saves are paced: a change is saved
/// at once when the last save ended at least four of its own durations ago, else once that
/// much time has passed (one save for every change made meanwhile). Saving stays under a fifth
/// of the time however large the cloud; a kill loses at most that window of changes (a small
/// cloud's is under a millisecond), and the engine's stages, which look before they act, take
/// the cloud as they find it. `SimulatedCloud.flushStateFile()` saves at once (at shutdown).
///
/// Each save replaces the file whole (a temporary file renamed over it), so a kill in the
/// middle of a save leaves the previous save. Settings, queued faults and diagnostics are not
/// saved: they come from the server's configuration and from tests.
public final class SimulatorStateFile: Sendable {
    public let url: URL
    private let onError: @Sendable (String) -> Void
    /// The sequence number of the last save written, and whether the last write failed.
    private let written = Mutex<(sequence: UInt64, failing: Bool)>((0, false))
    private let pacing = Mutex(Pacing())
    private let queue = DispatchQueue(label: "ecs-deploy.simulator-state")

    private struct Pacing {
        /// A save is scheduled: it takes every change made until it runs.
        var scheduled = false
        var lastEnd: ContinuousClock.Instant?
        var lastCost: Duration = .zero
    }

    /// - Parameter onError: told, once per run of failures, why a save could not be written.
    public init(url: URL, onError: @escaping @Sendable (String) -> Void = { _ in }) {
        self.url = url
        self.onError = onError
    }

    static let version = 1

    struct Document: Codable {
        var version: Int
        var savedAt: Date
        var state: SimulatorState
    }

    /// The saved cloud, or nil when nothing was saved yet. Throws `SimulatorStateFileError`
    /// (naming the file and the reason) when the file cannot be read or makes no sense.
    public func load() throws -> SavedSimulator? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let document: Document
        do {
            let data = try Data(contentsOf: url)
            document = try JSONDecoder().decode(Document.self, from: data)
        } catch {
            throw SimulatorStateFileError(path: url.path, reason: "cannot be read: \(error)")
        }
        guard document.version == Self.version else {
            throw SimulatorStateFileError(path: url.path, reason: "has version \(document.version); this server reads version \(Self.version)")
        }
        if let problem = document.state.consistencyProblem() {
            throw SimulatorStateFileError(path: url.path, reason: problem)
        }
        return SavedSimulator(savedAt: document.savedAt, state: document.state)
    }

    /// Moves an unreadable file aside (`<name>.unreadable-<unix time>`) so that the next start
    /// begins with an empty cloud; returns where it went.
    public func moveAside(now: Date = Date()) throws -> URL {
        let aside = url.deletingLastPathComponent()
            .appendingPathComponent("\(url.lastPathComponent).unreadable-\(Int(now.timeIntervalSince1970))")
        try? FileManager.default.removeItem(at: aside)
        try FileManager.default.moveItem(at: url, to: aside)
        return aside
    }

    /// A change was made: true when it is to be saved now (by the caller); otherwise a save is
    /// (or already was) scheduled, and `save` runs when the pace allows.
    func changed(save: @escaping @Sendable () -> Void) -> Bool {
        let now = ContinuousClock.now
        return pacing.withLock { p in
            if p.scheduled { return false }
            guard let end = p.lastEnd else { return true }
            let earliest = end + p.lastCost * 4
            if now >= earliest { return true }
            p.scheduled = true
            queue.asyncAfter(deadline: .now() + (earliest - now).seconds) { [self] in
                pacing.withLock { $0.scheduled = false }
                save()
            }
            return false
        }
    }

    /// Encodes and writes `snapshot` (unless a later save was written first), timed for the pace.
    func save(_ snapshot: StateSnapshot, at now: Date, sequence: UInt64) {
        let start = ContinuousClock.now
        defer {
            let end = ContinuousClock.now
            pacing.withLock { p in
                p.lastEnd = end
                p.lastCost = end - start
            }
        }
        if let data = try? encode(snapshot.state, at: now) { write(data, sequence: sequence) }
    }

    func encode(_ state: SimulatorState, at now: Date) throws -> Data {
        try JSONEncoder().encode(Document(version: Self.version, savedAt: now, state: state))
    }

    private func write(_ data: Data, sequence: UInt64) {
        written.withLock { last in
            guard sequence > last.sequence else { return }
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                let partial = url.appendingPathExtension("partial")
                try data.write(to: partial)
                if rename(partial.path, url.path) != 0 {
                    throw SimulatorStateFileError(path: url.path, reason: "cannot be replaced (errno \(errno))")
                }
                last = (sequence, false)
            } catch {
                if !last.failing { onError("the simulator's state could not be saved to \(url.path): \(error)") }
                last.failing = true
            }
        }
    }
}

/// A simulator state read from a `SimulatorStateFile`.
public struct SavedSimulator: @unchecked Sendable {
    /// The simulated instant of the save: a restarted simulator's clock must not start before it.
    public let savedAt: Date
    let state: SimulatorState
}

public struct SimulatorStateFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public var description: String { "the simulator's state file \(path) \(reason)" }
}

extension SimulatorState {
    /// What in a decoded state could make the simulator misbehave, or nil.
    func consistencyProblem() -> String? {
        guard nextIP >= 0 else { return "has a negative nextIP" }
        for (key, svc) in services {
            guard key == svc.key, clusters[svc.cluster] != nil else { return "has service \(key) outside its cluster" }
            guard (0...100_000).contains(svc.desiredCount) else { return "has service \(key) with desiredCount \(svc.desiredCount)" }
            for set in svc.taskSets where !(set.scale.value.isFinite && (0...100).contains(set.scale.value)) || set.computedDesiredCount < 0 {
                return "has task set \(set.id) with scale \(set.scale.value)"
            }
            for task in svc.tasks + svc.stoppedTasks where task.stopRequestedAt != nil && task.stoppedAt == nil {
                return "has task \(task.id) asked to stop with no stop time"
            }
            for task in svc.stoppedTasks where task.stoppedAt == nil {
                return "has stopped task \(task.id) with no stop time"
            }
        }
        for (task, owner) in taskOwners where services[owner] == nil {
            return "has task \(task) of a service it does not have (\(owner))"
        }
        for (family, revisions) in taskDefinitions {
            for (index, definition) in revisions.enumerated() where definition.revision != index + 1 {
                return "has task definition \(family) revision \(definition.revision.map(String.init) ?? "none") at position \(index + 1)"
            }
        }
        return nil
    }
}
