import DeployAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// The server under load (`BENCH_LOAD=N`, 1000 by default; 0 skips it): the release build of
/// `grpc-server` in mock mode, as a process of its own, N canaries submitted over gRPC, then,
/// while they are all in flight, GetStatus calls one after another (their latency as a client
/// sees it), and the server's resident memory while they run and once every one has finished.
enum LoadBench {
    struct Figures {
        var deployments: Int
        var inFlightAtStart: Int
        var inFlightAtEnd: Int
        var statusCalls: Int
        var p50: Double
        var p99: Double
        var rssInFlight: Int
        var rssAfter: Int
        var outcomes: [String: Int]
        var seconds: Double

        var line: String {
            let ends = outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            return "load\t\(deployments) canaries (\(inFlightAtStart) to \(inFlightAtEnd) in flight while measured)\t"
                + String(format: "GetStatus p50 %.2f ms, p99 %.2f ms (%d calls)\t", p50, p99, statusCalls)
                + "RSS \(rssInFlight / 1024) MB in flight, \(rssAfter / 1024) MB after all finished\t\(ends)\t"
                + String(format: "%.0f s", seconds)
        }
    }

    static func run(server binary: URL, deployments n: Int) async throws -> Figures {
        let started = ContinuousClock.now
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ecs-deploy-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // One caller submits and reads everything: its call rate limit is lifted.
        try """
            server:
              host: 127.0.0.1
              port: 0
              metrics_port: 0
            security:
              rate_limit: {per_second: 1000000, burst: 1000000}
            """.write(to: dir.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = binary
        process.currentDirectoryURL = dir
        process.environment = ["MOCK_MODE": "true", "CONFIG_FILE": dir.appendingPathComponent("config.yaml").path, "HOME": dir.path,
                               "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let log = dir.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        let port = try await grpcPort(in: log, process: process)
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        return try await withGRPCClient(transport: transport) { client in
            let api = Deployment_V1_DeploymentService.Client(wrapping: client)
            let ids = (1...n).map { "load-\($0)" }
            // Submitted 16 at a time; each canary holds 10 simulated minutes per stage (some 20 s
            // of real time at mock mode's 100x), long enough to measure while all are in flight.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, id) in ids.enumerated() {
                    if i >= 16 { try await group.next() }
                    group.addTask {
                        var request = Deployment_V1_DeployRequest()
                        request.deploymentID = id
                        request.cluster = "load"
                        request.service = "svc-\(i + 1)"
                        request.taskDefinition = #"{"family":"svc-\#(i + 1)","containerDefinitions":[{"name":"app","image":"nginx:1.27","memory":512}]}"#
                        request.strategy = "canary"
                        request.config = ["canary_stages": "10,50,100", "stage_timeout": "10m"]
                        _ = try await api.deploy(request)
                    }
                }
                try await group.waitForAll()
            }
            let inFlightAtStart = try await inFlight(api, ids)
            var latencies: [Double] = []
            let calls = 2000
            for k in 0..<calls {
                var request = Deployment_V1_GetStatusRequest()
                request.deploymentID = ids[(k * 7919) % ids.count]
                let t0 = ContinuousClock.now
                _ = try await api.getStatus(request)
                let elapsed = ContinuousClock.now - t0
                latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            }
            let rssInFlight = residentKiB(process.processIdentifier)
            let inFlightAtEnd = try await inFlight(api, ids)
            // Until every deployment has finished.
            var outcomes: [String: Int] = [:]
            while true {
                outcomes = try await statuses(api, ids)
                if outcomes.keys.allSatisfy(isFinal) { break }
                try await Task.sleep(for: .seconds(1))
            }
            try await Task.sleep(for: .seconds(2))
            let rssAfter = residentKiB(process.processIdentifier)
            latencies.sort()
            client.beginGracefulShutdown()
            return Figures(deployments: n, inFlightAtStart: inFlightAtStart, inFlightAtEnd: inFlightAtEnd, statusCalls: calls,
                           p50: latencies[latencies.count / 2], p99: latencies[latencies.count * 99 / 100],
                           rssInFlight: rssInFlight, rssAfter: rssAfter, outcomes: outcomes,
                           seconds: Double((ContinuousClock.now - started).components.seconds))
        }
    }

    static func isFinal(_ status: String) -> Bool {
        ["succeeded", "failed", "rolledBack", "rejected", "interrupted"].contains(status)
    }

    static func statuses(_ api: Deployment_V1_DeploymentService.Client<HTTP2ClientTransport.Posix>, _ ids: [String]) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for id in ids {
            var request = Deployment_V1_GetStatusRequest()
            request.deploymentID = id
            let deployment = try await api.getStatus(request)
            counts["\(deployment.status)", default: 0] += 1
        }
        return counts
    }

    static func inFlight(_ api: Deployment_V1_DeploymentService.Client<HTTP2ClientTransport.Posix>, _ ids: [String]) async throws -> Int {
        try await statuses(api, ids).filter { !isFinal($0.key) }.values.reduce(0, +)
    }

    /// The port from the server's "gRPC API listening on HOST:PORT" line.
    static func grpcPort(in log: URL, process: Process) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: "gRPC API listening on 127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) { return port }
            }
            guard process.isRunning else { throw LoadError("grpc-server exited: \(text)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw LoadError("grpc-server did not say its port within 60 s")
    }

    /// VmRSS of the process, in KiB.
    static func residentKiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    struct LoadError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
