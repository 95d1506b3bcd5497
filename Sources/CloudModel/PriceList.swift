import Foundation

/// Fargate's on-demand prices in one region, per hour (Linux).
public struct FargatePrices: Sendable, Codable, Equatable {
    public var vcpuHour: Double
    public var gbHour: Double
    public var armVcpuHour: Double
    public var armGBHour: Double

    public init(vcpuHour: Double, gbHour: Double, armVcpuHour: Double, armGBHour: Double) {
        self.vcpuHour = vcpuHour
        self.gbHour = gbHour
        self.armVcpuHour = armVcpuHour
        self.armGBHour = armGBHour
    }
}

/// Reads Fargate's current prices for a region (the Price List API).
public protocol PriceListAPI: Sendable {
    /// The on-demand Linux prices in `region`, and the date they were published (YYYY-MM-DD).
    func fargatePrices(region: String) async throws -> (prices: FargatePrices, published: String)
}
