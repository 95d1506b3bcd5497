import Crypto
import Foundation

/// One line of the audit log. `prevHash` is the hex SHA-256 of the previous line's bytes
/// (without its newline), all zeros on a file's first line; `seq` counts the lines of the
/// file from 1. Together they chain the lines, so an edited, removed or inserted line shows.
public struct AuditEntry: Sendable, Equatable, Codable {
    /// ISO 8601, UTC, with milliseconds.
    public var timestamp: String
    /// deployment.started, approval.approved, rollback.requested, stage.failed, drift.detected, ...
    public var eventType: String
    public var deploymentID: String
    /// Who caused it: the approver for approval decisions, the requester otherwise.
    public var user: String
    public var cluster: String
    public var service: String
    public var strategy: String
    public var metadata: [String: String]
    public var seq: Int
    public var prevHash: String
    /// `hmac-sha256` when `prevHash` is keyed (`audit.key_file`); absent on unkeyed lines.
    public var chain: String?

    public init(timestamp: Date, eventType: String, deploymentID: String = "", user: String = "", cluster: String = "",
                service: String = "", strategy: String = "", metadata: [String: String] = [:]) {
        self.timestamp = AuditFormat.timestamp(timestamp)
        self.eventType = eventType
        self.deploymentID = deploymentID
        self.user = user
        self.cluster = cluster
        self.service = service
        self.strategy = strategy
        self.metadata = metadata
        self.seq = 0
        self.prevHash = AuditFormat.zeroHash
    }

    enum CodingKeys: String, CodingKey {
        case timestamp
        case eventType = "event_type"
        case deploymentID = "deployment_id"
        case user, cluster, service, strategy, metadata, seq
        case prevHash = "prev_hash"
        case chain
    }
}

/// The line format, in one place: JSON settings, time format, hashing.
enum AuditFormat {
    static let zeroHash = String(repeating: "0", count: 64)

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// One line's bytes, without the newline. JSON escapes control characters, so a line
    /// never contains a newline of its own.
    static func encode(_ entry: AuditEntry) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(entry))
    }

    static func decode<Bytes: Collection<UInt8>>(_ line: Bytes) throws -> AuditEntry {
        try JSONDecoder().decode(AuditEntry.self, from: Data(line))
    }

    static func hash<Bytes: Collection<UInt8>>(_ line: Bytes) -> String {
        SHA256.hash(data: Array(line)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    static let keyedChain = "hmac-sha256"

    /// The hash a line's successor carries as `prev_hash`: HMAC-SHA256 under `key`, else SHA-256.
    static func hash<Bytes: Collection<UInt8>>(_ line: Bytes, key: SymmetricKey?) -> String {
        guard let key else { return hash(line) }
        return HMAC<SHA256>.authenticationCode(for: Array(line), using: key).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
