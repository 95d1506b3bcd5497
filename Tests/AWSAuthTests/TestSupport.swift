import AWSAuth
import AsyncHTTPClient
import Foundation
import Logging
import Synchronization

/// Where the shared test fixtures live: `Tests/Fixtures`, found from this file's path.
enum Fixtures {
    static var root: URL {
        var url = URL(fileURLWithPath: #filePath)
        while url.lastPathComponent != "Tests" && url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("Fixtures")
    }
}

/// A directory of its own under the system's temporary directory, removed by `remove()`.
struct TempDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("awsauth-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `contents` to `name` inside the directory; returns the file's path.
    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Secret-looking values the tests plant, to check that none leaks.
enum Planted {
    static let secret = "PLANTEDsecretKEYwJalrXUtnFEMI0000000000"
    static let token = "PLANTEDsessionTOKENIQoJb3JpZ2luX2VjEA000"
    static let webIdentityToken = "PLANTEDeyJhbGciOiJSUzI1NiJ9.webidentity"
    static let containerToken = "PLANTEDcontainerAUTHtoken0000"
    static let imdsToken = "PLANTEDimdsV2sessionTOKEN=="
    static let all = [secret, token, webIdentityToken, containerToken, imdsToken, "PLANTED"]

    static func leaks(in text: String) -> [String] {
        all.filter { text.contains($0) }
    }
}

/// An error whose text repeats what it was given (as a careless STS client might).
struct EchoingError: Error, CustomStringConvertible {
    var text: String
    var description: String { "AccessDenied: \(text)" }
}

/// Runs `body` with a fresh HTTP client, shut down afterwards.
func withHTTPClient<T>(_ body: (HTTPClient) async throws -> T) async throws -> T {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Runs `body` with a started stub server, stopped afterwards.
func withStubServer<T>(_ respond: @escaping @Sendable (StubRequest) -> StubResponse,
                       _ body: (StubHTTPServer) async throws -> T) async throws -> T {
    let server = try await StubHTTPServer.start(respond)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// Every textual form of an error that could reach a log or a user.
func renderings(of error: any Error) -> String {
    var dumped = ""
    dump(error, to: &dumped)
    return ["\(error)", String(reflecting: error), error.localizedDescription, dumped].joined(separator: "\n")
}
