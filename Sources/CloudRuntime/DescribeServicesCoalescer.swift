import CloudModel
import Foundation
import Synchronization

/// Merges concurrent DescribeServices calls for the same cluster into calls of up to
/// `maxBatch` services (10, ECS's limit). Put it above the client-side rate limiter (wrap the
/// `MiddlewareCloud`, see `Cloud.coalescingServiceReads()`), so that one token of the
/// service-reads bucket serves up to 10 callers: hundreds of deployments each polling their
/// one service then cost a tenth of the reads.
///
/// No timers: a call goes out at once when none is in flight for its cluster; calls that come
/// while one is in flight (or waiting for its token) queue and go together in the next call,
/// as soon as one finishes or as soon as 10 services are queued. Each caller gets the services
/// it asked for, in its order; missing ones are left out as in one call; when a merged call
/// fails, each of its callers asks again alone, so that an error reaches only the caller it
/// belongs to. Calls for more than `maxBatch` services (or none) pass
/// through. A caller cancelled while it waits still gets its answer (the merged call is not
/// cancelled with it: it serves the others too).
public final class DescribeServicesCoalescer: ECSAPI {
    public let inner: any ECSAPI
    public let maxBatch: Int
    /// Told when a caller waits on a merged call and when the call's task hands the answers
    /// over (see `DeployClock.handOff`), so that a test clock knows the work is not over.
    let clock: (any DeployClock)?
    private let state = Mutex(State())

    private struct Waiter {
        let id: UInt64
        let services: [String]
        /// It gave its work back to the clock while it waits (the answer hands it back).
        let handsBack: Bool
        let continuation: CheckedContinuation<[ECSService], any Error>
    }

    private struct Queue {
        var pending: [Waiter] = []
        /// Services asked for by `pending` (duplicates counted): a full batch is ready at `maxBatch`.
        var pendingServices = 0
        /// Calls in flight (or waiting for their token).
        var active = 0
    }

    private struct State {
        var nextID: UInt64 = 0
        var queues: [String: Queue] = [:]
        /// Waiters in a call in flight, by id.
        var inFlight: [UInt64: Waiter] = [:]
    }

    private struct Batch {
        let cluster: String
        let services: [String]
        let waiters: [UInt64]
    }

    public init(_ inner: any ECSAPI, maxBatch: Int = 10, clock: (any DeployClock)? = nil) {
        self.inner = inner
        self.maxBatch = max(1, maxBatch)
        self.clock = clock
    }

    /// Callers waiting for a call to go out (not those in one in flight).
    public var queuedCallers: Int {
        state.withLock { $0.queues.values.reduce(0) { $0 + $1.pending.count } }
    }

