import Dispatch

/// Where the gRPC server's handlers run: threads of their own (a concurrent dispatch queue), not
/// Swift's cooperative pool, whose threads (as many as cores) the deployments' work keeps busy
/// under load. A status read then does not wait behind that work for a thread; it still enters
/// the engine's actor where it must (the actor's work runs where it always does).
final class RPCExecutor: TaskExecutor {
    private let queue = DispatchQueue(label: "ecs-deploy.rpc", qos: .userInitiated, attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
