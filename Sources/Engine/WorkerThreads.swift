import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where the engine's and the release manager's work runs (see `WorkGroup.run`): threads of
/// their own, as many as cores, in `grpc-server` at a lower CPU priority than the rest of the
/// process (nice +10 on Linux, where the nice value is a thread's), so that the API's handlers
/// (see the server's `RPCExecutor`) are not kept waiting for a core by rollouts under load.
/// Work only waits when every core is busy; then the answers to callers go first.
public final class WorkerThreads: TaskExecutor, @unchecked Sendable {
    /// The nice value of the process's set, read when it starts (at the first work group's
    /// run): `grpc-server` sets it to 10 before it serves; in-process embedders (the tests, the
    /// benchmark) leave it at 0, so that their own threads do not starve the engine.
    public static let niceness = Atomic<Int32>(0)

    /// The process's one set (threads live as long as the process).
    static let shared = WorkerThreads(count: ProcessInfo.processInfo.activeProcessorCount,
                                      niceness: niceness.load(ordering: .relaxed))

    private let condition = NSCondition()
    /// Jobs in order: `jobs[head...]` wait (guarded by `condition`).
    private var jobs: [UnownedJob] = []
    private var head = 0

    init(count: Int, niceness: Int32) {
        for i in 0..<max(1, count) {
            Thread { [unowned self] in self.serve(name: "deploy-work-\(i)", niceness: niceness) }.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve(name: String, niceness: Int32) {
        #if canImport(Glibc)
        // Named for `top -H` and `ps -L` (Linux: at most 15 bytes; else the creator's name stays).
        try? name.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
        // Linux: `who` 0 is the calling thread. Raising one's own nice value needs no privilege.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        #endif
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 4096, head * 2 >= jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: executor)
        }
    }
}