    public func describeServices(cluster: String, services: [String]) async throws -> [ECSService] {
        let wanted = Self.unique(services)
        // A cancelled caller (e.g. reading the service's state for the record of a deployment
        // the shutdown stopped) calls alone, as it would unmerged.
        if wanted.isEmpty || wanted.count > maxBatch || Task.isCancelled {
            return try await inner.describeServices(cluster: cluster, services: services)
        }
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        // Waits on the merged call's task, which hands the work back with the answer.
        let handsBack = clock?.workDone() ?? false
        defer { if handsBack { clock?.takeUp(handedOff: true) } }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[ECSService], any Error>) in
            let batches = state.withLock { s -> [Batch] in
                var queue = s.queues[cluster] ?? Queue()
                queue.pending.append(Waiter(id: id, services: wanted, handsBack: handsBack, continuation: continuation))
                queue.pendingServices += wanted.count
                s.queues[cluster] = queue
                return Self.ready(&s, cluster: cluster, maxBatch: maxBatch, finished: false)
            }
            for batch in batches { start(batch) }
        }
    }

    /// The batches to send now for `cluster`: a partial one when nothing else is in flight or
    /// a call of the cluster just `finished` (its task sends the next), and every full one.
    private static func ready(_ s: inout State, cluster: String, maxBatch: Int, finished: Bool) -> [Batch] {
        guard var queue = s.queues[cluster] else { return [] }
        if finished { queue.active -= 1 }
        var batches: [Batch] = []
        while !queue.pending.isEmpty && (queue.active == 0 || queue.pendingServices >= maxBatch || (finished && batches.isEmpty)) {
            var services: [String] = []
            var chosen = Set<String>()
            var taken: [Waiter] = []
            var rest: [Waiter] = []
            rest.reserveCapacity(queue.pending.count)
            for waiter in queue.pending {
                if chosen.count < maxBatch || waiter.services.allSatisfy(chosen.contains) {
                    let new = waiter.services.filter { !chosen.contains($0) }
                    if chosen.count + new.count <= maxBatch {
                        for name in new { chosen.insert(name); services.append(name) }
                        taken.append(waiter)
                        continue
                    }
                }
                rest.append(waiter)
            }
            queue.pending = rest
            queue.pendingServices -= taken.reduce(0) { $0 + $1.services.count }
            queue.active += 1
            for waiter in taken { s.inFlight[waiter.id] = waiter }
            batches.append(Batch(cluster: cluster, services: services, waiters: taken.map(\.id)))
        }
        if queue.pending.isEmpty && queue.active == 0 {
            s.queues[cluster] = nil
        } else {
            s.queues[cluster] = queue
        }
        return batches
    }

    /// Sends `batch` on a task of its own (no caller's cancellation stops it), then whatever
    /// queued meanwhile.
    private func start(_ batch: Batch) {
        clock?.handOff(1)
        Task {
            clock?.takeUp(handedOff: true)
            defer { clock?.workDone() }
            var next: [Batch] = [batch]
            while !next.isEmpty {
                let batch = next.removeFirst()
                let result: Result<[ECSService], any Error>
                do {
                    result = .success(try await inner.describeServices(cluster: batch.cluster, services: batch.services))
                } catch {
                    result = .failure(error)
                }
                let (waiters, more) = state.withLock { s -> ([Waiter], [Batch]) in
                    let waiters = batch.waiters.compactMap { s.inFlight.removeValue(forKey: $0) }
                    return (waiters, Self.ready(&s, cluster: batch.cluster, maxBatch: maxBatch, finished: true))
                }
                switch result {
                case .success(let found):
                    clock?.handOff(waiters.filter(\.handsBack).count)
                    for waiter in waiters { waiter.continuation.resume(returning: Self.answer(for: waiter.services, from: found)) }
                case .failure(let error) where waiters.count == 1:
                    clock?.handOff(waiters.filter(\.handsBack).count)
                    waiters[0].continuation.resume(throwing: error)
                case .failure:
                    // One caller's bad identifier must not fail the others' deployments: each
                    // asks again on its own and gets the answer it would have had unmerged.
                    let inner = self.inner
                    // Each waiter asks on a task of its own, which hands the work back with
                    // the answer.
                    let clock = self.clock
                    clock?.handOff(waiters.count)
                    for waiter in waiters {
                        Task {
                            clock?.takeUp(handedOff: true)
                            let answer: Result<[ECSService], any Error>
                            do {
                                answer = .success(try await inner.describeServices(cluster: batch.cluster, services: waiter.services))
                            } catch {
                                answer = .failure(error)
                            }
                            if waiter.handsBack { clock?.handOff(1) }
                            waiter.continuation.resume(with: answer)
                            clock?.workDone()
                        }
                    }
                }
                // The first batch that is ready continues on this task, any others on new ones.
                if let first = more.first {
                    next.append(first)
                    for other in more.dropFirst() { start(other) }
                }
            }
        }
    }

    /// The services of a merged answer that `services` asked for (by name or ARN), in their order.
    static func answer(for services: [String], from found: [ECSService]) -> [ECSService] {
        services.compactMap { wanted in
            let name = wanted.arnResourceName
            return found.first { $0.serviceArn == wanted || $0.serviceName == name }
        }
    }

    static func unique(_ services: [String]) -> [String] {
        var seen = Set<String>()
        return services.filter { seen.insert($0).inserted }
    }

    // MARK: Everything else goes straight through.
    public func registerTaskDefinition(_ d: TaskDefinition) async throws -> TaskDefinition { try await inner.registerTaskDefinition(d) }
    public func describeTaskDefinition(_ t: String) async throws -> TaskDefinition { try await inner.describeTaskDefinition(t) }
    public func listServices(cluster: String, nextToken: String?) async throws -> ServicePage {
        try await inner.listServices(cluster: cluster, nextToken: nextToken)
    }
    public func updateService(_ input: UpdateServiceInput) async throws -> ECSService { try await inner.updateService(input) }
    public func createTaskSet(_ input: CreateTaskSetInput) async throws -> TaskSet { try await inner.createTaskSet(input) }
    public func updateTaskSet(cluster: String, service: String, taskSet: String, scale: Scale) async throws -> TaskSet {
        try await inner.updateTaskSet(cluster: cluster, service: service, taskSet: taskSet, scale: scale)
    }
    public func deleteTaskSet(cluster: String, service: String, taskSet: String, force: Bool) async throws -> TaskSet {
        try await inner.deleteTaskSet(cluster: cluster, service: service, taskSet: taskSet, force: force)
    }
    public func describeTaskSets(cluster: String, service: String, taskSets: [String]?) async throws -> [TaskSet] {
        try await inner.describeTaskSets(cluster: cluster, service: service, taskSets: taskSets)
    }
    public func updateServicePrimaryTaskSet(cluster: String, service: String, primaryTaskSet: String) async throws -> TaskSet {
        try await inner.updateServicePrimaryTaskSet(cluster: cluster, service: service, primaryTaskSet: primaryTaskSet)
    }
    public func listTasks(cluster: String, serviceName: String?, startedBy: String?, desiredStatus: String?) async throws -> [String] {
        try await inner.listTasks(cluster: cluster, serviceName: serviceName, startedBy: startedBy, desiredStatus: desiredStatus)
    }
    public func describeTasks(cluster: String, tasks: [String]) async throws -> [ECSTask] {
        try await inner.describeTasks(cluster: cluster, tasks: tasks)
    }
    public func listServiceDeployments(cluster: String, service: String) async throws -> [ServiceDeploymentBrief] {
        try await inner.listServiceDeployments(cluster: cluster, service: service)
    }
    public func describeServiceDeployments(arns: [String]) async throws -> [ServiceDeploymentDetail] {
        try await inner.describeServiceDeployments(arns: arns)
    }
    public func describeServiceRevisions(arns: [String]) async throws -> [ServiceRevision] {
        try await inner.describeServiceRevisions(arns: arns)
    }
    public func continueServiceDeployment(arn: String, hookId: String, action: String) async throws {
        try await inner.continueServiceDeployment(arn: arn, hookId: hookId, action: action)
    }
    public func stopServiceDeployment(arn: String, stopType: String) async throws {
        try await inner.stopServiceDeployment(arn: arn, stopType: stopType)
    }
}

extension Cloud {
    /// This cloud with its DescribeServices calls merged (`DescribeServicesCoalescer`). Apply
    /// it to the cloud that already has the rate limiter (a `MiddlewareCloud`), so that the
    /// merged call takes one token.
    public func coalescingServiceReads(maxBatch: Int = 10, clock: any DeployClock) -> Cloud {
        var cloud = self
        cloud.ecs = DescribeServicesCoalescer(ecs, maxBatch: maxBatch, clock: clock)
        return cloud
    }
}
