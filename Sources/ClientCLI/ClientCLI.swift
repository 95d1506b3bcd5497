import ArgumentParser
import DeployAPI
import Foundation
import Synchronization
import GRPCCore
import GRPCNIOTransportHTTP2

/// The `grpc-client` program, callable in process (tests) and from its thin `main`.
public enum ClientCLI {
    /// Runs one client command. Returns the exit code: 0 success, 1 failure (an error from
    /// the server, or a deployment that failed or was rolled back), 2 bad usage.
    ///
    /// - Parameter connection: where the calls go instead of the network address in `-server`
    ///   (tests: a server served in process); `-server` and the TLS flags are then not used.
    public static func run(_ arguments: [String], output: any ClientOutput = StandardOutput(),
                           connection: (any APIConnection)? = nil) async -> Int32 {
        let options: ClientOptions
        do {
            options = try ClientCommand.parse(arguments).options
        } catch {
            let message = ClientCommand.fullMessage(for: error)
            let code = ClientCommand.exitCode(for: error)
            if code == .success { output.out(message); return 0 }
            output.err(message)
            return 2
        }
        guard options.timeout.isFinite, options.timeout > 0, options.timeout <= 86400 else {
            output.err("error: -timeout: '\(options.timeout)' must be a number of seconds from 0 to 86400")
            return 2
        }
        guard ["text", "json"].contains(options.output) else {
            output.err("error: -output: '\(options.output.prefix(32))' is not text or json")
            return 2
        }
        guard let action = Action(rawValue: options.action.lowercased()) else {
            output.err("error: unknown action '\(options.action)' (use one of: \(Action.allCases.map(\.rawValue).joined(separator: ", ")))")
            return 2
        }
        do {
            let token = try BearerToken.resolve(flag: options.token, file: options.tokenFile,
                                                environment: ProcessInfo.processInfo.environment)
            let connection = try connection ?? NetworkConnection(options)
            return try await connection.withAPI(token: token) { api in
                try await Commands(api: api, options: options, output: output).run(action)
            }
        } catch let error as UsageError {
            output.err("error: \(error)")
            return 2
        } catch let error as RPCError {
            let tls = options.tls || !options.ca.isEmpty || !options.cert.isEmpty
            output.err("error: \(Self.describe(error, server: options.server, tls: tls))")
            return 1
        } catch {
            output.err("error: \(error)")
            return 1
        }
    }

    static func describe(_ error: RPCError, server: String, tls: Bool = false) -> String {
        if error.code == .unavailable, let hint = tlsHint(error, server: server, tls: tls) { return hint }
        return switch error.code {
        case .unavailable where error.message.contains("connect") || error.message.contains("connection"):
            "cannot reach the server at \(server) (\(error.message))"
        case .deadlineExceeded:
            "the server at \(server) did not answer in time"
        default:
            "\(error.message) (\(Self.codeName(error.code)))"
        }
    }

    /// Which TLS mistake a failed connection was, and what to do, from the TLS library's error
    /// (or, for a plaintext client, from the server closing the connection at once).
    static func tlsHint(_ error: RPCError, server: String, tls: Bool) -> String? {
        let cause = error.cause.map { String(reflecting: $0) } ?? ""
        let hints: [(String, String)] = [
            ("WRONG_VERSION_NUMBER", "the server at \(server) does not speak TLS: connect without -tls and -ca (or check the port)"),
            ("CERTIFICATE_VERIFY_FAILED", "the server's certificate at \(server) is not trusted: pass -ca with the PEM certificate of the CA that "
                + "signed it, and connect with a name the certificate holds (-server)"),
            ("CERTIFICATE_REQUIRED", "the server at \(server) requires a client certificate (mTLS): pass -cert and -key"),
            ("UNKNOWN_CA", "the server at \(server) refused the client certificate (-cert): it is not signed by a CA the server trusts"),
            ("CERTIFICATE_EXPIRED", "the server at \(server) refused the client certificate (-cert): it has expired"),
            ("BAD_CERTIFICATE", "the server at \(server) refused the client certificate (-cert)"),
        ]
        if let hint = hints.first(where: { cause.contains($0.0) }) { return hint.1 }
        if !tls, error.message.contains("connection preface") {
            return "the server at \(server) closed the connection at once: it probably serves TLS; connect with -tls "
                + "(and -ca FILE when its certificate is from a private CA)"
        }
        return nil
    }

