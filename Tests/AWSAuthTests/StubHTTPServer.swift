import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A request the stub server received.
struct StubRequest: Sendable {
    var method: String
    var uri: String
    var headers: [(String, String)]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// What the stub server answers.
struct StubResponse: Sendable {
    var status: Int
    var body: String

    static func ok(_ body: String) -> StubResponse { StubResponse(status: 200, body: body) }
    static let notFound = StubResponse(status: 404, body: "")
}

/// A small HTTP/1.1 server on 127.0.0.1, on a port the system picks, answering each request
/// with `respond` and recording it. One request per connection (it answers with
/// `Connection: close`). Tests start it and stop it.
final class StubHTTPServer: Sendable {
    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    private let serverChannel: NIOAsyncChannel<Connection, Never>
    private let serving: Task<Void, Never>
    private let log: RequestLog
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var requests: [StubRequest] { log.all }

    private init(serverChannel: NIOAsyncChannel<Connection, Never>, serving: Task<Void, Never>,
                 log: RequestLog, port: Int) {
        self.serverChannel = serverChannel
        self.serving = serving
        self.log = log
        self.port = port
    }

    static func start(_ respond: @escaping @Sendable (StubRequest) -> StubResponse) async throws -> StubHTTPServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: child)
                }
            }
        let log = RequestLog()
        let serving = Task<Void, Never> {
            _ = try? await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await serve(connection, log: log, respond: respond) }
                    }
                }
            }
        }
        return StubHTTPServer(serverChannel: channel, serving: serving, log: log,
                              port: channel.channel.localAddress?.port ?? 0)
    }

    /// Closes the listening socket and every open connection, and waits until all is done.
    func stop() async {
        try? await serverChannel.channel.close()
        serving.cancel()
        await serving.value
    }

    private static func serve(_ connection: Connection, log: RequestLog,
                              respond: @Sendable (StubRequest) -> StubResponse) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let received):
                    head = received
                case .body:
                    continue
                case .end:
                    guard let head else { return }
                    let request = StubRequest(method: head.method.rawValue, uri: head.uri,
                                              headers: head.headers.map { ($0.name, $0.value) })
                    log.append(request)
                    let response = respond(request)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/json")
                    headers.add(name: "Content-Length", value: "\(response.body.utf8.count)")
                    headers.add(name: "Connection", value: "close")
                    let status = HTTPResponseStatus(statusCode: response.status)
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: response.body))))
                    try await outbound.write(.end(nil))
                    return
                }
            }
        }
    }
}

/// The requests a stub server received, shared by its serving task and the tests.
private final class RequestLog: Sendable {
    private let items = Mutex<[StubRequest]>([])
    func append(_ request: StubRequest) { items.withLock { $0.append(request) } }
    var all: [StubRequest] { items.withLock { $0 } }
}
