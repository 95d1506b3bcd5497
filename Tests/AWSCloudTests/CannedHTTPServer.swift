import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A loopback HTTP server answering each request with the next canned response (or never,
/// with `silent`), for transport tests.
final class CannedHTTPServer: Sendable {
    struct Canned: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: String
    }

    private let channel: any Channel
    private let box: Box
    let port: Int

    /// Requests answered so far.
    var requestCount: Int { box.answered }
    /// The requests received: headers and body.
    var requests: [(headers: [(String, String)], body: String)] { box.received }

    private init(channel: any Channel, box: Box) {
        self.channel = channel
        self.box = box
        self.port = channel.localAddress?.port ?? 0
    }

    static func start(responses: [Canned], silent: Bool = false) async throws -> CannedHTTPServer {
        let box = Box(responses)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                if silent { return channel.eventLoop.makeSucceededVoidFuture() }
                return channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(Responder(box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return CannedHTTPServer(channel: channel, box: box)
    }

    func stop() async { try? await channel.close() }

    /// Hands the canned responses out, one per request.
    final class Box: Sendable {
        private let state: Mutex<(responses: [Canned], answered: Int)>
        private let requests = Mutex<[(headers: [(String, String)], body: String)]>([])
        init(_ responses: [Canned]) { state = Mutex((responses, 0)) }
        var answered: Int { state.withLock { $0.answered } }
        var received: [(headers: [(String, String)], body: String)] { requests.withLock { $0 } }
        func record(_ headers: [(String, String)], _ body: String) { requests.withLock { $0.append((headers, body)) } }
        func next() -> Canned {
            state.withLock { s in
                s.answered += 1
                return s.responses.isEmpty ? Canned(status: 500, headers: [], body: "no canned answer left") : s.responses.removeFirst()
            }
        }
    }

    final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let box: Box
        private var headers: [(String, String)] = []
        private var body = ""
        init(box: Box) { self.box = box }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                headers = head.headers.map { ($0.name, $0.value) }
                body = ""
                return
            case .body(let buffer):
                body += String(buffer: buffer)
                return
            case .end:
                box.record(headers, body)
            }
            let canned = box.next()
            var headers = HTTPHeaders(canned.headers)
            headers.add(name: "Content-Length", value: "\(canned.body.utf8.count)")
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: canned.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: canned.body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
