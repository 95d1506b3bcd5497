import CloudModel
import Foundation

/// The prices a cost is worked out with, and where they come from.
public struct PriceTable: Sendable, Equatable {
    public var regions: [String: FargatePrices]
    /// When the prices were published or read (YYYY-MM-DD), shown with every cost.
    public var date: String
    public var currency: String

    public init(regions: [String: FargatePrices], date: String, currency: String = "USD") {
        self.regions = regions
        self.date = date
        self.currency = currency
    }

    /// AWS's published Fargate prices for the main regions (Linux; x86 and ARM), as of `date`.
    /// `pricing.regions` in the config replaces or adds regions; `pricing.refresh` reads them
    /// from the Price List API.
    public static let published = PriceTable(regions: [
        "us-east-1": FargatePrices(vcpuHour: 0.04048, gbHour: 0.004445, armVcpuHour: 0.03238, armGBHour: 0.00356),
        "us-east-2": FargatePrices(vcpuHour: 0.04048, gbHour: 0.004445, armVcpuHour: 0.03238, armGBHour: 0.00356),
        "us-west-2": FargatePrices(vcpuHour: 0.04048, gbHour: 0.004445, armVcpuHour: 0.03238, armGBHour: 0.00356),
        "eu-west-1": FargatePrices(vcpuHour: 0.04048, gbHour: 0.004445, armVcpuHour: 0.03238, armGBHour: 0.00356),
        "eu-west-2": FargatePrices(vcpuHour: 0.04656, gbHour: 0.00511, armVcpuHour: 0.03725, armGBHour: 0.00409),
        "eu-central-1": FargatePrices(vcpuHour: 0.04656, gbHour: 0.00511, armVcpuHour: 0.03725, armGBHour: 0.00409),
        "ap-northeast-1": FargatePrices(vcpuHour: 0.05056, gbHour: 0.00553, armVcpuHour: 0.04045, armGBHour: 0.00442),
        "ap-southeast-1": FargatePrices(vcpuHour: 0.05056, gbHour: 0.00553, armVcpuHour: 0.04045, armGBHour: 0.00442),
        "ap-southeast-2": FargatePrices(vcpuHour: 0.04856, gbHour: 0.00532, armVcpuHour: 0.03885, armGBHour: 0.00426),
    ], date: "2025-06-01")
}

/// The prices of the region the server deploys to: what the engine prices changes with.
public struct Pricing: Sendable, Equatable {
    public var table: PriceTable
    public var region: String

    public init(table: PriceTable, region: String) {
        self.table = table
        self.region = region
    }
}

/// The size a task definition asks Fargate for.
public struct TaskSize: Equatable {
    var vcpu: Double
    var memoryGB: Double
    var arm: Bool

    /// Task-level `cpu` ("256", "0.25 vCPU") and `memory` ("512", "0.5 GB"), and the CPU
    /// architecture; a reason when the definition cannot be priced.
    static func of(_ definition: JSONValue) -> Result<TaskSize, CostProblem> {
        let os = definition["runtimePlatform"]?["operatingSystemFamily"]?.stringValue ?? "LINUX"
        guard os == "LINUX" else { return .failure(CostProblem("\(os) tasks are not in the price table (Linux only)")) }
        guard let cpu = quantity(definition["cpu"], unit: "vcpu", per: 1024) else {
            return .failure(CostProblem("the task definition has no task-level cpu"))
        }
        guard let memory = quantity(definition["memory"], unit: "gb", per: 1024) else {
            return .failure(CostProblem("the task definition has no task-level memory"))
        }
        let arm = definition["runtimePlatform"]?["cpuArchitecture"]?.stringValue == "ARM64"
        return .success(TaskSize(vcpu: cpu, memoryGB: memory, arm: arm))
    }

    /// A task-level `cpu` in vCPU ("256" -> 0.25, "1 vCPU" -> 1); nil when it is not one.
    public static func vcpu(_ text: String) -> Double? { quantity(.string(text), unit: "vcpu", per: 1024) }
    /// A task-level `memory` in GB ("512" -> 0.5, "2 GB" -> 2); nil when it is not one.
    public static func gigabytes(_ text: String) -> Double? { quantity(.string(text), unit: "gb", per: 1024) }

