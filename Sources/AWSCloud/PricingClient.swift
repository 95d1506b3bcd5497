import AWSAuth
import CloudModel
import Foundation

/// The AWS Price List query API over AWS JSON 1.1 (endpoint in us-east-1 for every region):
/// GetProducts of AmazonECS in one region, every page, read for Fargate's on-demand Linux
/// prices per vCPU-hour and GB-hour, x86 and ARM.
public struct PricingClient: PriceListAPI {
    let rpc: JSONProtocol

    public init(transport: AWSTransport, environment: AWSEnvironment) {
        rpc = JSONProtocol(transport: transport, service: .pricing, environment: environment)
    }

    /// The usage types read (after the region's prefix, `USE1-`), in `FargatePrices`' order.
    static let usageTypes = ["Fargate-vCPU-Hours:perCPU", "Fargate-GB-Hours", "Fargate-ARM-vCPU-Hours:perCPU", "Fargate-ARM-GB-Hours"]

    public func fargatePrices(region: String) async throws -> (prices: FargatePrices, published: String) {
        var found: [String: Double] = [:]
        var published = ""
        var token: String?
        var pages = 0
        repeat {
            var body: [String: JSONValue] = [
                "ServiceCode": .string("AmazonECS"), "FormatVersion": .string("aws_v1"), "MaxResults": .number(100),
                "Filters": .array([
                    .object(["Type": .string("TERM_MATCH"), "Field": .string("regionCode"), "Value": .string(region)]),
                    .object(["Type": .string("TERM_MATCH"), "Field": .string("productFamily"), "Value": .string("Compute")]),
                ]),
            ]
            if let token { body["NextToken"] = .string(token) }
            let answer = try await rpc.call("GetProducts", body)
            for item in answer["PriceList"]?.arrayValue ?? [] {
                // Each product is a JSON document in a string.
                guard let text = item.stringValue, let product = try? JSONValue.parse(text),
                      let usage = product["product"]?["attributes"]?["usagetype"]?.stringValue,
                      let name = Self.usageType(usage), let price = Self.onDemandUSD(product) else { continue }
                found[name] = price
                if let date = product["publicationDate"]?.stringValue, date > published { published = date }
            }
            token = answer["NextToken"]?.stringValue
            if token?.isEmpty == true { token = nil }
            pages += 1
        } while token != nil && pages < 50
        let missing = Self.usageTypes.filter { found[$0] == nil }
        guard missing.isEmpty else {
            throw CloudError(code: "PricesNotFound",
                             message: "pricing:GetProducts: no price for \(missing.joined(separator: ", ")) of AmazonECS in \(region)")
        }
        let p = Self.usageTypes.map { found[$0]! }
        return (FargatePrices(vcpuHour: p[0], gbHour: p[1], armVcpuHour: p[2], armGBHour: p[3]), String(published.prefix(10)))
    }

    /// `USE1-Fargate-GB-Hours` -> `Fargate-GB-Hours` when that is a usage type read; Spot and
    /// Windows usage types (`USE1-SpotUsage-Fargate-GB-Hours`) are not.
    static func usageType(_ usage: String) -> String? {
        if usageTypes.contains(usage) { return usage }
        guard let dash = usage.firstIndex(of: "-") else { return nil }
        let rest = String(usage[usage.index(after: dash)...])
        return usageTypes.contains(rest) ? rest : nil
    }

    /// The on-demand price in USD of a product's (only) rate.
    static func onDemandUSD(_ product: JSONValue) -> Double? {
        guard case .object(let terms)? = product["terms"]?["OnDemand"] else { return nil }
        for term in terms.values {
            guard case .object(let dimensions)? = term["priceDimensions"] else { continue }
            for dimension in dimensions.values {
                if let text = dimension["pricePerUnit"]?["USD"]?.stringValue, let price = Double(text), price > 0 { return price }
            }
        }
        return nil
    }
}
