import Foundation

/// Why the SQLite store could not do what was asked. Each case names the file or record.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// The database file (or its folder) could not be created or opened.
    case cannotOpen(path: String, reason: String)
    /// The schema could not be brought up to date.
    case cannotMigrate(path: String, reason: String)
    /// The file was migrated by a newer version of this server, whose schema this one does not know.
    case newerSchema(path: String, unknownMigrations: [String])
    /// A stored record could not be read back.
    case undecodableRecord(id: String, reason: String)
    /// A stored release could not be read back.
    case undecodableRelease(id: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open the deployment database at \(path): \(reason)"
        case .cannotMigrate(let path, let reason):
            "cannot update the schema of the deployment database at \(path): \(reason)"
        case .newerSchema(let path, let unknown):
            "the deployment database at \(path) was written by a newer version "
                + "(unknown migrations: \(unknown.joined(separator: ", "))); upgrade the server or use another file"
        case .undecodableRecord(let id, let reason):
            "the stored record of deployment \(id) cannot be read: \(reason)"
        case .undecodableRelease(let id, let reason):
            "the stored record of release \(id) cannot be read: \(reason)"
        }
    }
}
