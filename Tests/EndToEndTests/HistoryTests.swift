import Foundation
import Testing

/// History in SQLite through the real server and client: `-action list` filters by cluster,
/// service, status and time, with pages; a deployment from last month still has its status
/// after a restart; records past `storage.retention` are deleted.
@Suite struct HistoryTests {
    static func taskdef(_ family: String, _ image: String) -> String {
        #"{"family":"\#(family)","containerDefinitions":[{"name":"app","image":"\#(image)"}]}"#
    }

    func deploy(_ t: TestServer, _ id: String, service: String, image: String) async throws {
        let accepted = await t.client(["-id", id, "-cluster", "prod", "-service", service, "-taskdef", Self.taskdef(service, image)])
        #expect(accepted.code == 0, "\(accepted.text)")
        let d = try await t.waitUntilFinished(id)
        #expect(d.status == .succeeded || d.status == .rolledBack, "\(id): \(d.error)")
    }

    static func ids(_ result: ClientResult) -> [String] {
        result.out.compactMap { line in line.split(separator: " ").first.map(String.init) }.filter { $0.hasPrefix("h-") }
    }

    @Test func listFiltersPagesAndOldRecords() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("history-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("history.sqlite").path
        let t = try await TestServer(storagePath: path) { seeder in
            try seeder.service(name: "web")
            try seeder.service(name: "api")
        }
        let formatter = ISO8601DateFormatter()
        let monthAgo = formatter.string(from: t.clock.now())
        try await deploy(t, "h-old", service: "web", image: "nginx:1.1")
        // A month later.
        t.clock.advance(by: .seconds(35 * 86400))
        let recent = formatter.string(from: t.clock.now())
        try await deploy(t, "h-web", service: "web", image: "nginx:1.2")
        try await deploy(t, "h-api", service: "api", image: "nginx:2-unhealthy")
        try await deploy(t, "h-api2", service: "api", image: "nginx:2.1")
        try await t.stop()

        // A restart on the same file, 40 days after the first deployment.
        let later = try await TestServer(storagePath: path, restarting: t)
        let old = await later.client(["-id", "h-old", "-action", "status"])
        #expect(old.out.contains("Status:      SUCCEEDED"), "\(old.text)")
        #expect(Self.ids(await later.client(["-action", "list"])) == ["h-api2", "h-api", "h-web", "h-old"])
        #expect(Self.ids(await later.client(["-action", "list", "-service", "web"])) == ["h-web", "h-old"])
        #expect(Self.ids(await later.client(["-action", "list", "-cluster", "prod", "-service", "api", "-status", "ROLLED_BACK"])) == ["h-api"])
        #expect(Self.ids(await later.client(["-action", "list", "-since", recent])) == ["h-api2", "h-api", "h-web"])
        #expect(Self.ids(await later.client(["-action", "list", "-until", recent])) == ["h-old"])
        #expect(Self.ids(await later.client(["-action", "list", "-since", monthAgo, "-until", recent, "-service", "api"])) == [])
        let bad = await later.client(["-action", "list", "-since", "last tuesday"])
        #expect(bad.code != 0 && bad.err.joined().contains("-since"), "\(bad.text)")

        // Pages of two, each pointing at the next.
        let first = await later.client(["-action", "list", "-limit", "2"])
        #expect(Self.ids(first) == ["h-api2", "h-api"])
        let more = try #require(first.out.last, "\(first.text)")
        #expect(more.hasPrefix("More deployments: add -page "), "\(first.text)")
        let token = String(more.dropFirst("More deployments: add -page ".count).split(separator: " ")[0])
        let second = await later.client(["-action", "list", "-limit", "2", "-page", token])
        #expect(Self.ids(second) == ["h-web", "h-old"])
        #expect(second.out.last?.hasPrefix("More deployments") != true, "\(second.text)")
        try await later.stop()

        // Retention of 30 days: the first deployment is deleted at the next start.
        let trimmed = try await TestServer(configure: { $0.retention = .seconds(30 * 86400) }, storagePath: path, restarting: later)
        #expect(Self.ids(await trimmed.client(["-action", "list"])) == ["h-api2", "h-api", "h-web"])
        let gone = await trimmed.client(["-id", "h-old", "-action", "status"])
        #expect(gone.code != 0 && gone.err.joined().contains("h-old"), "\(gone.text)")
        try await trimmed.stop()
    }
}
