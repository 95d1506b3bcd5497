import AsyncHTTPClient
import Engine
import Foundation
import NIOCore
import NIOHTTP1

/// Hooks and custom health checks over HTTP (AsyncHTTPClient), and `exec:` hooks as local
/// commands.
struct NetworkHooks: HookRunner, HealthProbe {
    let client: HTTPClient

    func run(_ target: String, payload: HookPayload, timeout: Duration) async throws {
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
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
        _ = try? await response.body.collect(upTo: 64 * 1024)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw HookError("answered HTTP \(response.status.code)")
        }
    }

    func status(of url: String, timeout: Duration) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
        _ = try? await response.body.collect(upTo: 64 * 1024)
        return Int(response.status.code)
    }
}

/// `exec:COMMAND`: run by /bin/sh with the payload on standard input; exit 0 is success.
enum CommandHook {
    static func run(_ command: String, input: Data, timeout: Duration) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: HookError("could not start: \(error)"))
                return
            }
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
            let pid = process.processIdentifier
            Task.detached {
                try? await Task.sleep(for: timeout)
                if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
            }
        }
        guard status == 0 else { throw HookError("exited with status \(status)") }
    }
}

struct HookError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
