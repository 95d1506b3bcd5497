@testable import AWSAuth
import Foundation
import Testing

@Suite("SigV4 signer")
struct SigV4SignerTests {
    static let date = Date(timeIntervalSince1970: 1_709_168_523)  // 2024-02-29T01:02:03Z

    static func signer(token: String? = nil) -> SigV4Signer {
        SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: Planted.secret,
                                                sessionToken: token, source: "test"),
                    region: "eu-west-1", service: "ecs")
    }

    @Test(arguments: [
        ("", "/"), ("/", "/"), ("//", "/"), ("/./", "/"), ("/.", "/"), ("/..", "/"),
        ("/a/b/../c", "/a/c"), ("/a/b/..", "/a/"), ("/a/./b/", "/a/b/"), ("//a//b//", "/a/b/"),
        ("/a/../../b", "/b"), ("/a%20b/", "/a%20b/"),
    ])
    func pathNormalisation(_ input: String, _ expected: String) {
        #expect(SigV4Encoding.normalizedPath(input) == expected)
    }

    @Test func uriEncoding() {
        #expect(SigV4Encoding.uriEncode("a b/c~d", keepSlash: true) == "a%20b/c~d")
        #expect(SigV4Encoding.uriEncode("a b/c", keepSlash: false) == "a%20b%2Fc")
        #expect(SigV4Encoding.uriEncode("%2F+=*", keepSlash: false) == "%252F%2B%3D%2A")
        #expect(SigV4Encoding.uriEncode("ሴ", keepSlash: false) == "%E1%88%B4")
    }

    @Test func canonicalQuery() {
        #expect(SigV4Encoding.canonicalQuery("") == "")
        #expect(SigV4Encoding.canonicalQuery("b=2&a=1&a=0") == "a=0&a=1&b=2")
        #expect(SigV4Encoding.canonicalQuery("flag&x=") == "flag=&x=")
        #expect(SigV4Encoding.canonicalQuery("k=a%20b&k2=a+b&e=x%3Dy") == "e=x%3Dy&k=a%20b&k2=a%2Bb")
        #expect(SigV4Encoding.canonicalQuery("B=1&a=1") == "B=1&a=1")  // byte order: upper case first
        #expect(SigV4Encoding.canonicalQuery("a=1&&b=2") == "a=1&b=2")
    }

    @Test func canonicalHeadersTrimAndJoin() {
        let result = SigV4Encoding.canonicalHeaders([("X-B", "  two   words "), ("x-a", "1"), ("X-A", "2")])
        #expect(result.text == "x-a:1,2\nx-b:two words\n")
        #expect(result.signedHeaders == "x-a;x-b")
    }

    @Test func timestamps() {
        #expect(SigV4Encoding.timestamp(Self.date) == "20240229T010203Z")
        #expect(SigV4Encoding.dateStamp(Self.date) == "20240229")
    }

    /// The URL's path is sent percent-encoded; services other than S3 encode it once more.
    @Test func urlPathIsEncodedTwice() throws {
        let url = try #require(URL(string: "https://lambda.eu-west-1.amazonaws.com/fn/my%3Afunc/a%20b"))
        let headers = Self.signer().sign(method: "GET", url: url, headers: [], body: [], date: Self.date)
        let canonical = Self.signer().canonicalRequest(method: "GET", path: "/fn/my%3Afunc/a%20b", query: "",
                                                       headers: headers.dropLast().map { $0 },
                                                       payloadHash: SigV4Signer.payloadHash([]))
        #expect(canonical.text.split(separator: "\n")[1] == "/fn/my%253Afunc/a%2520b")
        let recomputed = Self.signer().authorization(
            signedHeaders: canonical.signedHeaders,
            signature: Self.signer().signature(stringToSign: Self.signer().stringToSign(canonicalRequest: canonical.text,
                                                                                        date: Self.date),
                                               date: Self.date),
            date: Self.date)
        #expect(headers.last?.1 == recomputed)
    }

    @Test func hostHeader() throws {
        #expect(SigV4Signer.hostHeader(for: try #require(URL(string: "http://127.0.0.1:4566/"))) == "127.0.0.1:4566")
        #expect(SigV4Signer.hostHeader(for: try #require(URL(string: "https://ecs.eu-west-1.amazonaws.com:443")))
            == "ecs.eu-west-1.amazonaws.com")
        #expect(SigV4Signer.hostHeader(for: try #require(URL(string: "http://localhost:80/x"))) == "localhost")
        #expect(SigV4Signer.hostHeader(for: try #require(URL(string: "https://sts.amazonaws.com"))) == "sts.amazonaws.com")
    }

    /// A JSON 1.1 call as the ECS client makes it: every header given is returned, in order,
    /// then Host, X-Amz-Date, the token and Authorization; the content headers are signed.
    @Test func signedHeaderList() throws {
        let url = try #require(URL(string: "https://ecs.eu-west-1.amazonaws.com/"))
        let body = Array(#"{"cluster":"prod"}"#.utf8)
        let given = [("Content-Type", "application/x-amz-json-1.1"),
                     ("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeServices"),
                     ("User-Agent", "ecs-deploy")]
        let headers = Self.signer(token: Planted.token).sign(method: "POST", url: url, headers: given, body: body,
                                                             date: Self.date)
        #expect(headers.map(\.0) == ["Content-Type", "X-Amz-Target", "User-Agent", "Host", "X-Amz-Date",
                                     "X-Amz-Security-Token", "Authorization"])
        #expect(headers[3].1 == "ecs.eu-west-1.amazonaws.com")
        #expect(headers[4].1 == "20240229T010203Z")
        #expect(headers[5].1 == Planted.token)
        let authorization = headers[6].1
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDTEST/20240229/eu-west-1/ecs/aws4_request, "))
        #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"))
        #expect(!authorization.contains(Planted.secret))
    }

    /// Signing again (a retry) replaces the old date, token and signature instead of adding
    /// second copies; a Host given by the caller is kept.
    @Test func resigningReplacesOldValues() throws {
        let url = try #require(URL(string: "https://ecs.eu-west-1.amazonaws.com/"))
        let signer = Self.signer(token: Planted.token)
        let first = signer.sign(method: "POST", url: url, headers: [("Host", "custom.example")], body: [],
                                date: Self.date)
        let second = signer.sign(method: "POST", url: url, headers: first, body: [],
                                 date: Self.date.addingTimeInterval(60))
        for name in ["Host", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"] {
            #expect(second.filter { $0.0 == name }.count == 1, "\(name)")
        }
        #expect(second.first { $0.0 == "Host" }?.1 == "custom.example")
        #expect(second.first { $0.0 == "X-Amz-Date" }?.1 == "20240229T010303Z")
        #expect(first.last?.1 != second.last?.1)
    }

    @Test func emptyURLPathSignsAsSlash() throws {
        let bare = try #require(URL(string: "https://sts.amazonaws.com"))
        let slash = try #require(URL(string: "https://sts.amazonaws.com/"))
        let signer = Self.signer()
        #expect(signer.sign(method: "POST", url: bare, headers: [], body: [], date: Self.date).last?.1
            == signer.sign(method: "POST", url: slash, headers: [], body: [], date: Self.date).last?.1)
    }

    @Test func descriptionsHideTheSecret() {
        let signer = Self.signer(token: Planted.token)
        var dumped = ""
        dump(signer, to: &dumped)
        for text in ["\(signer)", String(reflecting: signer), dumped] {
            #expect(Planted.leaks(in: text).isEmpty, "\(text)")
            #expect(text.contains("AKIDTEST"))
        }
    }
}
