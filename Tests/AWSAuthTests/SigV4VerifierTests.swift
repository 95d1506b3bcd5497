@testable import AWSAuth
import Foundation
import Testing

/// `grpc-server simulate`'s check of SigV4 signatures: what the signer signs verifies; a changed
/// body, header or key, an old date, an unknown key do not.
@Suite struct SigV4VerifierTests {
    static let now = Date(timeIntervalSince1970: 1_709_168_523)
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    static func signed(body: String = #"{"cluster":"demo"}"#, token: String? = nil, at date: Date = now) -> [(String, String)] {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDSIM", secretAccessKey: secret, sessionToken: token, source: "test"),
                                 region: "us-east-1", service: "ecs")
        return signer.sign(method: "POST", path: "/", query: "",
                           headers: [("Host", "localhost:4566"), ("Content-Type", "application/x-amz-json-1.1"),
                                     ("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeServices")],
                           body: Array(body.utf8), date: date)
    }

    let verifier = SigV4Verifier(secrets: ["AKIDSIM": secret])

    func verify(_ headers: [(String, String)], body: String = #"{"cluster":"demo"}"#, now: Date = now) -> SigV4Verifier.Failure? {
        verifier.verify(method: "POST", path: "/", query: "", headers: headers, body: Array(body.utf8), now: now)
    }

    @Test func whatTheSignerSignsVerifies() {
        #expect(verify(Self.signed()) == nil)
        #expect(verify(Self.signed(token: "session-token")) == nil)
        // Names and values as an HTTP layer may pass them on: lower-cased names.
        #expect(verify(Self.signed().map { ($0.0.lowercased(), $0.1) }) == nil)
    }

    @Test func aChangeOfTheRequestOrTheKeyIsRefused() {
        #expect(verify(Self.signed(), body: #"{"cluster":"prod"}"#) == .mismatch)
        let otherTarget = Self.signed().map { $0.0 == "X-Amz-Target" ? ($0.0, "AmazonEC2ContainerServiceV20141113.UpdateService") : $0 }
        #expect(verify(otherTarget) == .mismatch)
        let wrongSecret = SigV4Verifier(secrets: ["AKIDSIM": "another-secret"])
        #expect(wrongSecret.verify(method: "POST", path: "/", query: "", headers: Self.signed(), body: Array(#"{"cluster":"demo"}"#.utf8),
                                   now: Self.now) == .mismatch)
        #expect(SigV4Verifier(secrets: ["AKIDOTHER": Self.secret]).verify(method: "POST", path: "/", query: "", headers: Self.signed(),
                                                                         body: [], now: Self.now) == .unknownKey("AKIDSIM"))
        #expect(verify(Self.signed().filter { $0.0 != "Authorization" }) == .missing)
        #expect(verify(Self.signed(), now: Self.now.addingTimeInterval(16 * 60)) == .expired("20240229T010203Z is more than 15 minutes from now"))
        // No failure names the secret.
        for failure in [SigV4Verifier.Failure.missing, .unknownKey("AKIDSIM"), .expired("x"), .mismatch] {
            #expect(!failure.description.contains(Self.secret))
        }
    }

    @Test func timestampsReadBack() {
        #expect(SigV4Encoding.parseTimestamp("20240229T010203Z") == Self.now)
        #expect(SigV4Encoding.parseTimestamp("20241329T010203Z") == nil)
        #expect(SigV4Encoding.parseTimestamp("2024-02-29T01:02:03Z") == nil)
    }
}
