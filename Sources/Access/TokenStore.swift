import Crypto
import Foundation
import Synchronization
import Yams

/// API tokens (`auth.tokens_file`): a YAML file of names, SHA-256 hashes of the tokens, roles
/// and scopes. Only hashes are stored. The file is read again when it changes (checked at each
/// call) and on `reload()` (SIGHUP), so a removed token stops working without a restart. A
/// file that cannot be read or parsed refuses every token until it is fixed.
public final class TokenStore: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var sha256: String
        public var grants: [Grant]
        public var email: String?
    }

    public let path: String
    private struct State {
        var signature: FileSignature?
        var byHash: [String: Entry] = [:]
        var error: String?
    }
    private let state = Mutex(State())
    private let onReload: @Sendable (Result<Int, AccessConfigError>) -> Void

    /// - Parameter onReload: told after each reading of the file (how many tokens, or why none).
    public init(path: String, onReload: @escaping @Sendable (Result<Int, AccessConfigError>) -> Void = { _ in }) throws {
        self.path = path
        self.onReload = onReload
        // A file that is broken at start stops the start (later it only refuses tokens).
        let entries = try Self.read(path: path)
        state.withLock { s in
            s.signature = FileSignature(path: path)
            s.byHash = Dictionary(entries.map { ($0.sha256, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// The principal a bearer token proves, or nil.
    public func principal(for token: String) -> Principal? {
        refreshIfChanged()
        let hash = Self.hash(token)
        guard let entry = state.withLock({ $0.error == nil ? $0.byHash[hash] : nil }) else { return nil }
        return Principal(method: .token, name: entry.name, emails: entry.email.map { [$0] } ?? [], grants: entry.grants)
    }

    /// Reads the file again now.
    public func reload() {
        let signature = FileSignature(path: path)
        let result: Result<[Entry], AccessConfigError>
        do { result = .success(try Self.read(path: path)) } catch let error as AccessConfigError {
            result = .failure(error)
        } catch {
            result = .failure(AccessConfigError("\(path): \(error)"))
        }
        state.withLock { s in
            s.signature = signature
            switch result {
            case .success(let entries):
                s.byHash = Dictionary(entries.map { ($0.sha256, $0) }, uniquingKeysWith: { a, _ in a })
                s.error = nil
            case .failure(let error):
                s.byHash = [:]
                s.error = error.description
            }
        }
        onReload(result.map(\.count))
    }

    private func refreshIfChanged() {
        let now = FileSignature(path: path)
        let changed = state.withLock { $0.signature != now }
        if changed { reload() }
    }

    // MARK: The file

    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func read(path: String) throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AccessConfigError("\(path): cannot read the tokens file")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    static func parse(_ text: String, source: String) throws -> [Entry] {
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch { throw AccessConfigError("\(source): not valid YAML") }
        guard let node else { return [] }
        guard let root = node as? [String: Any], Set(root.keys).isSubset(of: ["tokens"]) else {
            throw AccessConfigError("\(source): must be a mapping with one key, tokens")
        }
        guard let list = root["tokens"] else { return [] }
        guard let items = list as? [Any] else { throw AccessConfigError("\(source): tokens: must be a list") }
        var names = Set<String>()
        return try items.enumerated().map { index, item in
            let path = "\(source): tokens[\(index)]"
            guard let fields = item as? [String: Any] else { throw AccessConfigError("\(path): must be a mapping") }
            let unknown = Set(fields.keys).subtracting(["name", "sha256", "roles", "scopes", "email"])
            if let key = unknown.sorted().first { throw AccessConfigError("\(path).\(key): unknown key") }
            guard let name = fields["name"] as? String, Self.isValidName(name) else {
                throw AccessConfigError("\(path).name: is required (letters, digits, - _ . @)")
            }
            guard names.insert(name).inserted else { throw AccessConfigError("\(path).name: '\(name)' is listed twice") }
            guard let hash = (fields["sha256"] as? String)?.lowercased(), hash.count == 64,
                  hash.allSatisfy({ $0.isHexDigit }) else {
                throw AccessConfigError("\(path).sha256: must be the 64 hex digits of the token's SHA-256")
            }
            let roles = try strings(fields["roles"], path: "\(path).roles").map { try Role.parse($0, field: "\(path).roles") }
            guard !roles.isEmpty else { throw AccessConfigError("\(path).roles: at least one role is required") }
            let scopes = try strings(fields["scopes"], path: "\(path).scopes").map(ScopePattern.init)
            let email = fields["email"] as? String
            return Entry(name: name, sha256: hash, grants: roles.map { Grant(role: $0, scopes: scopes) }, email: email)
        }
    }

    static func strings(_ value: Any?, path: String) throws -> [String] {
        switch value {
        case nil: return []
        case let s as String: return [s]
        case let list as [Any]:
            return try list.map {
                guard let s = $0 as? String else { throw AccessConfigError("\(path): must be a list of strings") }
                return s
            }
        default: throw AccessConfigError("\(path): must be a string or a list of strings")
        }
    }

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.@".unicodeScalars.contains($0) }
    }

    /// Makes a new token for `name`, adds its hash to the file (created with mode 0600 when
    /// missing) and returns the token, which is stored nowhere.
    public static func create(name: String, roles: [Role], scopes: [ScopePattern], email: String?, path: String) throws -> String {
        guard isValidName(name) else { throw AccessConfigError("NAME: '\(name.prefix(64))' must be 1 to 128 letters, digits, - _ . @") }
        guard !roles.isEmpty else { throw AccessConfigError("--role: at least one role is required") }
        let exists = FileManager.default.fileExists(atPath: path)
        let text = exists ? String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) : ""
        let entries = try parse(text, source: path)
        if entries.contains(where: { $0.name == name }) {
            throw AccessConfigError("\(path): a token named '\(name)' exists; remove its entry first to replace it")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = generator.next() }
        let token = "ecsd_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        var out = text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? "tokens:\n" : text
        if !out.hasSuffix("\n") { out += "\n" }
        if entries.isEmpty, !out.contains("tokens:") { out += "tokens:\n" }
        out += "  - name: \(quoted(name))\n"
        out += "    sha256: \(hash(token))\n"
        out += "    roles: [\(roles.map { quoted($0.rawValue) }.joined(separator: ", "))]\n"
        if !scopes.isEmpty { out += "    scopes: [\(scopes.map { quoted($0.pattern) }.joined(separator: ", "))]\n" }
        if let email { out += "    email: \(quoted(email))\n" }
        // Checked before it is written: the new file must read back with the new entry.
        guard try parse(out, source: path).contains(where: { $0.name == name }) else {
            throw AccessConfigError("\(path): the file's layout does not allow adding an entry; add it by hand")
        }
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(out.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw AccessConfigError("\(path): cannot write the tokens file")
        }
        guard rename(temporary.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw AccessConfigError("\(path): cannot write the tokens file (\(String(cString: strerror(errno))))")
        }
        return token
    }

    /// A YAML double-quoted scalar (JSON's string syntax is valid YAML).
    static func quoted(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// What tells that a file changed: its inode, size and modification time.
struct FileSignature: Equatable, Sendable {
    var inode: UInt64
    var size: Int64
    var modified: Double

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }
}