    /// "1024" (units, `per` to one) or "1 vCPU" / "2 GB" (whole units), as ECS accepts them;
    /// at most 10,000 whole units (no task comes near it; past it, a typo or an attack).
    private static func quantity(_ value: JSONValue?, unit: String, per: Double) -> Double? {
        func bounded(_ whole: Double) -> Double? { whole > 0 && whole <= 10_000 ? whole : nil }
        if case .number(let n)? = value { return bounded(n / per) }
        guard let text = value?.stringValue?.trimmingCharacters(in: .whitespaces).lowercased(), !text.isEmpty, text.count <= 32 else { return nil }
        if let n = Double(text) { return bounded(n / per) }
        let number = text.replacingOccurrences(of: unit, with: "").trimmingCharacters(in: .whitespaces)
        guard text.hasSuffix(unit), let n = Double(number) else { return nil }
        return bounded(n)
    }

    /// Per hour, at `prices`.
    func hourly(_ prices: FargatePrices) -> Double {
        arm ? vcpu * prices.armVcpuHour + memoryGB * prices.armGBHour : vcpu * prices.vcpuHour + memoryGB * prices.gbHour
    }
}

/// Why a change is not priced.
struct CostProblem: Error, Equatable {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// What a change costs: the service's monthly cost before and after, and what the rollout
/// itself adds (the bakes during which two revisions run side by side). Fargate on-demand;
/// other launch types are reported as not estimated, with the reason.
public struct ChangeCost: Sendable, Codable, Equatable {
    /// Set when the change is not priced: why.
    public var notEstimated: String?
    public var monthlyBefore: Double
    public var monthlyAfter: Double
    /// One-off, counting the bakes only (time spent waiting for tasks to become healthy is not known ahead).
    public var rolloutExtra: Double
    public var currency: String
    public var region: String
    public var pricesDate: String
    /// In a total: how many of the changes added up could not be estimated (left out of it).
    public var unestimated: Int?

    /// Hours in a month, as AWS's pricing calculator counts them.
    public static let hoursPerMonth = 730.0

    public static func notEstimated(_ reason: String, pricing: Pricing) -> ChangeCost {
        ChangeCost(notEstimated: reason, monthlyBefore: 0, monthlyAfter: 0, rolloutExtra: 0, currency: pricing.table.currency,
                   region: pricing.region, pricesDate: pricing.table.date)
    }

    public var monthlyDelta: Double { monthlyAfter - monthlyBefore }

    /// "$43.80/month -> $87.60/month (+$43.80/month), rollout +$0.12 (Fargate us-east-1, prices of 2025-06-01)",
    /// or "not estimated: EC2 launch type ...".
    public var summary: String {
        if let notEstimated { return "not estimated: \(notEstimated)" }
        let delta = monthlyDelta
        let sign = delta < 0 ? "-" : "+"
        return "\(money(monthlyBefore))/month -> \(money(monthlyAfter))/month (\(sign)\(money(abs(delta)))/month), "
            + "rollout +\(money(rolloutExtra)) (Fargate \(region), prices of \(pricesDate))"
            + (unestimated.map { "; \($0) not estimated" } ?? "")
    }

    func money(_ amount: Double) -> String {
        (currency == "USD" ? "$" : currency + " ") + String(format: "%.2f", amount)
    }

