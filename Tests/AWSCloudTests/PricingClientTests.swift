import AWSAuth
import AWSCloud
import CloudModel
import Foundation
import MotoHarness
import Testing

/// The Price List API's GetProducts over HTTP (moto does not model it): AWS's answer shape,
/// each product a JSON document in a string, pages followed.
@Suite struct PricingClientTests {
    static func product(_ usage: String, _ usd: String, published: String = "2026-11-20T10:00:00Z") -> String {
        let document: JSONValue = .object([
            "product": .object(["productFamily": .string("Compute"), "sku": .string("SKU\(usage.count)"),
                                "attributes": .object(["usagetype": .string(usage), "regionCode": .string("eu-west-1")])]),
            "serviceCode": .string("AmazonECS"),
            "terms": .object(["OnDemand": .object(["SKU.JRTCKXETXF": .object([
                "priceDimensions": .object(["SKU.JRTCKXETXF.6YS6EN2CT7": .object([
                    "unit": .string("hours"), "pricePerUnit": .object(["USD": .string(usd)]),
                ])]),
            ])])]),
            "publicationDate": .string(published),
        ])
        return document.serialized()
    }

    static func page(_ products: [String], next: String?) -> CannedHTTPServer.Canned {
        var body: [String: JSONValue] = ["FormatVersion": .string("aws_v1"), "PriceList": .array(products.map { .string($0) })]
        if let next { body["NextToken"] = .string(next) }
        return .init(status: 200, headers: [("Content-Type", "application/x-amz-json-1.1")], body: JSONValue.object(body).serialized())
    }

    static func client(port: Int) throws -> PricingClient {
        let environment = try AWSEnvironment(environment: ["AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_PRICING": "http://127.0.0.1:\(port)"])
        return AWSCloudFactory(environment: environment, credentials: StaticCredentials()).pricing
    }

    @Test func fargatePricesAcrossPagesWithoutSpotOrWindows() async throws {
        let server = try await CannedHTTPServer.start(responses: [
            Self.page([Self.product("EU-Fargate-vCPU-Hours:perCPU", "0.0404800000"),
                       Self.product("EU-SpotUsage-Fargate-vCPU-Hours:perCPU", "0.0127"),
                       Self.product("EU-Fargate-Windows-vCPU-Hours:perCPU", "0.0914")], next: "page2"),
            Self.page([Self.product("EU-Fargate-GB-Hours", "0.0044450000", published: "2026-11-27T19:02:42Z"),
                       Self.product("EU-Fargate-ARM-vCPU-Hours:perCPU", "0.0323800000"),
                       Self.product("EU-Fargate-ARM-GB-Hours", "0.0035600000")], next: nil),
        ])
        let (prices, published) = try await Self.client(port: server.port).fargatePrices(region: "eu-west-1")
        await server.stop()
        #expect(prices == FargatePrices(vcpuHour: 0.04048, gbHour: 0.004445, armVcpuHour: 0.03238, armGBHour: 0.00356))
        #expect(published == "2026-11-27")
        let requests = server.requests
        #expect(requests.count == 2)
        let target = requests.first?.headers.first { $0.0.lowercased() == "x-amz-target" }?.1
        #expect(target == "AWSPriceListService.GetProducts")
        let authorization = requests.first?.headers.first { $0.0.lowercased() == "authorization" }?.1 ?? ""
        #expect(authorization.contains("/us-east-1/pricing/aws4_request"), "signed for the Price List API's region: \(authorization)")
        let first = try JSONValue.parse(requests[0].body), second = try JSONValue.parse(requests[1].body)
        #expect(first["ServiceCode"] == .string("AmazonECS") && first["NextToken"] == nil)
        #expect(first["Filters"]?.arrayValue?.contains(.object(["Type": .string("TERM_MATCH"), "Field": .string("regionCode"),
                                                               "Value": .string("eu-west-1")])) == true)
        #expect(second["NextToken"] == .string("page2"))
    }

    @Test func aRegionWithoutFargateSaysWhatIsMissing() async throws {
        let server = try await CannedHTTPServer.start(responses: [Self.page([Self.product("EU-Fargate-GB-Hours", "0.005")], next: nil)])
        let error = await #expect(throws: CloudError.self) { try await Self.client(port: server.port).fargatePrices(region: "eu-west-1") }
        await server.stop()
        #expect(error?.code == "PricesNotFound")
        #expect(error?.message == "pricing:GetProducts: no price for Fargate-vCPU-Hours:perCPU, Fargate-ARM-vCPU-Hours:perCPU, "
            + "Fargate-ARM-GB-Hours of AmazonECS in eu-west-1")
    }

    @Test func theDefaultEndpointIsUSEast1() throws {
        let environment = try AWSEnvironment(environment: ["AWS_REGION": "ap-northeast-1"])
        #expect(environment.endpoint(for: .pricing).absoluteString == "https://api.pricing.us-east-1.amazonaws.com")
        #expect(environment.signingRegion(for: .pricing) == "us-east-1")
        #expect(environment.endpoint(for: .ecs).absoluteString == "https://ecs.ap-northeast-1.amazonaws.com")
    }
}
