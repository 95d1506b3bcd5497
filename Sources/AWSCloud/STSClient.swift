import AWSAuth
import CloudModel
import Foundation

/// AWS STS over the Query protocol: the caller's identity, and the role assumptions that
/// AWSAuth's credential chain needs.
public struct STSClient: IdentityAPI, RoleAssuming {
    let rpc: QueryProtocol
    let environment: AWSEnvironment

    public init(transport: AWSTransport, environment: AWSEnvironment) {
        rpc = QueryProtocol(transport: transport, service: .sts, environment: environment)
        self.environment = environment
    }

    public func getCallerIdentity() async throws -> CallerIdentity {
        let result = try await rpc.call("GetCallerIdentity")
        let read = ResponseReader(call: "sts:GetCallerIdentity")
        return CallerIdentity(account: try read.string(result, "Account", in: "GetCallerIdentityResult"),
                              arn: try read.string(result, "Arn", in: "GetCallerIdentityResult"),
                              userId: try read.string(result, "UserId", in: "GetCallerIdentityResult"))
    }

    /// AssumeRole signed with `source` (not the transport's own provider).
    public func assumeRole(roleArn: String, sessionName: String, externalID: String?, using source: AWSCredentials,
                           region: String) async throws -> AWSCredentials {
        var p = QueryParameters()
        p.add("RoleArn", roleArn)
        p.add("RoleSessionName", sessionName)
        p.addOptional("ExternalId", externalID)
        let result = try await rpc.call("AssumeRole", p, signing: .fixed(source), destination: regional(region))
        return try credentials(result, call: "sts:AssumeRole", source: "assume-role \(roleArn)")
    }

    /// AssumeRoleWithWebIdentity, unsigned as AWS specifies (the token is the proof).
    public func assumeRoleWithWebIdentity(roleArn: String, sessionName: String, webIdentityToken: String,
                                          region: String) async throws -> AWSCredentials {
        var p = QueryParameters()
        p.add("RoleArn", roleArn)
        p.add("RoleSessionName", sessionName)
        p.add("WebIdentityToken", webIdentityToken)
        let result = try await rpc.call("AssumeRoleWithWebIdentity", p, signing: .unsigned, destination: regional(region))
        return try credentials(result, call: "sts:AssumeRoleWithWebIdentity", source: "web-identity \(roleArn)")
    }

    /// STS in `region`: AWS's regional endpoint, or the configured one signed for `region`.
    private func regional(_ region: String) -> (url: URL, signingRegion: String) {
        if region.isEmpty || region == environment.region {
            return (environment.endpoint(for: .sts), environment.signingRegion(for: .sts))
        }
        if environment.endpointSource(for: .sts) == "default" {
            return (AWSEnvironment.defaultEndpoint(for: .sts, region: region), region)
        }
        return (environment.endpoint(for: .sts), region)
    }

    private func credentials(_ result: XMLTree, call: String, source: String) throws -> AWSCredentials {
        let read = ResponseReader(call: call)
        guard let c = result.child("Credentials") else { throw read.missing("Credentials") }
        return AWSCredentials(accessKeyID: try read.string(c, "AccessKeyId", in: "Credentials"),
                              secretAccessKey: try read.string(c, "SecretAccessKey", in: "Credentials"),
                              sessionToken: try read.string(c, "SessionToken", in: "Credentials"),
                              expiration: read.xmlDate(c, "Expiration"),
                              source: source)
    }
}
