import AWSAuth
import Foundation

extension AWSService {
    /// The API version: the Query protocol's `Version`, the date in the JSON target.
    /// (CloudWatch also speaks JSON 1.0 and CBOR; this client uses its Query protocol, which
    /// every endpoint and moto answer.)
    var apiVersion: String {
        switch self {
        case .ecs: "2014-11-13"
        case .elasticLoadBalancingV2: "2015-12-01"
        case .eventBridge: "2015-10-07"
        case .sts: "2011-06-15"
        case .iam: "2010-05-08"
        case .cloudWatch: "2010-08-01"
        case .sns: "2010-03-31"
        case .pricing: "2017-10-15"
        }
    }

    /// `X-Amz-Target` prefix of the AWS JSON 1.1 services; nil for the Query ones.
    var jsonTargetPrefix: String? {
        switch self {
        case .ecs: "AmazonEC2ContainerServiceV20141113"
        case .eventBridge: "AWSEvents"
        case .pricing: "AWSPriceListService"
        case .elasticLoadBalancingV2, .sts, .iam, .cloudWatch, .sns: nil
        }
    }
}
