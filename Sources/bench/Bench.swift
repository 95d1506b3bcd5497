import Audit
import CloudModel
import Engine
import Foundation
import Logging
import Server
import Simulator
import Store
import Synchronization
import TestSupport

/// `make bench`: releases of N services on the simulator with the test clock and AWS's
/// published throttle buckets (enforced by the simulator, respected by the client-side rate
/// limiter), run by the server as `grpc-server` runs it: the SQLite file with its durability,
/// the audit log with its fsync, the metrics and audit observers (`BENCH_STORE=memory`: records
/// in memory and no audit log, for comparison).
///
/// Scenarios (`BENCH_SCENARIOS`, all by default):
/// - `quicksync`: ECS-controller services, each rollout 60 simulated seconds;
/// - `uneven`: the same with a rollout of 58 s, not a multiple of `poll_interval` (3 s): success
///   is seen at the first poll after it;
/// - `canary`: EXTERNAL services (task sets behind a listener's two target groups), canary
///   stages 10, 50 and 100 %, each baking 30 s, so ELBv2's ModifyListener bucket counts too.
///
/// For each N it prints the simulated time to the release's final state against a lower bound:
/// the time one service takes in the cloud (quicksync: the rollout; canary: a release of 1,
/// measured) plus the time the busiest AWS bucket needs for the calls beyond its burst; calls per service; throttling errors that
/// reached the engine; and CPU seconds: the orchestration's (the process's during the
/// release, less the simulator's, which stands for AWS's work) and the simulator's.
/// `BENCH_SIZES=100,300` picks the sizes (by default 100, 300 and 1000 for quicksync, 100 for
/// the others); `BENCH_CHECK=1` exits non-zero when a ratio misses
/// its target (simulated time does not depend on the machine's speed: CI runs it);
/// `BENCH_TRACE=1` also prints the calls by operation and the release's events (`=calls`: the
/// calls only). Last, the server under load (`LoadBench`,
/// `BENCH_LOAD=N`).
@main
struct Bench {
    struct Scenario: Sendable {
        var name: String
        var strategy: StrategyKind
        var controller: DeploymentController
        /// From UpdateService (or CreateTaskSet) to the new tasks healthy, in simulated seconds.
        var healthCheck: Double
        var config: [String: String] = [:]
        var ratioTarget: Double
        /// The bound's base is the cloud's own rollout (provisioning, pending, health check,
        /// stopping) rather than one service's measured release.
        var boundByRollout = false
        /// The sizes run when `BENCH_SIZES` is not set.
        var sizes = [100]
        /// ECS-controller services set up for ECS's own strategies (advancedConfiguration).
        var native = false
    }

    static let scenarios: [Scenario] = [
        // New tasks healthy 2 s provisioning + 3 s pending + 53 s after the UpdateService, then
        // the old tasks' 2 s of STOPPING: 60 s, a multiple of the 3 s poll. Polls wake on ticks of
        // the interval shared by every deployment (their reads merge), not 3 s after each one's
        // update: the end is seen at the first tick after it, up to 3 s late, as in `uneven`.
        Scenario(name: "quicksync", strategy: .quicksync, controller: .ecs, healthCheck: 53, ratioTarget: 1.05, boundByRollout: true,
                 sizes: [100, 300, 1000]),
        // Success is seen at the first poll after the rollout: up to one poll_interval (3 s) late.
        Scenario(name: "uneven", strategy: .quicksync, controller: .ecs, healthCheck: 51, ratioTarget: 1.05, boundByRollout: true),
        Scenario(name: "canary", strategy: .canary, controller: .external, healthCheck: 53,
                 // Its health checks during bakes and waits (DescribeTargetHealth, ELBv2's read
                 // bucket: 10/s) set its pace beyond some 30 services; the bound counts only
                 // the mutating calls, so the ratio says what those reads cost.
                 config: ["canary_stages": "10,50,100", "stage_timeout": "30s"], ratioTarget: 1.5),
        // ECS's own canary (ECS controller, advancedConfiguration): 10% for 1 minute, then all,
        // no bake; ECS moves the traffic, the server follows its service deployment.
        Scenario(name: "native-canary", strategy: .canary, controller: .ecs, healthCheck: 53,
                 config: ["canary_percent": "10", "canary_bake": "1m", "bake_time": "0m"], ratioTarget: 1.2, native: true),
    ]

    /// The mutating calls: what the bound counts (reads depend on how often the engine polls).
    static let mutations = ["ecs:RegisterTaskDefinition", "ecs:UpdateService", "ecs:CreateTaskSet", "ecs:UpdateTaskSet",
                            "ecs:DeleteTaskSet", "ecs:UpdateServicePrimaryTaskSet", "elasticloadbalancing:ModifyListener",
                            "elasticloadbalancing:ModifyRule", "events:PutTargets", "ecs:ContinueServiceDeployment",
                            "ecs:StopServiceDeployment"]

    struct Outcome {
        var row: [String]
        var ratio: Double
        var simulated: Double
        var failed: Int
    }

