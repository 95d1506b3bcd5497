import Foundation
import Testing

/// One case of Amazon's Signature Version 4 test suite (`Tests/Fixtures/aws-sig-v4-test-suite`):
/// the raw request (`.req`) and the expected canonical request (`.creq`), string to sign
/// (`.sts`) and `Authorization` value (`.authz`).
struct SigV4SuiteCase: Sendable, CustomTestStringConvertible {
    /// The suite's credentials, scope and time (see the suite's documentation).
    static let accessKeyID = "AKIDEXAMPLE"
    static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let region = "us-east-1"
    static let service = "service"
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    static var suiteRoot: URL { Fixtures.root.appendingPathComponent("aws-sig-v4-test-suite") }

    /// The case's name (its folder's name, which its files also bear).
    let name: String
    /// The case's folder, relative to the suite root (`normalize-path/get-slash`).
    let relativePath: String

    var testDescription: String { relativePath }

    /// Every case of the suite: each folder holding a `<folder>.req`.
    static let all: [SigV4SuiteCase] = {
        let root = suiteRoot
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var cases: [SigV4SuiteCase] = []
        while let item = walker.nextObject() as? String {
            guard item.hasSuffix(".req") else { continue }
            let parts = item.split(separator: "/").map(String.init)
            guard parts.count >= 2, parts[parts.count - 1] == parts[parts.count - 2] + ".req" else { continue }
            cases.append(SigV4SuiteCase(name: parts[parts.count - 2],
                                        relativePath: parts.dropLast().joined(separator: "/")))
        }
        return cases.sorted { $0.relativePath < $1.relativePath }
    }()

    /// The text of the case's file with extension `ext`.
    func file(_ ext: String) throws -> String {
        let url = Self.suiteRoot.appendingPathComponent(relativePath).appendingPathComponent("\(name).\(ext)")
        return String(decoding: try Data(contentsOf: url), as: UTF8.self)
    }

    func request() throws -> SuiteRequest {
        try SuiteRequest.parse(file("req"))
    }
}

