import CloudModel
import Engine
import Foundation
import Logging
import Simulator
import Store
import Synchronization
import CloudRuntime
import TestSupport

/// `make bench`: a release of N services on the simulator with the test clock and AWS's
/// published throttle buckets (enforced by the simulator, respected by the client-side rate
/// limiter), each service's rollout taking 60 simulated seconds. Prints, for each N, the
/// simulated wall time against the lower bound set by RegisterTaskDefinition's bucket
/// ((N - 20) s + 60 s), the calls per service, the throttling errors that reached the
/// engine, and the CPU time the orchestration used: the process's during the release, less
/// the simulator's own (printed apart: on AWS that work is AWS's). `BENCH_SIZES=100,300`
/// picks the sizes; `BENCH_STORE=sqlite` records in an SQLite file, as the server does (memory
/// by default); `BENCH_TRACE=1` also prints the release's events.
@main
struct Bench {
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func run(services n: Int, sqlite: Bool) async throws -> String {
        let clock = ManualClock()
        var settings = SimulatorSettings()
        // A rollout of 60 s: new tasks healthy 2 s provisioning + 3 s pending + 53 s after the
        // UpdateService, then the old tasks' 2 s of STOPPING, and the service is steady.
        settings.healthCheck = 53
        settings.throttle = .aws
        let sim = SimulatedCloud(clock: clock, settings: settings)
        var entries: [ReleaseEntry] = []
        for i in 1...n {
            let td = try sim.seedTaskDefinition(family: "svc-\(i)", image: "repo/svc-\(i):1")
            try sim.createService(cluster: "prod", name: "svc-\(i)", taskDefinition: td.arn!, desiredCount: 2)
            entries.append(ReleaseEntry(kind: .service, label: "svc-\(i)", cluster: "prod", service: "svc-\(i)", image: "repo/svc-\(i):2"))
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let layers: [any CloudMiddleware] = [RetryMiddleware(policy: RetryPolicy(maxRetries: 5, timeout: nil), clock: clock),
                                             RateLimiterMiddleware(limits: .aws, clock: clock)]
        // DescribeServices calls merged above the rate limiter, as in the server.
        let cloud = MiddlewareCloud(sim.cloud, middleware: layers).cloud.coalescingServiceReads()
        // The server's SQLite file (BENCH_STORE=sqlite), or memory.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ecs-deploy-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try sqlite ? SQLiteDeploymentStore(path: folder.appendingPathComponent("bench.sqlite").path) : nil
        let env = EngineEnvironment(cloud: cloud, clock: clock, store: file ?? InMemoryDeploymentStore(), logger: logger)
        let engine = DeploymentEngine(environment: env)
        let releases = ReleaseManager(engine: engine, environment: env, store: file ?? InMemoryReleaseStore())
        let start = clock.now()
        let cpu = cpuSeconds()
        let simulatorCPU = sim.cpuSeconds
        // Planning already waits on the clock (the rate limiter paces its reads): drive the clock meanwhile.
        let request = ReleaseRequest(id: "bench-\(n)", name: "bench", entries: entries)
        let submitted = Task { try await releases.submit(request) }
        // The release's events tell when it is over (the loop reads no record while it runs).
        let finished = Flag()
        let watcher = Task {
            _ = try await submitted.value
            for await _ in try await releases.watch(id: "bench-\(n)") {}  // ends with the release
            finished.value.store(true, ordering: .relaxed)
        }
        // Time moves only once the work that the last step woke has gone back to sleep, so the
        // simulated time measures the release, not how fast this loop spins.
        // A commit to the file (fsync) takes milliseconds of real time away from the clock.
        let steps = await drive(clock, quiet: sqlite ? 20_000 : 2_000, until: finished)
        try await watcher.value
        // The process's CPU time less the simulator's: the simulator stands for AWS.
        let simulated = sim.cpuSeconds - simulatorCPU
        let used = cpuSeconds() - cpu - simulated
        let done = try await releases.status(id: "bench-\(n)")
        if ProcessInfo.processInfo.environment["BENCH_TRACE"] != nil {
            // The clock's steps, and the release's events at their simulated times.
            print("steps", steps)
            for e in done.events { print(String(format: "%.2f", e.at.timeIntervalSince(start)), e.type, e.entry, e.message) }
        }
        // Until the release's final state (the loop may have moved time on since).
        let wall = (done.finishedAt ?? clock.now()).timeIntervalSince(start)
        let bound = Double(max(0, n - 20)) + 60
        let calls = sim.callCounts
        let mutations = ["ecs:RegisterTaskDefinition", "ecs:UpdateService", "ecs:CreateTaskSet", "ecs:UpdateTaskSet", "ecs:DeleteTaskSet",
                         "ecs:UpdateServicePrimaryTaskSet", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
                         "events:PutTargets"].reduce(0) { $0 + (calls[$1] ?? 0) }
        let reads = calls.values.reduce(0, +) - mutations
        let failed = done.entries.filter { $0.status != .succeeded }.count
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        return [String(n), done.status.rawValue + (failed > 0 ? " (\(failed) not succeeded)" : ""), f(wall), f(bound), String(format: "%.3f", wall / bound),
                f(Double(mutations) / Double(n)), f(Double(reads) / Double(n)), String(sim.throttledCount), f(used), f(simulated)]
            .joined(separator: "\t")
    }

    /// Moves the clock, step by step, until `finished`: each step waits until the clock's
    /// activity has been still for `quiet` µs (real time; at most 2 s), then moves time to the next
    /// sleeper's deadline. It runs on a thread of its own: a task on Swift's pool that sleeps
    /// and wakes thousands of times costs more CPU than the release it drives. Returns the
    /// number of steps.
    static func drive(_ clock: ManualClock, quiet: UInt32, until finished: Flag) async -> Int {
        await withCheckedContinuation { (done: CheckedContinuation<Int, Never>) in
            Thread.detachNewThread {
                var steps = 0
                while !finished.value.load(ordering: .relaxed) {
                    steps += 1
                    let limit = ContinuousClock.now + .seconds(2)
                    var last = clock.activity
                    while ContinuousClock.now < limit {
                        usleep(quiet)
                        let current = clock.activity
                        if current == last { break }
                        last = current
                    }
                    if !clock.advanceToNextDeadline() { usleep(200) }
                }
                done.resume(returning: steps)
            }
        }
    }

    static func main() async throws {
        let sizes = (ProcessInfo.processInfo.environment["BENCH_SIZES"] ?? "100,300,1000").split(separator: ",").compactMap { Int($0) }
        print(["services", "status", "simulated_s", "lower_bound_s", "ratio", "mutating_calls_per_service",
               "read_calls_per_service", "throttled_answers", "orchestration_cpu_s", "simulator_cpu_s"].joined(separator: "\t"))
        let sqlite = ProcessInfo.processInfo.environment["BENCH_STORE"] == "sqlite"
        for n in sizes { print(try await run(services: n, sqlite: sqlite)) }
        print("targets: ratio <= 1.02, 0 throttling errors surfaced, <= 4 mutating calls per service, orchestration cpu <= 2 s at 1000")
    }
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
