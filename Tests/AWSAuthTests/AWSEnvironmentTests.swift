import AWSAuth
import Foundation
import Testing

@Suite("Region and endpoints")
struct AWSEnvironmentTests {
    static let noFiles = SharedConfigFiles(credentialsPath: nil, configPath: nil, credentials: ProfileFile(),
                                           config: ProfileFile())

    @Test func regionOrder() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try dir.write(".aws/config", "[default]\nregion = eu-north-1\n[profile ops]\nregion = ap-southeast-2\n")
        let home = ["HOME": dir.path]

        func region(_ env: [String: String], configured: String? = "sa-east-1") throws -> (String, String) {
            let resolved = try AWSEnvironment(environment: env, configuredRegion: configured)
            return (resolved.region, resolved.regionSource)
        }
        let all = home.merging(["AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-east-2"]) { $1 }
        #expect(try region(all) == ("us-west-2", "AWS_REGION"))
        #expect(try region(all.filter { $0.key != "AWS_REGION" }) == ("us-east-2", "AWS_DEFAULT_REGION"))
        #expect(try region(home) == ("eu-north-1", "profile default"))
        #expect(try region(home.merging(["AWS_PROFILE": "ops"]) { $1 }) == ("ap-southeast-2", "profile ops"))
        #expect(try region(home.merging(["AWS_PROFILE": "none"]) { $1 }) == ("sa-east-1", "configuration"))
        #expect(try region([:]) == ("sa-east-1", "configuration"))
        #expect(throws: AWSConfigurationError.noRegion(tried: ["AWS_REGION", "AWS_DEFAULT_REGION", "profile default",
                                                               "configuration"])) {
            try region([:], configured: nil)
        }
        #expect(throws: AWSConfigurationError.invalidRegion(source: "AWS_REGION", value: "evil.com/x")) {
            try region(["AWS_REGION": "evil.com/x"])
        }
    }

    @Test func defaultEndpoints() throws {
        let aws = try AWSEnvironment(environment: ["AWS_REGION": "eu-west-1"], sharedFiles: Self.noFiles)
        #expect(aws.endpoint(for: .ecs).absoluteString == "https://ecs.eu-west-1.amazonaws.com")
        #expect(aws.endpoint(for: .elasticLoadBalancingV2).absoluteString
            == "https://elasticloadbalancing.eu-west-1.amazonaws.com")
        #expect(aws.endpoint(for: .eventBridge).absoluteString == "https://events.eu-west-1.amazonaws.com")
        #expect(aws.endpoint(for: .sts).absoluteString == "https://sts.eu-west-1.amazonaws.com")
        #expect(aws.endpoint(for: .iam).absoluteString == "https://iam.amazonaws.com")
        #expect(aws.endpoint(for: .cloudWatch).absoluteString == "https://monitoring.eu-west-1.amazonaws.com")
        #expect(aws.endpoint(for: .pricing).absoluteString == "https://api.pricing.us-east-1.amazonaws.com")
        #expect(AWSService.allCases.map { aws.signingName(for: $0) }
            == ["ecs", "elasticloadbalancing", "events", "sts", "iam", "monitoring", "sns", "pricing"])
        #expect(AWSService.allCases.map { aws.signingRegion(for: $0) }
            == ["eu-west-1", "eu-west-1", "eu-west-1", "eu-west-1", "us-east-1", "eu-west-1", "eu-west-1", "us-east-1"])
        #expect(AWSService.allCases.allSatisfy { aws.endpointSource(for: $0) == "default" })
    }

    @Test func otherPartitions() throws {
        let china = try AWSEnvironment(environment: ["AWS_REGION": "cn-northwest-1"], sharedFiles: Self.noFiles)
        #expect(china.endpoint(for: .ecs).absoluteString == "https://ecs.cn-northwest-1.amazonaws.com.cn")
        #expect(china.endpoint(for: .iam).absoluteString == "https://iam.cn-north-1.amazonaws.com.cn")
        #expect(china.signingRegion(for: .iam) == "cn-north-1")
        let gov = try AWSEnvironment(environment: ["AWS_REGION": "us-gov-east-1"], sharedFiles: Self.noFiles)
        #expect(gov.endpoint(for: .iam).absoluteString == "https://iam.us-gov.amazonaws.com")
        #expect(gov.signingRegion(for: .iam) == "us-gov-west-1")
        #expect(gov.endpoint(for: .sts).absoluteString == "https://sts.us-gov-east-1.amazonaws.com")
    }

    @Test func endpointOverrides() throws {
        let env = [
            "AWS_REGION": "us-west-2",
            "AWS_ENDPOINT_URL_ECS": "http://127.0.0.1:4566",
            "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2": "http://127.0.0.1:4567/",
            "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:4568",
            "AWS_ENDPOINT_URL": "http://localhost:9000",
        ]
        let resolved = try AWSEnvironment(environment: env, configuredEndpoint: "http://configured:1",
                                          sharedFiles: Self.noFiles)
        #expect(resolved.endpoint(for: .ecs).absoluteString == "http://127.0.0.1:4566")
        #expect(resolved.endpoint(for: .elasticLoadBalancingV2).absoluteString == "http://127.0.0.1:4567/")
        #expect(resolved.endpoint(for: .eventBridge).absoluteString == "http://127.0.0.1:4568")
        #expect(resolved.endpoint(for: .sts).absoluteString == "http://localhost:9000")
        #expect(resolved.endpoint(for: .iam).absoluteString == "http://localhost:9000")
        #expect(resolved.endpointSource(for: .ecs) == "AWS_ENDPOINT_URL_ECS")
        #expect(resolved.endpointSource(for: .sts) == "AWS_ENDPOINT_URL")
        // Signing names and regions do not change with the endpoint.
        #expect(resolved.signingRegion(for: .ecs) == "us-west-2")
        #expect(resolved.signingRegion(for: .iam) == "us-east-1")

        let perService = try AWSEnvironment(
            environment: ["AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL_STS": "https://sts.internal",
                          "AWS_ENDPOINT_URL_IAM": "https://iam.internal"],
            configuredEndpoint: "http://configured:1", sharedFiles: Self.noFiles)
        #expect(perService.endpoint(for: .sts).absoluteString == "https://sts.internal")
        #expect(perService.endpoint(for: .iam).absoluteString == "https://iam.internal")
        #expect(perService.endpoint(for: .ecs).absoluteString == "http://configured:1")
        #expect(perService.endpointSource(for: .ecs) == "configuration")
    }

    @Test func invalidEndpoints() {
        #expect(throws: AWSConfigurationError.invalidEndpoint(source: "AWS_ENDPOINT_URL_ECS")) {
            try AWSEnvironment(environment: ["AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL_ECS": "localhost:4566"],
                               sharedFiles: Self.noFiles)
        }
        #expect(throws: AWSConfigurationError.invalidEndpoint(source: "aws.endpoint_url")) {
            try AWSEnvironment(environment: ["AWS_REGION": "us-west-2"], configuredEndpoint: "ftp://x",
                               sharedFiles: Self.noFiles)
        }
    }

    @Test func signerForService() throws {
        let resolved = try AWSEnvironment(environment: ["AWS_REGION": "eu-central-1"], sharedFiles: Self.noFiles)
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: Planted.secret, source: "test")
        let elb = resolved.signer(for: .elasticLoadBalancingV2, credentials: credentials)
        #expect(elb.region == "eu-central-1" && elb.service == "elasticloadbalancing")
        let iam = resolved.signer(for: .iam, credentials: credentials)
        #expect(iam.region == "us-east-1" && iam.service == "iam")
    }
}
