import CloudModel
import Engine
import Foundation
import Logging
import Simulator

/// `make bench`: a release of N services on the simulator with the test clock and AWS's
/// published throttle buckets (enforced by the simulator, respected by the client-side rate
/// limiter), each service's rollout taking 60 simulated seconds. Prints, for each N, the
/// simulated wall time against the lower bound set by RegisterTaskDefinition's bucket
/// ((N - 20) s + 60 s), the calls per service, the throttling errors that reached the
/// engine, and the CPU time the orchestration used.
@main
struct Bench {
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func run(services n: Int) async throws -> String {
        let clock = ManualClock()
        var settings = SimulatorSettings()
        settings.healthCheck = 55  // 2 s provisioning + 3 s pending + 55 s: healthy 60 s after launch
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
        let env = EngineEnvironment(cloud: cloud, clock: clock, logger: logger)
        let engine = DeploymentEngine(environment: env)
        let releases = ReleaseManager(engine: engine, environment: env)
        let start = clock.now()
        let cpu = cpuSeconds()
        // Planning already waits on the clock (the rate limiter paces its reads): drive the clock meanwhile.
        let request = ReleaseRequest(id: "bench-\(n)", name: "bench", entries: entries)
        let submitted = Task { try await releases.submit(request) }
        // Time moves only once the work that the last step woke has gone back to sleep, so the
        // simulated time measures the release, not how fast this loop spins. The loop keeps no
        // copy of the record between steps (one would make the manager copy it on each change).
        var finished = false
        while !finished {
            await clock.settle(quiet: .microseconds(200), limit: .seconds(2))
            if !clock.advanceToNextDeadline() { try await Task.sleep(for: .microseconds(200)) }
            finished = (try? await releases.status(id: "bench-\(n)"))?.status.isTerminal == true
        }
        let record: ReleaseRecord? = try await releases.status(id: "bench-\(n)")
        _ = try await submitted.value
        let done = record!
        let used = cpuSeconds() - cpu
        let wall = clock.now().timeIntervalSince(start)
        let bound = Double(max(0, n - 20)) + 60
        let calls = sim.callCounts
        let mutations = ["ecs:RegisterTaskDefinition", "ecs:UpdateService", "ecs:CreateTaskSet", "ecs:UpdateTaskSet", "ecs:DeleteTaskSet",
                         "ecs:UpdateServicePrimaryTaskSet", "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule",
                         "events:PutTargets"].reduce(0) { $0 + (calls[$1] ?? 0) }
        let reads = calls.values.reduce(0, +) - mutations
        let failed = done.entries.filter { $0.status != .succeeded }.count
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        return [String(n), done.status.rawValue + (failed > 0 ? " (\(failed) not succeeded)" : ""), f(wall), f(bound), f(wall / bound),
                f(Double(mutations) / Double(n)), f(Double(reads) / Double(n)), String(sim.throttledCount), f(used)]
            .joined(separator: "\t")
    }

    static func main() async throws {
        let sizes = (ProcessInfo.processInfo.environment["BENCH_SIZES"] ?? "100,300,1000").split(separator: ",").compactMap { Int($0) }
        print(["services", "status", "simulated_s", "lower_bound_s", "ratio", "mutating_calls_per_service",
               "read_calls_per_service", "throttled_answers", "cpu_s"].joined(separator: "\t"))
        for n in sizes { print(try await run(services: n)) }
        print("targets: ratio <= 1.02, 0 throttling errors surfaced, <= 4 mutating calls per service, cpu <= 2 s at 1000")
    }
}
