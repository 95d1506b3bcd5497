import CloudModel
@testable import Engine
import Foundation
import Testing

/// The cost of a change, worked out by hand from the published price table.
@Suite struct ChangeCostTests {
    static let pricing = Pricing(table: .published, region: "us-east-1")
    static let prices = PriceTable.published.regions["us-east-1"]!

    static func service(desired: Int = 4, launch: JSONValue? = .object(["launchType": .string("FARGATE")]),
                        controller: DeploymentController = .external) -> ECSService {
        ECSService(serviceArn: "s", serviceName: "web", clusterArn: "c", desiredCount: desired, taskDefinition: "web:1",
                   deploymentController: controller, launchSettings: launch, createdAt: nil)
    }

    static func definition(cpu: JSONValue, memory: JSONValue, arm: Bool = false) -> JSONValue {
        var fields: [String: JSONValue] = ["family": .string("web"), "cpu": cpu, "memory": memory]
        if arm { fields["runtimePlatform"] = .object(["cpuArchitecture": .string("ARM64"), "operatingSystemFamily": .string("LINUX")]) }
        return .object(fields)
    }

    @Test func sizesAreReadAsECSWritesThem() {
        #expect(TaskSize.vcpu("256") == 0.25)
        #expect(TaskSize.vcpu("1 vCPU") == 1)
        #expect(TaskSize.vcpu("2vcpu") == 2)
        #expect(TaskSize.gigabytes("512") == 0.5)
        #expect(TaskSize.gigabytes("2 GB") == 2)
        #expect(TaskSize.vcpu("lots") == nil)
        #expect(TaskSize.gigabytes("-1") == nil)
        #expect(TaskSize.gigabytes("") == nil)
    }

