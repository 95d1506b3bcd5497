import Engine
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Gives freed memory back to the system once every deployment in flight has finished: glibc
/// keeps what a burst of deployments freed in its arenas (1000 canaries in mock mode left the
/// server at 300 to 400 MB resident, nearly all of it free), and `malloc_trim` returns it.
public final class MemoryRelease: DeploymentObserver {
    /// How many deployments the engine holds (weakly: the engine holds this observer).
    private let held = Mutex<(@Sendable () -> Int)?>(nil)
    private let scheduled = Mutex(false)
    private let queue = DispatchQueue(label: "ecs-deploy.memory-release")

    /// The engine whose deployments are counted (it is made after its observers).
    func attach(_ engine: DeploymentEngine) {
        held.withLock { $0 = { [weak engine] in engine?.heldCount ?? 0 } }
    }

    public func observe(_ event: DeploymentEvent, record: DeploymentRecord) {
        guard event.status.isTerminal else { return }
        let start = scheduled.withLock { s in
            defer { s = true }
            return !s
        }
        guard start else { return }
        // A second later: the finished deployment has left the engine, and one trim serves a
        // whole wave of them.
        queue.asyncAfter(deadline: .now() + 1) { [self] in
            scheduled.withLock { $0 = false }
            guard held.withLock({ $0 })?() == 0 else { return }
            _ = Self.trim?(0)
        }
    }

    /// Fewer malloc arenas than glibc's default (8 per core): memory freed by one thread is then
    /// reused by the others instead of staying in an arena of its own. Call before threads start.
    public static func limitArenas(to count: Int32 = 2) {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
        _ = mallopt(-8, count)  // M_ARENA_MAX
        #endif
    }

    /// glibc's `malloc_trim` (Swift's Glibc module leaves malloc.h out); nil elsewhere.
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()
}
