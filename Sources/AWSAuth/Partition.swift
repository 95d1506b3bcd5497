import Foundation

/// The AWS partition of a region: its DNS suffix and its global (IAM) endpoint.
struct Partition {
    var dnsSuffix: String
    var iamEndpoint: String
    var globalSigningRegion: String

    init(region: String) {
        if region.hasPrefix("cn-") {
            dnsSuffix = "amazonaws.com.cn"
            iamEndpoint = "https://iam.cn-north-1.amazonaws.com.cn"
            globalSigningRegion = "cn-north-1"
        } else if region.hasPrefix("us-gov-") {
            dnsSuffix = "amazonaws.com"
            iamEndpoint = "https://iam.us-gov.amazonaws.com"
            globalSigningRegion = "us-gov-west-1"
        } else {
            dnsSuffix = "amazonaws.com"
            iamEndpoint = "https://iam.amazonaws.com"
            globalSigningRegion = "us-east-1"
        }
    }
}
