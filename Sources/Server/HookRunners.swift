import AsyncHTTPClient
import ChildProcess
import CloudModel
import Engine
import Foundation
import Notify
import NIOCore
import NIOHTTP1

/// Hooks, custom health checks and notifications over HTTP (AsyncHTTPClient), and `exec:`
/// hooks as local commands.
struct NetworkHooks: HookRunner, HealthProbe, NoticePoster {
    let client: HTTPClient
    /// `strategy.hooks.definitions`: what a hook's name stands for.
    let definitions: [String: String]

    init(client: HTTPClient = .shared, definitions: [String: String] = [:]) {
        self.client = client
        self.definitions = definitions
    }

    /// Runs the hook `hook` names (a defined name, or a target from the server's config).
    func run(_ hook: String, payload: HookPayload, timeout: Duration) async throws {
        let target: String
        if DeploymentSettings.isHookName(hook) {
            guard let defined = definitions[hook] else { throw HookError("hook '\(hook)' is not defined in strategy.hooks.definitions") }
            target = defined
        } else {
            target = hook
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = try encoder.encode(payload)
        if target.hasPrefix("exec:") {
            return try await CommandHook.run(String(target.dropFirst(5)), input: body, timeout: timeout)
        }
        var request = HTTPClientRequest(url: target)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "ecs-deploy-hook")
        request.body = .bytes(ByteBuffer(bytes: body))
        let status = try await send(request, timeout: timeout)
        guard (200..<300).contains(status) else {
            throw HookError("answered HTTP \(status)")
        }
    }

    /// POSTs a notification; answers the HTTP status.
    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await send(request, timeout: timeout)
    }

    /// GET `url`'s body (at most 1 MiB), for the OIDC issuer's keys.
    func fetch(_ url: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        let response = try await client.execute(request, timeout: .seconds(10))
        guard response.status == .ok else { throw HookError("answered HTTP \(response.status.code)") }
        return Data((try await response.body.collect(upTo: 1 << 20)).readableBytesView)
    }

    func status(of url: String, timeout: Duration) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        return try await send(request, timeout: timeout)
    }

    /// Sends the request and answers the response's status; a timeout is thrown as a
    /// `HookError` that says so (AsyncHTTPClient's own errors do not name the limit).
    private func send(_ request: HTTPClientRequest, timeout: Duration) async throws -> Int {
        // Checked here too (requests are checked when accepted): a record stored before that
        // check must not reach the HTTP client, which traps on a port out of range.
        guard let url = URLComponents(string: request.url), url.host?.isEmpty == false,
              (url.port ?? 443) > 0, (url.port ?? 443) <= 65535 else {
            throw HookError("'\(CredentialRedaction.redact(String(request.url.prefix(256))))' is not a URL that can be called")
        }
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            return Int(response.status.code)
        } catch let error as HTTPClientError {
            if let message = Self.timeoutMessage(error, timeout: timeout) { throw HookError(message) }
            throw error
        }
    }

    static func timeoutMessage(_ error: HTTPClientError, timeout: Duration) -> String? {
        let overall: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .writeTimeout]
        let connecting: [HTTPClientError] = [.connectTimeout, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout]
        if overall.contains(error) { return "timed out after \(GoDuration.format(timeout))" }
        if connecting.contains(error) { return "timed out connecting (\(error))" }
        return nil
    }
}

/// `exec:COMMAND`: run by /bin/sh with the payload on standard input; exit 0 is success.
/// After `timeout` the command's process group is stopped and the hook fails as timed out.
enum CommandHook {
    static func run(_ command: String, input: Data, timeout: Duration) async throws {
        var child = ChildProcess.shell(command, timeout: timeout)
        child.captureOutput = false
        let output: ChildProcess.Output
        do {
            output = try await child.run(input: input)
        } catch {
            switch error {
            case .couldNotStart(let why): throw HookError("could not start: \(why)")
            case .timedOut: throw HookError("timed out after \(GoDuration.format(timeout)) and was killed")
            case .cancelled: throw CancellationError()
            }
        }
        let said = tail(of: output.stderr)
        if output.signalled { throw HookError("was killed by signal \(output.status)\(said)") }
        guard output.status == 0 else { throw HookError("exited with status \(output.status)\(said)") }
    }

    /// The end of what the command wrote to standard error, on one line, without credentials in
    /// URLs: ": <text>", or "" when it wrote nothing.
    static func tail(of data: Data, limit: Int = 500) -> String {
        guard !data.isEmpty else { return "" }
        let text = String(decoding: data.suffix(limit), as: UTF8.self)
            .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: " | ")
        return text.isEmpty ? "" : ": " + CredentialRedaction.redact(text)
    }
}

struct HookError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