    static func codeName(_ code: RPCError.Code) -> String {
        "\(code)".replacingOccurrences(of: "([a-z])([A-Z])", with: "$1_$2", options: .regularExpression).uppercased()
    }
}

/// The program's name and summary for help and usage messages (`USAGE: grpc-client ...`).
struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc-client",
        abstract: "Deploys to Amazon ECS through the ecs-deploy server, and follows, approves and rolls back deployments and releases.")

    @OptionGroup var options: ClientOptions
}

/// Where the client writes: standard output for results, standard error for errors.
public protocol ClientOutput: Sendable {
    func out(_ line: String)
    func err(_ line: String)
    /// Whether results go to a terminal (then progress is one line, rewritten in place).
    var isTerminal: Bool { get }
    /// Replaces the live line (on a terminal); the next `out` line takes its place.
    func live(_ line: String)
}

extension ClientOutput {
    public var isTerminal: Bool { false }
    public func live(_ line: String) { out(line) }
}

/// A closed output (`grpc-client ... | head`) ends the program quietly, with status 0: the
/// reader has what it wanted. (The program ignores SIGPIPE, so the write fails instead.)
public final class StandardOutput: ClientOutput, Sendable {
    public let isTerminal = isatty(STDOUT_FILENO) != 0
    /// A live line is on the screen (to be cleared by the next line).
    private let liveOpen = Mutex(false)

    public init() {}
    public func out(_ line: String) { write(clearingLive() + line + "\n", to: .standardOutput) }
    public func err(_ line: String) { write(clearingLive() + line + "\n", to: .standardError) }

    public func live(_ line: String) {
        guard isTerminal else { return out(line) }
        let width = 200
        write("\r\u{1B}[2K" + String(line.prefix(width)), to: .standardOutput)
        liveOpen.withLock { $0 = true }
    }

    private func clearingLive() -> String {
        liveOpen.withLock { open in
            defer { open = false }
            return open ? "\r\u{1B}[2K" : ""
        }
    }

    private func write(_ text: String, to handle: FileHandle) {
        do { try handle.write(contentsOf: Data(text.utf8)) } catch { exit(0) }
    }
}

/// `host:port` from `-server`, turned into a gRPC target and transport security.
struct ServerTarget {
    let host: String
    let port: Int

    init(_ text: String) throws {
        var host = text
        var port = 50051
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            host = String(text[..<colon])
            guard let p = Int(text[text.index(after: colon)...]), (1...65535).contains(p) else {
                throw UsageError("-server: '\(text)' is not host:port")
            }
            port = p
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard !host.isEmpty else { throw UsageError("-server: '\(text)' has no host") }
        self.host = host
        self.port = port
    }

