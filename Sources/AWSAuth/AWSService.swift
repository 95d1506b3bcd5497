import Foundation

/// The AWS services this server calls, with their signing names and endpoint settings.
public enum AWSService: String, Sendable, CaseIterable, CustomStringConvertible {
    case ecs
    case elasticLoadBalancingV2 = "elbv2"
    case eventBridge = "events"
    case sts
    case iam
    case cloudWatch = "cloudwatch"
    case sns
    /// The Price List query API (`pricing.refresh`).
    case pricing

    public var description: String { rawValue }

    /// The SigV4 service name.
    public var signingName: String {
        switch self {
        case .ecs: "ecs"
        case .elasticLoadBalancingV2: "elasticloadbalancing"
        case .eventBridge: "events"
        case .sts: "sts"
        case .iam: "iam"
        case .cloudWatch: "monitoring"
        case .sns: "sns"
        case .pricing: "pricing"
        }
    }

    /// The first labels of the service's default host name.
    public var endpointPrefix: String { self == .pricing ? "api.pricing" : signingName }

    /// The one region a service answers in, whatever the region of the rest: the Price List
    /// API's (also in eu-central-1 and ap-south-1; it prices every region).
    public var fixedRegion: String? { self == .pricing ? "us-east-1" : nil }

    /// The variable holding this service's endpoint (`AWS_ENDPOINT_URL_<SERVICE ID>`).
    public var endpointVariable: String {
        switch self {
        case .ecs: "AWS_ENDPOINT_URL_ECS"
        case .elasticLoadBalancingV2: "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"
        case .eventBridge: "AWS_ENDPOINT_URL_EVENTBRIDGE"
        case .sts: "AWS_ENDPOINT_URL_STS"
        case .iam: "AWS_ENDPOINT_URL_IAM"
        case .cloudWatch: "AWS_ENDPOINT_URL_CLOUDWATCH"
        case .sns: "AWS_ENDPOINT_URL_SNS"
        case .pricing: "AWS_ENDPOINT_URL_PRICING"
        }
    }

    /// Global services have one endpoint per partition, signed for a fixed region.
    public var isGlobal: Bool { self == .iam }
}
