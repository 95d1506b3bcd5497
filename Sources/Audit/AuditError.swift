import Foundation

/// Why the audit log could not be opened, written or read. Each case names the file.
public enum AuditError: Error, Equatable, CustomStringConvertible {
    /// The file (or its folder) cannot be created or opened for appending.
    case cannotOpen(path: String, reason: String)
    /// Another process holds the file open for writing (two writers would fork the chain).
    case inUse(path: String)
    /// A line could not be written and flushed to disk.
    case cannotWrite(path: String, reason: String)
    /// The file cannot be read (verification).
    case cannotRead(path: String, reason: String)
    /// The log was closed.
    case closed(path: String)
    /// The log no longer holds the line the server last wrote (`AuditAnchor`).
    case anchorMismatch(path: String, detail: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): "cannot open the audit log \(path) for appending: \(reason)"
        case .inUse(let path): "the audit log \(path) is being written by another process"
        case .cannotWrite(let path, let reason): "cannot write to the audit log \(path): \(reason)"
        case .cannotRead(let path, let reason): "cannot read the audit log \(path): \(reason)"
        case .closed(let path): "the audit log \(path) is closed"
        case .anchorMismatch(let path, let detail):
            "the audit log \(path) is not as the server left it: \(detail). Keep the file for investigation; to go on with it "
                + "as it is, run `grpc-server audit acknowledge --reason TEXT` with the server's config (recorded in the log)"
        }
    }
}