    private var isIPv4: Bool {
        let parts = host.split(separator: ".")
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    var resolvable: any ResolvableTarget {
        if host == "localhost" { return .ipv4(address: "127.0.0.1", port: port) }
        if isIPv4 { return .ipv4(address: host, port: port) }
        if host.contains(":") { return .ipv6(address: host, port: port) }
        return .dns(host: host, port: port)
    }

    func security(tls: Bool, ca: String, cert: String = "", key: String = "") throws -> HTTP2ClientTransport.Posix.TransportSecurity {
        guard tls else { return .plaintext }
        for (flag, path) in [("-ca", ca), ("-cert", cert), ("-key", key)] where !path.isEmpty && !FileManager.default.isReadableFile(atPath: path) {
            throw UsageError("\(flag): cannot read \(path)")
        }
        guard cert.isEmpty == key.isEmpty else { throw UsageError("-cert and -key go together") }
        guard !cert.isEmpty else {
            return .tls { config in
                if !ca.isEmpty { config.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
            }
        }
        return .mTLS(certificateChain: [.file(path: cert, format: .pem)], privateKey: .file(path: key, format: .pem)) { config in
            if !ca.isEmpty { config.trustRoots = .certificates([.file(path: ca, format: .pem)]) }
        }
    }
}

/// The token the client presents (`authorization: Bearer ...` on every call): `-token`, else
/// `-token-file`, else `$ECS_DEPLOY_TOKEN`.
/// Where a client's calls go: a client of the deployment API that presents a token.
public protocol APIConnection: Sendable {
    func withAPI<T: Sendable>(token: String?,
                              _ body: @escaping @Sendable (any Deployment_V1_DeploymentService.ClientProtocol) async throws -> T) async throws -> T
}

/// The server at `-server`, over HTTP/2 (TLS from the flags); one connection per command.
struct NetworkConnection: APIConnection {
    let transport: HTTP2ClientTransport.Posix

    init(_ options: ClientOptions) throws {
        let target = try ServerTarget(options.server)
        let security = try target.security(tls: options.tls || !options.ca.isEmpty || !options.cert.isEmpty, ca: options.ca,
                                           cert: options.cert, key: options.key)
        transport = try HTTP2ClientTransport.Posix(target: target.resolvable, transportSecurity: security)
    }

    func withAPI<T: Sendable>(token: String?,
                              _ body: @escaping @Sendable (any Deployment_V1_DeploymentService.ClientProtocol) async throws -> T) async throws -> T {
        try await withGRPCClient(transport: transport, interceptors: token.map { [BearerToken(token: $0)] } ?? []) { client in
            try await body(Deployment_V1_DeploymentService.Client(wrapping: client))
        }
    }
}

/// A connection shared by many commands (a client kept open, as for a server in process):
/// each command's token travels with its own calls.
public struct SharedConnection<Transport: ClientTransport>: APIConnection {
    let client: GRPCClient<Transport>

    /// `client` must have been made with `SharedConnection.interceptors`.
    public init(client: GRPCClient<Transport>) { self.client = client }

    /// The interceptors the shared client needs: the token of the command that makes the call.
    public static var interceptors: [any ClientInterceptor] { [TaskBearerToken()] }

    public func withAPI<T: Sendable>(token: String?,
                                     _ body: @escaping @Sendable (any Deployment_V1_DeploymentService.ClientProtocol) async throws -> T) async throws -> T {
        try await TaskBearerToken.$token.withValue(token) {
            try await body(Deployment_V1_DeploymentService.Client(wrapping: client))
        }
    }
}

/// Presents the token of the task that makes the call (see `SharedConnection`).
struct TaskBearerToken: ClientInterceptor {
    @TaskLocal static var token: String?

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        guard let token = Self.token else { return try await next(request, context) }
        return try await BearerToken(token: token).intercept(request: request, context: context, next: next)
    }
}

public struct BearerToken: ClientInterceptor {
    let token: String

    public init(token: String) { self.token = token }

    static func resolve(flag: String, file: String, environment: [String: String]) throws -> String? {
        if !flag.isEmpty { return flag }
        if !file.isEmpty {
            guard let data = FileManager.default.contents(atPath: file) else { throw UsageError("-token-file: cannot read \(file)") }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw UsageError("-token-file: \(file) is empty") }
            return text
        }
        if let env = environment["ECS_DEPLOY_TOKEN"], !env.isEmpty { return env }
        return nil
    }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingClientRequest<Input>, context: ClientContext,
        next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
    ) async throws -> StreamingClientResponse<Output> {
        var request = request
        request.metadata.replaceOrAddString("Bearer \(token)", forKey: "authorization")
        return try await next(request, context)
    }
}
