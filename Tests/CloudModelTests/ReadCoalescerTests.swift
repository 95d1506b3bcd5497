import CloudModel
import Foundation
import Synchronization
import Testing
import CloudRuntime

/// An ECS whose DescribeServices calls are recorded and each held until the test lets it go.
/// It knows services `svc-1` ... `svc-99` of cluster `prod`; `broken` clusters fail.
final class HeldECS: ECSAPI {
    struct State {
        var calls: [(cluster: String, services: [String])] = []
        var held: [CheckedContinuation<Void, Never>] = []
        var failing: Set<String> = []
    }
    let state = Mutex(State())

    var calls: [[String]] { state.withLock { $0.calls.map(\.services) } }
    var callClusters: [String] { state.withLock { $0.calls.map(\.cluster) } }
    var heldCount: Int { state.withLock { $0.held.count } }

    /// Lets the oldest held call answer.
    func releaseOne() {
        let next = state.withLock { s in s.held.isEmpty ? nil : s.held.removeFirst() }
        next?.resume()
    }

    func fail(cluster: String) { state.withLock { _ = $0.failing.insert(cluster) } }

    func describeServices(cluster: String, services: [String]) async throws -> [ECSService] {
        precondition(services.count <= 10, "more than 10 services in one call")
        if services.isEmpty { return [] }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            state.withLock { s in
                s.calls.append((cluster, services))
                s.held.append(c)
            }
        }
        if state.withLock({ $0.failing.contains(cluster) }) {
            throw CloudError(code: CloudError.clusterNotFound, message: "Cluster not found.")
        }
        if services.contains(where: { $0.contains(" ") }) {
            throw CloudError(code: "InvalidParameterException", message: "Invalid service name.")
        }
        return services.compactMap { name -> ECSService? in
            let short = name.arnResourceName
            guard let n = Int(short.dropFirst(4)), short.hasPrefix("svc-"), n < 100 else { return nil }
            return ECSService(serviceArn: "arn:aws:ecs:us-east-1:1:service/\(cluster)/\(short)", serviceName: short,
                              clusterArn: "arn:aws:ecs:us-east-1:1:cluster/\(cluster)", desiredCount: n, taskDefinition: nil,
                              createdAt: Date(timeIntervalSince1970: 0))
        }
    }

    func registerTaskDefinition(_ d: TaskDefinition) async throws -> TaskDefinition { fatalError() }
    func describeTaskDefinition(_ t: String) async throws -> TaskDefinition { fatalError() }
    func listServices(cluster: String, nextToken: String?) async throws -> ServicePage { fatalError() }
    func updateService(_ input: UpdateServiceInput) async throws -> ECSService { fatalError() }
    func createTaskSet(_ input: CreateTaskSetInput) async throws -> TaskSet { fatalError() }
    func updateTaskSet(cluster: String, service: String, taskSet: String, scale: Scale) async throws -> TaskSet { fatalError() }
    func deleteTaskSet(cluster: String, service: String, taskSet: String, force: Bool) async throws -> TaskSet { fatalError() }
    func describeTaskSets(cluster: String, service: String, taskSets: [String]?) async throws -> [TaskSet] { fatalError() }
    func updateServicePrimaryTaskSet(cluster: String, service: String, primaryTaskSet: String) async throws -> TaskSet { fatalError() }
    func listTasks(cluster: String, serviceName: String?, startedBy: String?, desiredStatus: String?) async throws -> [String] { fatalError() }
    func describeTasks(cluster: String, tasks: [String]) async throws -> [ECSTask] { fatalError() }
    func listServiceDeployments(cluster: String, service: String) async throws -> [ServiceDeploymentBrief] { fatalError() }
    func describeServiceDeployments(arns: [String]) async throws -> [ServiceDeploymentDetail] { fatalError() }
    func describeServiceRevisions(arns: [String]) async throws -> [ServiceRevision] { fatalError() }
    func continueServiceDeployment(arn: String, hookId: String, action: String) async throws { fatalError() }
    func stopServiceDeployment(arn: String, stopType: String) async throws { fatalError() }
}

@Suite struct ReadCoalescerTests {
    func until(_ condition: () -> Bool) async {
        while !condition() { await Task.yield() }
    }

    func names(_ found: [ECSService]) -> [String] { found.map(\.serviceName) }

    @Test func callsQueuedWhileOneIsInFlightGoTogetherAndEachGetsItsOwn() async throws {
        let inner = HeldECS()
        let ecs = ReadCoalescer(inner)
        let first = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-1"]) }
        await until { inner.heldCount == 1 }
        let b = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-2"]) }
        let c = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-3", "arn:aws:ecs:us-east-1:1:service/prod/svc-1"]) }
        let missing = Task { try await ecs.describeServices(cluster: "prod", services: ["nope", "svc-2"]) }
        let dup = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-3", "svc-3"]) }
        await until { ecs.queuedCallers == 4 }
        #expect(inner.calls.count == 1)
        inner.releaseOne()
        #expect(names(try await first.value) == ["svc-1"])
        await until { inner.heldCount == 1 }
        inner.releaseOne()
        #expect(names(try await b.value) == ["svc-2"])
        // In the caller's order, matched by ARN too; the missing one left out as in one call.
        #expect(names(try await c.value) == ["svc-3", "svc-1"])
        #expect(names(try await missing.value) == ["svc-2"])
        #expect(names(try await dup.value) == ["svc-3"])
        #expect(inner.calls.count == 2)
        #expect(Set(inner.calls[1]) == ["svc-2", "svc-3", "arn:aws:ecs:us-east-1:1:service/prod/svc-1", "nope"])
        #expect(ecs.queuedCallers == 0)
    }

