@testable import AWSCloud
import AWSAuth
import CloudModel
import Foundation
import Testing

@Suite("Query and JSON protocol pieces")
struct ProtocolTests {
    @Test func queryParametersEncodeListsMapsAndReservedCharacters() {
        var p = QueryParameters()
        p.add("Action", "ModifyListener")
        p.addList("Names", ["a b", "c/d"])
        p.addList("Empty", [])
        p.addJSON("Cfg", .object(["AuthenticationRequestExtraParams": .object(["k": .string("v=1")]),
                                  "Flag": .bool(true), "N": .number(3)]),
                  mapKeys: ["AuthenticationRequestExtraParams"])
        #expect(p.encoded() == "Action=ModifyListener&Names.member.1=a%20b&Names.member.2=c%2Fd&Empty="
                    + "&Cfg.AuthenticationRequestExtraParams.entry.1.key=k"
                    + "&Cfg.AuthenticationRequestExtraParams.entry.1.value=v%3D1&Cfg.Flag=true&Cfg.N=3")
    }

    @Test func weightedForwardActionUsesForwardConfigMembers() {
        var p = QueryParameters()
        let action = ListenerAction.forward([WeightedTargetGroup(targetGroupArn: "arn:tg/blue", weight: 90),
                                             WeightedTargetGroup(targetGroupArn: "arn:tg/green", weight: 10)])
        ELBDecoding.add(action, to: &p, prefix: "DefaultActions.member.1")
        #expect(p.items.map { "\($0.key)=\($0.value)" } == [
            "DefaultActions.member.1.Type=forward",
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=arn:tg/blue",
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.1.Weight=90",
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn=arn:tg/green",
            "DefaultActions.member.1.ForwardConfig.TargetGroups.member.2.Weight=10",
        ])
    }

    @Test func actionXMLRoundTripsThroughExtra() throws {
        let xml = """
            <member><Type>forward</Type><Order>1</Order><TargetGroupArn>arn:tg/blue</TargetGroupArn>
              <ForwardConfig><TargetGroups><member><TargetGroupArn>arn:tg/blue</TargetGroupArn><Weight>1</Weight></member>
              </TargetGroups><TargetGroupStickinessConfig><Enabled>true</Enabled><DurationSeconds>300</DurationSeconds>
              </TargetGroupStickinessConfig></ForwardConfig></member>
            """
        let tree = try #require(XMLTree.parse(Array(xml.utf8)))
        let action = try ELBDecoding(call: "test").action(tree)
        #expect(action.type == "forward")
        #expect(action.order == 1)
        #expect(action.targetGroups == [WeightedTargetGroup(targetGroupArn: "arn:tg/blue", weight: 1)])
        #expect(action.extra?["ForwardConfig"]?["TargetGroupStickinessConfig"]?["DurationSeconds"] == .string("300"))
        var p = QueryParameters()
        ELBDecoding.add(action, to: &p, prefix: "A")
        let sent = Dictionary(uniqueKeysWithValues: p.items.map { ($0.key, $0.value) })
        #expect(sent["A.TargetGroupArn"] == "arn:tg/blue")
        #expect(sent["A.ForwardConfig.TargetGroupStickinessConfig.Enabled"] == "true")
        #expect(sent["A.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds"] == "300")
        #expect(sent["A.ForwardConfig.TargetGroups.member.1.Weight"] == "1")
    }

    /// An authenticate-oidc action as described (no client secret) is written back with
    /// UseExistingClientSecret, which ModifyListener and ModifyRule need in its place.
    @Test func oidcActionKeepsItsSecret() throws {
        let xml = """
            <member><Type>authenticate-oidc</Type><Order>1</Order><AuthenticateOidcConfig><Issuer>https://idp.example.com</Issuer>
              <AuthorizationEndpoint>https://idp.example.com/auth</AuthorizationEndpoint><TokenEndpoint>https://idp.example.com/token</TokenEndpoint>
              <UserInfoEndpoint>https://idp.example.com/me</UserInfoEndpoint><ClientId>app</ClientId>
              <OnUnauthenticatedRequest>authenticate</OnUnauthenticatedRequest></AuthenticateOidcConfig></member>
            """
        let action = try ELBDecoding(call: "test").action(try #require(XMLTree.parse(Array(xml.utf8))))
        var p = QueryParameters()
        ELBDecoding.add(action, to: &p, prefix: "A")
        let sent = Dictionary(uniqueKeysWithValues: p.items.map { ($0.key, $0.value) })
        #expect(sent["A.Type"] == "authenticate-oidc")
        #expect(sent["A.AuthenticateOidcConfig.ClientId"] == "app")
        #expect(sent["A.AuthenticateOidcConfig.UseExistingClientSecret"] == "true")
        #expect(sent["A.AuthenticateOidcConfig.ClientSecret"] == nil)
    }

    /// Output members are optional, as the SDKs read them: a service and a task set without
    /// createdAt, updatedAt or computedDesiredCount (as an emulator may answer) decode.
    @Test func answersWithoutOptionalMembersDecode() throws {
        let answer = try JSONValue.parse(#"""
            {"serviceArn":"arn:aws:ecs:us-east-1:1:service/prod/web","serviceName":"web","clusterArn":"arn:aws:ecs:us-east-1:1:cluster/prod",
             "status":"ACTIVE","deployments":[{"id":"d1","status":"PRIMARY","taskDefinition":"arn:td/web:1"}],
             "taskSets":[{"id":"ts1","taskSetArn":"arn:ts/ts1","serviceArn":"arn:aws:ecs:us-east-1:1:service/prod/web",
               "clusterArn":"arn:aws:ecs:us-east-1:1:cluster/prod","status":"PRIMARY","taskDefinition":"arn:td/web:1",
               "scale":{"value":100,"unit":"PERCENT"},"stabilityStatus":"STEADY_STATE"}]}
            """#)
        let service = try ECSDecoding(call: "ecs:DescribeServices").service(answer)
        #expect(service.createdAt == nil && service.deployments.first?.createdAt == nil)
        #expect(service.taskSets.first?.computedDesiredCount == nil)
    }

    @Test func listenerArnIsDerivedFromRuleArn() {
        let rule = "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/lb/aa/bb/cc"
        #expect(ELBDecoding.listenerArn(ofRule: rule) == "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/lb/aa/bb")
    }

    @Test(arguments: [
        ("com.amazonaws.ecs#ClientException", "ClientException"),
        ("ClientException", "ClientException"),
        ("ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/", "ThrottlingException"),
    ])
    func jsonErrorTypeShortened(raw: String, code: String) {
        #expect(AWSErrorDecoding.shortCode(raw) == code)
    }

    @Test func jsonErrorFromBodyAndHeader() {
        let body = Array(#"{"__type":"com.amazonaws.ecs#ServiceNotFoundException","message":"Service not found."}"#.utf8)
        let e = AWSErrorDecoding.json(status: 400, headers: [], body: body, service: .ecs, operation: "UpdateService")
        #expect(e.code == CloudError.serviceNotFound)
        #expect(e.message == "ecs:UpdateService: Service not found.")
        #expect(e.httpStatus == 400)
        #expect(!e.isRetryable)

        let throttled = AWSErrorDecoding.json(status: 400, headers: [("x-amzn-ErrorType", "ThrottlingException:http://x")],
                                              body: Array(#"{"Message":"Rate exceeded"}"#.utf8), service: .ecs,
                                              operation: "DescribeServices")
        #expect(throttled.code == CloudError.throttling)
        #expect(throttled.message.hasSuffix("Rate exceeded"))
        #expect(throttled.isRetryable && throttled.isThrottling)
    }

    @Test func queryErrorsInBothEnvelopes() {
        let standard = """
            <ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type>
            <Code>ListenerNotFound</Code><Message>The specified listener does not exist.</Message></Error>
            <RequestId>1</RequestId></ErrorResponse>
            """
        let e = AWSErrorDecoding.query(status: 400, body: Array(standard.utf8), service: .elasticLoadBalancingV2,
                                       operation: "ModifyListener")
        #expect(e.code == CloudError.listenerNotFound)
        #expect(e.message == "elasticloadbalancing:ModifyListener: The specified listener does not exist.")
        let ec2Style = "<Response><Errors><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></Errors></Response>"
        let t = AWSErrorDecoding.query(status: 400, body: Array(ec2Style.utf8), service: .sts, operation: "GetCallerIdentity")
        #expect(t.code == "Throttling" && t.isRetryable)
    }

    @Test func answerWithoutErrorDocumentKeepsStatus() {
        let html = "<!doctype html><html><title>500 Internal Server Error</title><h1>Internal Server Error</h1></html>"
        let e = AWSErrorDecoding.query(status: 500, body: Array(html.utf8), service: .iam, operation: "SimulatePrincipalPolicy")
        #expect(e.code == "InternalFailure")
        #expect(e.httpStatus == 500 && e.isRetryable)
        #expect(e.message.contains("HTTP 500"))
        let json = AWSErrorDecoding.json(status: 503, headers: [], body: [], service: .ecs, operation: "ListTasks")
        #expect(json.code == "ServiceUnavailable" && json.message.contains("empty body"))
    }

    @Test func errorMessagesNeverCarryTheSecret() {
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG",
                                         sessionToken: "FwoGZXIvYXdzEXAMPLETOKEN", source: "test")
        let leaky = CloudError(code: "SignatureDoesNotMatch", message: "key wJalrXUtnFEMI/K7MDENG token FwoGZXIvYXdzEXAMPLETOKEN",
                               httpStatus: 403)
        let clean = AWSTransport.scrubbed(leaky, credentials: credentials)
        #expect(!clean.message.contains("wJalrXUtnFEMI"))
        #expect(!clean.message.contains("FwoGZXIvYXdz"))
        #expect(clean.code == "SignatureDoesNotMatch")
    }

    @Test func xmlTreeReadsNestedMembers() throws {
        let xml = """
            <DescribeTargetHealthResponse><DescribeTargetHealthResult><TargetHealthDescriptions>
            <member><Target><Id>10.0.0.1</Id><Port>80</Port></Target><TargetHealth><State>healthy</State></TargetHealth></member>
            <member><Target><Id>10.0.0.2</Id></Target><TargetHealth><State>unhealthy</State>
            <Reason>Target.FailedHealthChecks</Reason></TargetHealth></member>
            </TargetHealthDescriptions></DescribeTargetHealthResult></DescribeTargetHealthResponse>
            """
        let root = try #require(XMLTree.parse(Array(xml.utf8)))
        let result = try #require(root.child("DescribeTargetHealthResult"))
        let decode = ELBDecoding(call: "test")
        let health = try result.members("TargetHealthDescriptions").map(decode.targetHealth)
        #expect(health == [TargetHealth(targetId: "10.0.0.1", port: 80, state: "healthy"),
                           TargetHealth(targetId: "10.0.0.2", state: "unhealthy", reason: "Target.FailedHealthChecks")])
        #expect(XMLTree.parse(Array("not xml <".utf8)) == nil)
    }
}