    /// The total of several changes (a release's entries); those not estimated are counted
    /// apart. Nil when there is nothing to add up.
    public static func total(_ costs: [ChangeCost?]) -> ChangeCost? {
        let known = costs.compactMap { $0 }
        guard let first = known.first else { return nil }
        let estimated = known.filter { $0.notEstimated == nil }
        let missing = known.count - estimated.count
        var sum = ChangeCost(notEstimated: nil, monthlyBefore: 0, monthlyAfter: 0, rolloutExtra: 0, currency: first.currency,
                             region: first.region, pricesDate: first.pricesDate)
        for c in estimated {
            sum.monthlyBefore += c.monthlyBefore
            sum.monthlyAfter += c.monthlyAfter
            sum.rolloutExtra += c.rolloutExtra
        }
        if estimated.isEmpty { sum.notEstimated = "no entry could be estimated" }
        sum.unestimated = missing > 0 && !estimated.isEmpty ? missing : nil
        return sum
    }
}

extension ChangeCost {
    /// The cost of moving `service` from `before` to `after` with `plan`'s stages. The service
    /// says how its tasks launch (only Fargate is priced) and how many run. `settings` say how
    /// long ECS's own strategies bake (both revisions at full count meanwhile).
    static func estimate(service: ECSService, before: JSONValue?, after: JSONValue, plan: [Stage], strategy: StrategyKind,
                         settings: DeploymentSettings, pricing: Pricing) -> ChangeCost {
        if let problem = launchProblem(service) { return .notEstimated(problem, pricing: pricing) }
        guard let prices = pricing.table.regions[pricing.region] else {
            return .notEstimated("no prices for region \(pricing.region) (add them under pricing.regions)", pricing: pricing)
        }
        let newSize: TaskSize
        switch TaskSize.of(after) {
        case .success(let size): newSize = size
        case .failure(let problem): return .notEstimated(problem.reason, pricing: pricing)
        }
        // A live definition without a Fargate size (it could not have run on Fargate) prices as the new one.
        let oldSize = before.flatMap { try? TaskSize.of($0).get() } ?? newSize
        let desired = Double(service.desiredCount)
        let oldHourly = oldSize.hourly(prices), newHourly = newSize.hourly(prices)
        var extra = 0.0
        let native = (try? NativeStrategy.configuration(strategy, settings)).map(NativeStrategy.bakeSeconds) ?? 0
        for bake in overlaps(plan, desired: service.desiredCount, nativeBakes: native) {
            let rate = Double(bake.newTasks) * newHourly + Double(bake.oldTasks) * oldHourly - desired * oldHourly
            extra += max(0, rate) * bake.seconds / 3600
        }
        return ChangeCost(notEstimated: nil, monthlyBefore: desired * oldHourly * hoursPerMonth,
                          monthlyAfter: desired * newHourly * hoursPerMonth, rolloutExtra: extra, currency: pricing.table.currency,
                          region: pricing.region, pricesDate: pricing.table.date)
    }

    /// Why the service's tasks cannot be priced (not on Fargate on-demand), or nil.
    static func launchProblem(_ service: ECSService) -> String? {
        let providers = service.capacityProviders.isEmpty ? (service.primaryTaskSet?.capacityProviders ?? []) : service.capacityProviders
        let launchType = service.launchType ?? service.primaryTaskSet?.launchType
        if !providers.isEmpty {
            if providers.allSatisfy({ $0 == "FARGATE" }) { return nil }
            if providers.allSatisfy({ $0.hasPrefix("FARGATE") }) { return "Fargate Spot prices vary and are not estimated" }
            return "capacity providers \(providers.joined(separator: ", ")) run on EC2 instances, whose cost is the instances'"
        }
        switch launchType {
        case "FARGATE": return nil
        case nil: return "the service names no launch type or capacity provider"
        case let other?: return "\(other) launch type: the cost is the instances', not the tasks'"
        }
    }

    /// A bake during which the new and previous revisions both run.
    struct Overlap: Equatable {
        var newTasks: Int
        var oldTasks: Int
        var seconds: Double
    }

    /// The bakes of a plan with the tasks of each revision then (task sets scaled in percent of
    /// the desired count, rounded up as ECS does). The ECS controller's own rolling update has
    /// no bake with two revisions; its blue/green, linear and canary run both revisions at
    /// full count through their bakes (`nativeBakes` seconds).
    static func overlaps(_ plan: [Stage], desired: Int, nativeBakes: Double = 0) -> [Overlap] {
        var newPercent = 0, oldPercent = 100
        var out: [Overlap] = []
        func tasks(_ percent: Int) -> Int { Int((Double(desired) * Double(percent) / 100).rounded(.up)) }
        for stage in plan {
            switch stage {
            case .createTaskSet(.new, let percent), .scaleTaskSet(.new, let percent): newPercent = percent
            case .scaleTaskSet(.previous, let percent): oldPercent = percent
            case .deleteTaskSet(.previous): oldPercent = 0
            case .bake(let seconds, _) where newPercent > 0 && oldPercent > 0:
                out.append(Overlap(newTasks: tasks(newPercent), oldTasks: tasks(oldPercent), seconds: seconds))
            case .followServiceDeployment where nativeBakes > 0:
                out.append(Overlap(newTasks: desired, oldTasks: desired, seconds: nativeBakes))
            default: break
            }
        }
        return out
    }
}

/// What a caller already knows of a change's cost when it submits the deployment.
public enum KnownCost: Sendable {
    /// Worked out by a release's plan.
    case cost(ChangeCost)
    /// The live task definition, just read.
    case liveDefinition(TaskDefinition)
}