    @Test func tenServicesACallAndFullBatchesGoAtOnce() async throws {
        let inner = HeldECS()
        let ecs = ReadCoalescer(inner)
        let first = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-0"]) }
        await until { inner.heldCount == 1 }
        var tasks: [Task<[ECSService], any Error>] = []
        for i in 1...25 {
            tasks.append(Task { try await ecs.describeServices(cluster: "prod", services: ["svc-\(i)"]) })
        }
        // Two full batches go out while the first call is held; five callers wait.
        await until { inner.heldCount == 3 && ecs.queuedCallers == 5 }
        #expect(inner.calls.dropFirst().allSatisfy { $0.count == 10 })
        for _ in 0..<3 { inner.releaseOne() }
        await until { inner.heldCount == 1 }
        inner.releaseOne()
        _ = try await first.value
        for (i, task) in tasks.enumerated() {
            #expect(names(try await task.value) == ["svc-\(i + 1)"])
        }
        #expect(inner.calls.count == 4)
        #expect(inner.calls.map(\.count).sorted() == [1, 5, 10, 10])
    }

    @Test func anErrorReachesEveryCallerItBelongsToOnly() async throws {
        let inner = HeldECS()
        inner.fail(cluster: "gone")
        let ecs = ReadCoalescer(inner)
        let first = Task { try await ecs.describeServices(cluster: "gone", services: ["svc-1"]) }
        await until { inner.heldCount == 1 }
        let second = Task { try await ecs.describeServices(cluster: "gone", services: ["svc-2"]) }
        let third = Task { try await ecs.describeServices(cluster: "gone", services: ["svc-3"]) }
        // Another cluster is not merged with it, and goes at once.
        let other = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-4"]) }
        await until { inner.heldCount == 2 && ecs.queuedCallers == 2 }
        #expect(inner.callClusters.sorted() == ["gone", "prod"])
        inner.releaseOne()
        inner.releaseOne()
        await until { inner.heldCount == 1 }
        inner.releaseOne()
        // The merged call failed: each of its callers asks again alone, and fails alone.
        await until { inner.heldCount == 2 }
        inner.releaseOne()
        inner.releaseOne()
        for task in [first, second, third] {
            await #expect(throws: CloudError.self) { _ = try await task.value }
        }
        #expect(names(try await other.value) == ["svc-4"])
        #expect(inner.calls.count == 5)
    }

    @Test func oneCallersBadNameDoesNotFailTheOthers() async throws {
        let inner = HeldECS()
        let ecs = ReadCoalescer(inner)
        let first = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-1"]) }
        await until { inner.heldCount == 1 }
        let good = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-2"]) }
        let bad = Task { try await ecs.describeServices(cluster: "prod", services: ["bad name"]) }
        await until { ecs.queuedCallers == 2 }
        inner.releaseOne()
        _ = try await first.value
        await until { inner.heldCount == 1 }
        #expect(Set(inner.calls[1]) == ["svc-2", "bad name"])
        inner.releaseOne()  // the merged call fails on the bad name
        await until { inner.heldCount == 2 }
        inner.releaseOne()
        inner.releaseOne()
        #expect(names(try await good.value) == ["svc-2"])
        await #expect(throws: CloudError.self) { _ = try await bad.value }
        #expect(inner.calls.count == 4)
    }

    @Test func cancelledCallersAreStillAnsweredAndDoNotCancelTheMergedCall() async throws {
        let inner = HeldECS()
        let ecs = ReadCoalescer(inner)
        let first = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-1"]) }
        await until { inner.heldCount == 1 }
        let queued = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-2"]) }
        let kept = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-3"]) }
        await until { ecs.queuedCallers == 2 }
        queued.cancel()
        first.cancel()
        inner.releaseOne()
        await until { inner.heldCount == 1 }
        inner.releaseOne()
        #expect(names(try await first.value) == ["svc-1"])
        #expect(names(try await queued.value) == ["svc-2"])
        #expect(names(try await kept.value) == ["svc-3"])
        #expect(inner.calls.count == 2)
        // Already cancelled when it calls: it goes alone, at once, as unmerged.
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await ecs.describeServices(cluster: "prod", services: ["svc-4"])
        }
        await until { inner.heldCount == 1 }
        #expect(ecs.queuedCallers == 0)
        inner.releaseOne()
        #expect(names(try await late.value) == ["svc-4"])
    }

    @Test func largeAndEmptyRequestsPassThrough() async throws {
        let inner = HeldECS()
        let ecs = ReadCoalescer(inner, maxBatch: 3)
        let big = Task { try await ecs.describeServices(cluster: "prod", services: ["svc-1", "svc-2", "svc-3", "svc-4"]) }
        await until { inner.heldCount == 1 }
        #expect(ecs.queuedCallers == 0)
        inner.releaseOne()
        #expect(names(try await big.value) == ["svc-1", "svc-2", "svc-3", "svc-4"])
        #expect(try await ecs.describeServices(cluster: "prod", services: []).isEmpty)
    }
}
