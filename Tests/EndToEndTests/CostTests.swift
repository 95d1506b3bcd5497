import CloudModel
import DeployAPI
import Engine
import Notify
import Foundation
import Logging
@testable import Server
import Simulator
import Testing

/// The cost of a change through the real server and client, on the simulator: its services
/// run on Fargate (3 tasks of 256 CPU units and 512 MiB unless a test says otherwise), and the
/// figures are worked out here by hand from the published price table.
@Suite struct CostTests {
    static let prices = PriceTable.published.regions["us-east-1"]!

    /// Per task and hour, for `vcpu` and `gb` on x86.
    static func hourly(vcpu: Double, gb: Double) -> Double { vcpu * prices.vcpuHour + gb * prices.gbHour }

    static func money(_ amount: Double) -> String { String(format: "$%.2f", amount) }

    static func summary(before: Double, after: Double, rollout: Double = 0, note: String = "") -> String {
        let delta = after - before
        return "\(money(before))/month -> \(money(after))/month (\(delta < 0 ? "-" : "+")\(money(abs(delta)))/month), "
            + "rollout +\(money(rollout)) (Fargate us-east-1, prices of 2025-06-01)\(note)"
    }

    /// `web` doubles its memory (512 -> 1024 MiB) with a new image; `api` changes its image only;
    /// `batch` runs on EC2 and is not estimated. The plan shows each entry's cost and the sum.
    @Test func aPlanThatDoublesMemoryShowsTheMonthlyDeltaAndTheReleaseTotal() async throws {
        let t = try await TestServer()
        _ = try ReleaseTests.seed(t, ["web", "api"])
        let td = try t.sim.seedTaskDefinition(family: "batch", image: "repo/batch:1")
        try t.sim.createService(cluster: "prod", name: "batch", taskDefinition: td.arn!, launchType: "EC2")
        var manifest = ReleaseTests.manifest(services: [("web", "repo/web:2"), ("api", "repo/api:2"), ("batch", "repo/batch:2")])
        manifest = manifest.replacingOccurrences(of: "    image: repo/web:2\n", with: "    image: repo/web:2\n    memory: 1024\n")
        let file = try ReleaseTests.write(manifest)
        defer { try? FileManager.default.removeItem(atPath: file) }

        let plan = await t.client(["-action", "plan", "-file", file])
        #expect(plan.code == 0, "\(plan.text)")
        let small = 3 * Self.hourly(vcpu: 0.25, gb: 0.5) * 730
        let large = 3 * Self.hourly(vcpu: 0.25, gb: 1) * 730
        let lines = plan.out
        let web = try #require(lines.firstIndex { $0.contains("service web (prod/web)") }, "\(plan.text)")
        #expect(lines[web + 1] == "      cost: " + Self.summary(before: small, after: large), "\(plan.text)")
        let api = try #require(lines.firstIndex { $0.contains("service api (prod/api)") })
        #expect(lines[api + 1] == "      cost: " + Self.summary(before: small, after: small))
        let batch = try #require(lines.firstIndex { $0.contains("service batch (prod/batch)") })
        #expect(lines[batch + 1] == "      cost: not estimated: EC2 launch type: the cost is the instances', not the tasks'")
        #expect(lines.contains("Cost of the release: " + Self.summary(before: 2 * small, after: small + large, note: "; 1 not estimated")),
                "\(plan.text)")
        // By hand: 3 tasks x 0.5 GB more x $0.004445 x 730 hours.
        #expect(Self.money(large - small) == Self.money(3 * 0.5 * 0.004445 * 730))