    /// CPU seconds of the process (or of the calling thread only).
    static func cpuSeconds(thread: Bool = false) -> Double {
        var usage = rusage()
        getrusage(thread ? 1 /* RUSAGE_THREAD */ : RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func run(_ scenario: Scenario, services n: Int, alone: Double?, memory: Bool) async throws -> Outcome {
        let clock = ManualClock()
        var settings = SimulatorSettings()
        settings.healthCheck = scenario.healthCheck
        settings.throttle = .aws
        let sim = SimulatedCloud(clock: clock, settings: settings)
        var entries: [ReleaseEntry] = []
        for i in 1...n {
            let td = try sim.seedTaskDefinition(family: "svc-\(i)", image: "repo/svc-\(i):1")
            var balancers: [LoadBalancerRef] = []
            if scenario.controller == .external {
                let lb = sim.createLoadBalancer(name: "svc-\(i)-alb")
                let blue = try sim.createTargetGroup(name: "svc-\(i)-blue", loadBalancerArn: lb.loadBalancerArn).targetGroupArn
                let green = try sim.createTargetGroup(name: "svc-\(i)-green", loadBalancerArn: lb.loadBalancerArn).targetGroupArn
                _ = try sim.createListener(loadBalancerArn: lb.loadBalancerArn, defaultActions: [
                    .forward([WeightedTargetGroup(targetGroupArn: blue, weight: 100), WeightedTargetGroup(targetGroupArn: green, weight: 0)]),
                ])
                balancers = [LoadBalancerRef(targetGroupArn: blue, containerName: "app", containerPort: 80)]
            }
            if scenario.native {
                try sim.createNativeService(cluster: "prod", name: "svc-\(i)", taskDefinition: td.arn!, desiredCount: 2)
            } else {
                try sim.createService(cluster: "prod", name: "svc-\(i)", taskDefinition: td.arn!, desiredCount: 2,
                                      controller: scenario.controller, loadBalancers: balancers)
            }
            entries.append(ReleaseEntry(kind: .service, label: "svc-\(i)", cluster: "prod", service: "svc-\(i)",
                                        image: "repo/svc-\(i):2", strategy: scenario.strategy, config: scenario.config))
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ecs-deploy-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = ServerConfig()
        config.host = "127.0.0.1"
        config.storagePath = folder.appendingPathComponent("ecs-deploy.sqlite").path
        config.auditPath = folder.appendingPathComponent("audit.log").path
        let target = ServerCommand.Target(cloud: sim.cloud, clock: clock, wallClock: clock, description: "bench")
        // The server's own assembly: retries, rate limiter, coalesced reads, metrics, and (unless
        // BENCH_STORE=memory) the SQLite file and the audit log.
        let server: DeploymentServer
        let idle: @Sendable () -> Bool
        if memory {
            server = try DeploymentServer(config: config, cloud: target.cloud, clock: clock, wallClock: clock, logger: logger)
            idle = { true }
        } else {
            let (store, audit) = try DeploymentServer.openRecords(config, logger: logger)
            server = try DeploymentServer.standard(config: config, target: target, logger: logger, store: store, audit: audit)
            idle = { store.pendingWrites == 0 && !audit.isFlushing }
        }
        // The server's services without its gRPC and HTTP ports: the engine's and the releases' work.
        let releases = server.releases.started()
        _ = server.engine.started()
        let start = clock.now()
        let cpu = cpuSeconds()
        let simulatorCPU = sim.cpuSeconds
        let id = "bench-\(scenario.name)-\(n)"
        let submitted = Task { try await releases.submit(ReleaseRequest(id: id, name: "bench", entries: entries)) }
        // The release's events tell when it is over (the loop reads no record while it runs).
        let finished = Flag()
        let watcher = Task {
            _ = try await submitted.value
            for await _ in try await releases.watch(id: id) {}  // ends with the release
            finished.value.store(true, ordering: .relaxed)
        }
        let (steps, driverCPU) = await drive(clock, idle: idle, until: finished)
        try await watcher.value
        let simulated = sim.cpuSeconds - simulatorCPU
        // The clock's driver is the bench's, not the server's: counted apart.
        let used = cpuSeconds() - cpu - simulated - driverCPU
        let done = try await releases.status(id: id)
        if let trace = ProcessInfo.processInfo.environment["BENCH_TRACE"] {
            print("steps", steps)
            print("calls", sim.callCounts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            for e in done.events where trace != "calls" { print(String(format: "%.2f", e.at.timeIntervalSince(start)), e.type, e.entry, e.message) }
        }
        let wall = (done.finishedAt ?? clock.now()).timeIntervalSince(start)
        let calls = sim.callCounts
        let base = scenario.boundByRollout ? settings.timeToHealthy + settings.stopping : (alone ?? wall)
        let bound = base + throttleTime(calls)
        let mutating = mutations.reduce(0) { $0 + (calls[$1] ?? 0) }
        let reads = calls.values.reduce(0, +) - mutating
        let elb = (calls["elasticloadbalancing:ModifyListener"] ?? 0) + (calls["elasticloadbalancing:ModifyRule"] ?? 0)
        let failed = done.entries.filter { $0.status != .succeeded }.count
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        let row = [scenario.name, String(n), done.status.rawValue + (failed > 0 ? " (\(failed) not succeeded)" : ""), f(wall), f(bound),
                   String(format: "%.3f", wall / bound), f(Double(mutating) / Double(n)), f(Double(elb) / Double(n)),
                   f(Double(reads) / Double(n)), String(sim.throttledCount), f(used), f(simulated), f(driverCPU)]
        return Outcome(row: row, ratio: wall / bound, simulated: wall, failed: failed)
    }

    /// How long AWS's busiest bucket needs for the mutating calls beyond its burst.
    static func throttleTime(_ calls: [String: Int]) -> Double {
        let limits = RateLimits.aws
        var perCategory: [String: Int] = [:]
        for name in mutations {
            guard let category = limits.categories[name] else { continue }
            perCategory[category, default: 0] += calls[name] ?? 0
        }
        return perCategory.compactMap { category, count -> Double? in
            guard let limit = limits.limits[category] else { return nil }
            return max(0, Double(count) - limit.capacity) / limit.refillPerSecond
        }.max() ?? 0
    }

    /// Moves the clock, step by step, until `finished`. A step waits until the work the last
    /// one woke is over, on explicit signals: the clock's (every task it woke, or that work was
    /// handed to, has slept again or said it is done) and the store's and the audit log's
    /// (nothing in flight: `idle`); then time moves to the next sleeper's deadline. It runs on
    /// a thread of its own: a task on Swift's pool that sleeps and wakes thousands of times
    /// costs more CPU than the release it drives. Returns the number of steps and the CPU
    /// seconds of its thread.
    static func drive(_ clock: ManualClock, idle: @escaping @Sendable () -> Bool, until finished: Flag) async -> (Int, Double) {
        await withCheckedContinuation { (done: CheckedContinuation<(Int, Double), Never>) in
            Thread.detachNewThread {
                var steps = 0
                while !finished.value.load(ordering: .relaxed) {
                    steps += 1
                    let limit = ContinuousClock.now + .seconds(5)
                    while !(clock.isIdle && idle()) && ContinuousClock.now < limit { usleep(50) }
                    if !clock.advanceToNextDeadline() { usleep(200) }
                }
                done.resume(returning: (steps, cpuSeconds(thread: true)))
            }
        }
    }

    static func main() async throws {
        let env = ProcessInfo.processInfo.environment
        let sizes = env["BENCH_SIZES"].map { $0.split(separator: ",").compactMap { Int($0) } }
        let chosen = Set((env["BENCH_SCENARIOS"] ?? "quicksync,uneven,canary,native-canary").split(separator: ",").map(String.init))
        let memory = env["BENCH_STORE"] == "memory"
        let check = env["BENCH_CHECK"] == "1"
        print("records: " + (memory ? "in memory, no audit log (BENCH_STORE=memory)" : "SQLite file (synchronous = FULL) and audit log (fsync), as the server"))
        print(["scenario", "services", "status", "simulated_s", "lower_bound_s", "ratio", "mutating_calls_per_service",
               "elb_calls_per_service", "read_calls_per_service", "throttled_answers", "orchestration_cpu_s", "simulator_cpu_s", "clock_driver_cpu_s"]
            .joined(separator: "\t"))
        var missed: [String] = []
        for scenario in scenarios where chosen.contains(scenario.name) {
            // One service alone: the bound's base.
            let alone = try await run(scenario, services: 1, alone: nil, memory: memory)
            print(alone.row.joined(separator: "\t"))
            for n in sizes ?? scenario.sizes {
                let outcome = try await run(scenario, services: n, alone: alone.simulated, memory: memory)
                print(outcome.row.joined(separator: "\t"))
                if outcome.ratio > scenario.ratioTarget || outcome.failed > 0 {
                    missed.append("\(scenario.name) at \(n): ratio \(String(format: "%.3f", outcome.ratio)) (target <= \(scenario.ratioTarget))"
                        + (outcome.failed > 0 ? ", \(outcome.failed) entries not succeeded" : ""))
                }
            }
        }
        print("targets: ratio <= " + scenarios.filter { chosen.contains($0.name) }.map { "\($0.ratioTarget) (\($0.name))" }.joined(separator: ", ")
            + "; 0 throttling errors surfaced; <= 4 mutating calls per service (quicksync); orchestration cpu <= 2 s at 1000 (quicksync)")
        let load = Int(env["BENCH_LOAD"] ?? "1000") ?? 1000
        if load > 0 {
            // The release build of grpc-server beside this program (`make bench` builds both).
            let server = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
                .appendingPathComponent("grpc-server")
            let figures = try await LoadBench.run(server: server, deployments: load)
            print(figures.line)
            print("targets (load): GetStatus p99 < 5 ms with \(load) in flight; RSS < 200 MB after all finished")
        }
        if check, !missed.isEmpty {
            print("missed: " + missed.joined(separator: "; "))
            exit(1)
        }
    }
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}