    /// Blue-green runs a whole second copy through its stabilization and cleanup delay.
    @Test func blueGreenDoublingMemory() throws {
        var settings = DeploymentSettings()
        settings.stabilizationTime = .seconds(600)
        settings.cleanupDelay = .seconds(300)
        let plan = Plan.stages(for: .bluegreen, settings: settings, controller: .external)
        let cost = ChangeCost.estimate(service: Self.service(), before: Self.definition(cpu: .string("512"), memory: .string("1024")),
                                       after: Self.definition(cpu: .string("512"), memory: .string("2048")), plan: plan, strategy: .bluegreen,
                                       settings: settings, pricing: Self.pricing)
        let p = Self.prices
        let old = 0.5 * p.vcpuHour + 1 * p.gbHour, new = 0.5 * p.vcpuHour + 2 * p.gbHour
        #expect(cost.notEstimated == nil)
        #expect(abs(cost.monthlyBefore - 4 * old * 730) < 1e-9)
        #expect(abs(cost.monthlyAfter - 4 * new * 730) < 1e-9)
        #expect(abs(cost.monthlyDelta - 4 * (new - old) * 730) < 1e-9)
        #expect(abs(cost.rolloutExtra - 4 * new * 900 / 3600) < 1e-9)
        #expect(cost.summary == String(format: "$%.2f/month -> $%.2f/month (+$%.2f/month), rollout +$%.2f (Fargate us-east-1, prices of 2025-06-01)",
                                       4 * old * 730, 4 * new * 730, 4 * (new - old) * 730, 4 * new * 0.25))
    }

    /// A canary runs ceil(desired x percent) new tasks beside the whole old set, per stage.
    @Test func canaryStagesOnArm() throws {
        let settings = try DeploymentSettings().applying(["canary_stages": "10,50,100", "stage_timeout": "10m"])
        let plan = Plan.stages(for: .canary, settings: settings, controller: .external)
        let size = Self.definition(cpu: .string("1 vCPU"), memory: .string("2 GB"), arm: true)
        let cost = ChangeCost.estimate(service: Self.service(), before: size, after: size, plan: plan, strategy: .canary, settings: settings,
                                       pricing: Self.pricing)
        let hourly = Self.prices.armVcpuHour + 2 * Self.prices.armGBHour
        // 10% of 4 -> 1 task, 50% -> 2, 100% -> 4, each for 10 minutes.
        #expect(ChangeCost.overlaps(plan, desired: 4).map(\.newTasks) == [1, 2, 4])
        #expect(abs(cost.rolloutExtra - (1 + 2 + 4) * hourly / 6) < 1e-9)
        #expect(cost.monthlyDelta == 0)
    }

    /// Rolling swaps tasks batch by batch: no bake runs more than the desired count.
    @Test func rollingAndTheECSControllerAddNothing() {
        let plan = Plan.stages(for: .rolling, settings: DeploymentSettings(), controller: .external)
        #expect(ChangeCost.overlaps(plan, desired: 4).allSatisfy { $0.newTasks + $0.oldTasks == 4 })
        let ecs = Plan.stages(for: .quicksync, settings: DeploymentSettings(), controller: .ecs)
        #expect(ChangeCost.overlaps(ecs, desired: 4).isEmpty)
    }

    /// ECS's own canary runs both revisions at full count through the canary's bake and the bake
    /// time: 10 + 5 minutes here.
    @Test func ecssOwnCanaryRunsTwoRevisionsThroughItsBakes() throws {
        let settings = try DeploymentSettings().applying(["canary_percent": "10", "canary_bake": "10m", "bake_time": "5m"])
        let plan = Plan.stages(for: .canary, settings: settings, controller: .ecs, native: true)
        let size = Self.definition(cpu: .string("1 vCPU"), memory: .string("2 GB"), arm: true)
        let cost = ChangeCost.estimate(service: Self.service(), before: size, after: size, plan: plan, strategy: .canary, settings: settings,
                                       pricing: Self.pricing)
        let hourly = Self.prices.armVcpuHour + 2 * Self.prices.armGBHour
        #expect(abs(cost.rolloutExtra - 4 * hourly * 15 / 60) < 1e-9, "\(cost.rolloutExtra)")
    }

    @Test func whatIsNotEstimatedSaysWhy() {
        let size = Self.definition(cpu: .string("256"), memory: .string("512"))
        let plan = Plan.stages(for: .quicksync, settings: DeploymentSettings(), controller: .ecs)
        func reason(_ service: ECSService, _ after: JSONValue = size, region: String = "us-east-1") -> String? {
            ChangeCost.estimate(service: service, before: size, after: after, plan: plan, strategy: .quicksync, settings: DeploymentSettings(),
                                pricing: Pricing(table: .published, region: region)).notEstimated
        }
        #expect(reason(Self.service(launch: .object(["launchType": .string("EC2")]))) == "EC2 launch type: the cost is the instances', not the tasks'")
        #expect(reason(Self.service(launch: .object(["capacityProviderStrategy": .array([
            .object(["capacityProvider": .string("FARGATE_SPOT"), "weight": .number(1)]),
        ])]))) == "Fargate Spot prices vary and are not estimated")
        #expect(reason(Self.service(launch: nil)) == "the service names no launch type or capacity provider")
        #expect(reason(Self.service(), region: "mars-north-1") == "no prices for region mars-north-1 (add them under pricing.regions)")
        #expect(reason(Self.service(), .object(["family": .string("web")])) == "the task definition has no task-level cpu")
        #expect(reason(Self.service(), .object(["cpu": .string("256"), "memory": .string("512"),
                                                "runtimePlatform": .object(["operatingSystemFamily": .string("WINDOWS_SERVER_2022_CORE")])]))
            == "WINDOWS_SERVER_2022_CORE tasks are not in the price table (Linux only)")
    }

    @Test func aTotalAddsUpWhatWasEstimated() throws {
        let a = ChangeCost(notEstimated: nil, monthlyBefore: 10, monthlyAfter: 20, rolloutExtra: 1, currency: "USD", region: "us-east-1",
                           pricesDate: "2025-06-01")
        let b = ChangeCost(notEstimated: nil, monthlyBefore: 30, monthlyAfter: 25, rolloutExtra: 0.5, currency: "USD", region: "us-east-1",
                           pricesDate: "2025-06-01")
        let c = ChangeCost.notEstimated("EC2", pricing: Self.pricing)
        let total = try #require(ChangeCost.total([a, b, c, nil]))
        #expect(total.monthlyBefore == 40 && total.monthlyAfter == 45 && total.rolloutExtra == 1.5 && total.unestimated == 1)
        #expect(total.summary.hasSuffix("; 1 not estimated"))
        #expect(ChangeCost.total([nil, nil]) == nil)
        #expect(ChangeCost.total([c])?.notEstimated == "no entry could be estimated")
    }
}