        // Released, the new definition has the memory, and the release keeps its cost.
        let released = try await t.driving { await t.client(["-action", "release", "-file", file, "-id", "sized", "-wait"]) }
        #expect(released.code == 0, "\(released.text)")
        let arn = try #require(t.service("web")?.taskDefinition)
        #expect(try t.sim.describeTaskDefinition(arn).json["memory"]?.stringValue == "1024")
        let status = await t.client(["-action", "status", "-id", "sized"])
        #expect(status.out.contains("Cost:        " + Self.summary(before: 2 * small, after: small + large, note: "; 1 not estimated")),
                "\(status.text)")
    }

    /// A blue-green deployment waiting for approval: its status, the approval notice's facts and
    /// the audit log show the monthly cost and the rollout's (the bakes with two full copies).
    @Test func aDeploymentShowsItsCostInStatusAndTheAuditLog() async throws {
        let audit = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: audit) }
        let t = try await TestServer(simulator: SeedCommandsTests.mockMode, auditPath: audit)
        let taskdef = #"{"family":"shop","cpu":"1024","memory":"2048","containerDefinitions":[{"name":"app","image":"nginx:2.0"}]}"#
        let accepted = await t.client(["-id", "c1", "-cluster", "prod", "-service", "shop", "-taskdef", taskdef, "-strategy", "bluegreen",
                                       "-config", #"{"require_approval":"true","stabilization_time":"10m","cleanup_delay":"5m"}"#])
        #expect(accepted.code == 0, "\(accepted.text)")
        let before = 3 * Self.hourly(vcpu: 0.25, gb: 0.5) * 730
        let newHourly = Self.hourly(vcpu: 1, gb: 2)
        // Three new tasks beside the three old ones for 10 + 5 minutes.
        let expected = Self.summary(before: before, after: 3 * newHourly * 730, rollout: 3 * newHourly * 0.25)
        let status = await t.client(["-action", "status", "-id", "c1"])
        #expect(status.out.contains("Cost:        " + expected), "\(status.text)")
        let record = try await t.server.engine.status(id: "c1")
        let asked = try #require(record.events.first { $0.kind == .approvalRequested })
        let notice = try #require(Notice.of(asked, record: record))
        #expect(notice.cost == expected)
        try await t.stop()
        let entries = try String(contentsOfFile: audit, encoding: .utf8).split(separator: "\n").compactMap { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        let costs = entries.compactMap { ($0["metadata"] as? [String: Any])?["cost"] as? String }
        #expect(costs.contains(expected), "\(entries)")
    }

    /// `pricing:` replaces a region's prices (with their date) or turns costs off.
    @Test func pricingConfig() throws {
        var config = ServerConfig()
        try config.apply(yaml: """
            pricing:
              date: "2026-11-01"
              regions:
                us-east-1: {vcpu_hour: 0.05, gb_hour: 0.005, arm_vcpu_hour: 0.04, arm_gb_hour: 0.004}
            """, source: "config.yaml")
        #expect(config.prices?.date == "2026-11-01" && config.prices?.regions["us-east-1"]?.vcpuHour == 0.05)
        #expect(config.prices?.regions["eu-west-1"] == PriceTable.published.regions["eu-west-1"])
        var off = ServerConfig()
        try off.apply(yaml: "pricing: {enabled: false}", source: "config.yaml")
        #expect(off.prices == nil)
        var bad = ServerConfig()
        #expect(throws: ConfigError.self) { try bad.apply(yaml: "pricing: {regions: {us-east-1: {vcpu_hour: 1}}}", source: "config.yaml") }
        do {
            try bad.apply(yaml: "pricing: {date: \"2026-01-01\", regions: {us-east-1: {vcpu_hour: 1, gb_hour: 1, arm_vcpu_hour: 1}}}",
                          source: "config.yaml")
            Issue.record("accepted a region without arm_gb_hour")
        } catch {
            #expect("\(error)" == "config.yaml: pricing.regions.us-east-1.arm_gb_hour: is required (a price per hour, e.g. 0.04048)")
        }
    }

    struct FixedPriceList: PriceListAPI {
        let answer: Result<FargatePrices, CloudError>
        func fargatePrices(region: String) async throws -> (prices: FargatePrices, published: String) {
            (try answer.get(), "2026-11-27")
        }
    }

    /// `pricing.refresh`: the region's prices from the Price List API, dated as published; the
    /// table as it was when the API cannot be read.
    @Test func pricesAreRefreshedWhereThePriceListAPIIsReachable() async throws {
        let read = FargatePrices(vcpuHour: 0.05, gbHour: 0.006, armVcpuHour: 0.04, armGBHour: 0.005)
        let logger = Logger(label: "test")
        let refreshed = await PriceRefresh.refreshed(.published, region: "eu-west-1", from: FixedPriceList(answer: .success(read)), logger: logger)
        #expect(refreshed.regions["eu-west-1"] == read && refreshed.date == "2026-11-27")
        #expect(refreshed.regions["us-east-1"] == PriceTable.published.regions["us-east-1"])
        let failed = await PriceRefresh.refreshed(.published, region: "eu-west-1",
                                                  from: FixedPriceList(answer: .failure(CloudError(code: "AccessDeniedException", message: "no"))),
                                                  logger: logger)
        #expect(failed == .published)
        var config = ServerConfig()
        try config.apply(yaml: "pricing: {refresh: true}", source: "config.yaml")
        #expect(config.refreshPrices && config.prices == .published)
    }
}
