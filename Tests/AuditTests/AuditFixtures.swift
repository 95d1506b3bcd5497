import Audit
import Crypto
import Foundation
@testable import Engine

/// Records, events and files for the audit log's tests.
enum AuditFixtures {
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000.25)

    static func folder() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("audit-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func cleanUp(_ folder: URL) { try? FileManager.default.removeItem(at: folder) }

    static func record(id: String = "deploy-1") -> DeploymentRecord {
        let request = DeploymentRequest(id: id, cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                                        service: "arn:aws:ecs:us-east-1:123456789012:service/prod/web", strategy: .bluegreen,
                                        taskDefinition: #"{"family":"web"}"#, requestedBy: "alice")
        return DeploymentRecord(request: request, settings: DeploymentSettings(), plan: [.registerTaskDefinition], at: t0)
    }

    static func event(_ record: DeploymentRecord, _ sequence: Int, _ type: String, status: DeploymentStatus,
                      stage: String = "", message: String = "", at seconds: Double = 0) -> DeploymentEvent {
        guard let kind = DeploymentEventKind(rawValue: type) else { preconditionFailure("no deployment event \(type)") }
        return DeploymentEvent(deploymentID: record.id, sequence: sequence, at: t0.addingTimeInterval(seconds), kind: kind,
                               stage: stage, status: status, progress: 0, message: message)
    }

    /// The file's lines (without newlines).
    static func lines(_ path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    static func write(_ lines: [String], to path: String, finalNewline: Bool = true) throws {
        try Data((lines.joined(separator: "\n") + (finalNewline ? "\n" : "")).utf8).write(to: URL(fileURLWithPath: path))
    }

    static func object(_ line: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
    }

    /// SHA-256 of a line, computed here, independently of the log's own code.
    static func sha256(_ line: String) -> String {
        SHA256.hash(data: Data(line.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Writes `count` audited events of one deployment.
    static func writeEvents(_ log: AuditLog, count: Int, id: String = "deploy-1") {
        let record = record(id: id)
        for i in 1...count {
            log.observe(event(record, i, "deployment.started", status: .inProgress, message: "line \(i)", at: Double(i)),
                        record: record)
        }
    }
}
