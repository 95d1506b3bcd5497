import DeployAPI
import Engine
import Foundation
import MotoHarness
@testable import Server
import Simulator
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real Prometheus server (Debian's `prometheus`, which `make test` requires), started here
/// and scraping a small exporter this test serves: an analysis template's query decides a
/// canary through the real server and client.
@Suite(.enabled(if: RealPrometheus.binary != nil, "the prometheus binary is not installed (apt-get install prometheus)"))
struct RealPrometheusTests {
    @Test func aTemplatesQueryOnARealPrometheusDecidesACanary() async throws {
        let exporter = try HookStub.start()
        defer { exporter.stop() }
        exporter.answer("/metrics", with: "# TYPE app_error_ratio gauge\napp_error_ratio{service=\"web\"} 0.2\n")
        let prometheus = try await RealPrometheus.start(scraping: exporter.port)
        defer { prometheus.stop() }
        try await prometheus.waitForValue(#"app_error_ratio{service="web"}"#, equalTo: 0.2)

        let t = try await TestServer(configure: { c in
            var template = AnalysisTemplate(name: "errors", provider: .prometheus, query: #"max(app_error_ratio{service="{{service}}"})"#,
                                            success: AnalysisTemplate.Condition("< 0.01"))
            template.interval = .seconds(30)
            c.analysis.prometheus = PrometheusSettings(url: prometheus.url)
            c.analysis.templates = ["errors": template]
        }, simulator: SeedCommandsTests.mockMode)
        let deploy = { (id: String) in
            await t.client(["-id", id, "-cluster", "prod", "-service", "web", "-taskdef", AnalysisTests.taskdef, "-strategy", "canary",
                            "-config", #"{"analysis":"errors","canary_stages":"50,100","stage_timeout":"1m"}"#])
        }
        #expect(await deploy("p1").code == 0)
        let bad = try await t.waitUntilFinished("p1")
        #expect(bad.status == .rolledBack, "\(bad.status) \(bad.error)")
        #expect(bad.error.contains("analysis errors failed: 0.2 is not < 0.01"), "\(bad.error)")

        // The exporter's value falls; once Prometheus has scraped it, the same canary passes.
        exporter.answer("/metrics", with: "# TYPE app_error_ratio gauge\napp_error_ratio{service=\"web\"} 0.001\n", first: true)
        try await prometheus.waitForValue(#"app_error_ratio{service="web"}"#, equalTo: 0.001)
        #expect(await deploy("p2").code == 0)
        let good = try await t.waitUntilFinished("p2")
        #expect(good.status == .succeeded, "\(good.error)")
        try await t.stop()
    }
}

/// A `prometheus` process on a free port, with its data in a temporary folder.
final class RealPrometheus: Sendable {
    static var binary: String? {
        ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    let process: Process
    let url: String
    let folder: URL

    private init(process: Process, url: String, folder: URL) {
        self.process = process
        self.url = url
        self.folder = folder
    }

    static func start(scraping port: Int) async throws -> RealPrometheus {
        guard let binary else { throw TestFailure("prometheus is not installed") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("prometheus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = folder.appendingPathComponent("prometheus.yml")
        try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: exporter
            static_configs: [{targets: ["127.0.0.1:\(port)"]}]
        """.write(to: config, atomically: true, encoding: .utf8)
        let listen = try MotoServer.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--config.file=\(config.path)", "--storage.tsdb.path=\(folder.appendingPathComponent("data").path)",
                             "--web.listen-address=127.0.0.1:\(listen)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return RealPrometheus(process: process, url: "http://127.0.0.1:\(listen)", folder: folder)
    }

    /// Waits (real time, up to a minute) until an instant query answers `value`.
    func waitForValue(_ query: String, equalTo value: Double) async throws {
        let client = PrometheusQuery(settings: PrometheusSettings(url: url), client: .shared)
        for _ in 0..<600 {
            if let found = try? await client.value(of: query, provider: .prometheus), found == value { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("Prometheus never answered \(value) for \(query)")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }
}
