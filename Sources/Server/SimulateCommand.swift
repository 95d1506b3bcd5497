import AWSAuth
import AWSCloud
import CloudModel
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Simulator
import UnixSignals

/// `grpc-server simulate [-port N] [-config FILE]`: the simulator that mock mode deploys to,
/// served over HTTP as AWS serves its APIs, so that other tools (the AWS CLI, boto3, this
/// server in AWS mode) can use it with `AWS_ENDPOINT_URL`. ECS and EventBridge (AWS JSON 1.1,
/// `ECSWire`, `EventsWire`), ELBv2 and CloudWatch (Query, `ELBWire`, `CloudWatchWire`) and
/// STS's GetCallerIdentity (Query). The same simulator as mock mode: the
/// `mock:` settings (speed-up, controller, throttles, alarms), failure tags, and its state in
/// `simulator.json` beside `storage.path`. Requests are not authenticated.
enum SimulateCommand {
    static let usage = """
        usage: grpc-server simulate [-port N] [-config FILE] [-seed]
          -port N        the HTTP port (default 4566, the port local AWS emulators use; 0: any free port)
          -seed          add the demo estate: cluster demo with web and api (ECS controller), shop
                         (EXTERNAL, behind shop-alb) and the scheduled task nightly-report
          -config FILE   config.yaml: server.host, storage.path (the simulator's state beside it), mock.*
        """

    static func main(_ arguments: [String], environment: [String: String]) async -> Int32 {
        var requested = 4566
        var seed = false
        var configPath = environment["CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        var args = arguments[...]
        while let arg = args.popFirst() {
            switch arg {
            case "-port", "--port":
                guard let value = args.popFirst(), let n = Int(value), (0...65535).contains(n) else {
                    return ServerCommand.fail("-port needs a port number from 0 to 65535\n\(usage)")
                }
                requested = n
            case "-config", "--config":
                guard let path = args.popFirst() else { return ServerCommand.fail("-config needs a file path") }
                configPath = path
            case "-seed", "--seed":
                seed = true
            case "-h", "-help", "--help":
                print(usage)
                return 0
            default:
                return ServerCommand.fail("unknown argument '\(arg)'\n\(usage)")
            }
        }
        if configPath == nil, FileManager.default.fileExists(atPath: "config.yaml") { configPath = "config.yaml" }
        let config: ServerConfig
        do { config = try ServerConfig.load(path: configPath, environment: environment) } catch {
            return ServerCommand.fail("\(error)")
        }
        ServerCommand.bootstrapLogging(config.logLevel)
        let logger = Logger(label: "ecs-deploy.simulate")
        let (simulator, description) = ServerCommand.makeSimulator(config, logger: logger, awsTimings: true)
        if seed {
            do { try simulator.seedEstate() } catch { return ServerCommand.fail("-seed: \(error)") }
        }
        var verifier: SigV4Verifier?
        if let key = config.mockCredentials {
            guard let secret = try? String(contentsOfFile: key.secretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                  !secret.isEmpty else {
                return ServerCommand.fail("mock.credentials.secret_access_key_file: \(key.secretFile) cannot be read, or is empty")
            }
            verifier = SigV4Verifier(secrets: [key.accessKeyID: secret])
        }
        let endpoint = SimulatedEndpoint(simulator: simulator, logger: logger, timeoutHold: config.mockTimeoutHold, verifier: verifier)
        let port = requested
        let app = Application(
            router: endpoint.router(),
            configuration: .init(address: .hostname(config.host, port: port), serverName: "ecs-deploy-simulator"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                logger.info("simulated AWS endpoint listening on http://\(config.host):\(bound) (ECS, ELBv2, EventBridge, CloudWatch, STS); \(description)")
            },
            logger: logger)
        var group = ServiceGroupConfiguration(services: [.init(service: app)], logger: logger)
        group.gracefulShutdownSignals = [UnixSignal.sigterm, UnixSignal.sigint]
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            simulator.flushStateFile()
            return ServerCommand.fail("\(ServerStartError.portInUse(error, what: "simulator", port: port, key: "-port"))")
        }
        simulator.flushStateFile()
        logger.info("stopped")
        return 0
    }
}

/// The simulator's HTTP face: one `POST /` for every API, told apart as AWS's SDKs send them:
/// `X-Amz-Target` for JSON protocols (ECS, EventBridge), a form's `Action` for Query ones
/// (ELBv2, CloudWatch, STS).
///
/// `GET /_simulator/stats` answers what the simulator has seen (JSON): its simulated time, the
/// calls by `service:Operation`, how many were throttled, the faults injected by kind
/// (`mock.api_faults`) and any traffic sent to a target group with nothing live behind it.
struct SimulatedEndpoint: Sendable {
    let simulator: SimulatedCloud
    let logger: Logger
    /// How long a call that times out (`mock.api_faults.timeout`) is held before its connection
    /// is dropped.
    let timeoutHold: Duration
    /// Checks each request's SigV4 signature (`mock.credentials`); nil: any is accepted.
    var verifier: SigV4Verifier?
    /// A request body larger than this is refused (AWS's own limits are smaller).
    static let maximumBody = 4 << 20

    var cloud: Cloud { simulator.cloud }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/") { request, _ -> Response in await self.answer(request) }
        router.get("/_simulator/stats") { _, _ -> Response in Self.json(status: .ok, self.stats()) }
        return router
    }

    func stats() -> [String: JSONValue] {
        func counts(_ map: [String: Int]) -> JSONValue { .object(map.mapValues { .number(Double($0)) }) }
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return ["now": .string(format.string(from: simulator.clock.now())),
                "calls": counts(simulator.callCounts), "throttled": .number(Double(simulator.throttledCount)),
                "faults": counts(simulator.injectedFaults), "traffic_violations": .array(simulator.trafficViolations.map { .string($0) })]
    }

    /// What a time-out or a reset (`mock.api_faults`) does on the wire: no answer. A time-out
    /// holds the connection first; then the connection is closed mid-answer.
    private func dropped(_ fault: APIFault) async -> Response {
        if fault == .timeout { try? await Task.sleep(for: timeoutHold) }
        return Response(status: .ok, body: ResponseBody { _ in throw DroppedConnection() })
    }

    private struct DroppedConnection: Error {}

    func answer(_ request: Request) async -> Response {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: Self.maximumBody) } catch {
            return Self.json(status: .contentTooLarge, ["__type": .string("RequestEntityTooLargeException"),
                                                        "message": .string("the request body is over \(Self.maximumBody) bytes")])
        }
        let bytes = Data(buffer: body)
        let target = request.headers[.init("X-Amz-Target")!]
        if let verifier {
            var headers = request.headers.map { ($0.name.rawName, $0.value) }
            if let authority = request.head.authority { headers.append(("host", authority)) }
            if let failure = verifier.verify(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                                             headers: headers, body: Array(bytes)) {
                logger.info("refused a request: \(failure)")
                return Self.refusal(failure, json: target != nil)
            }
        }
        if let target {
            return await json(target: target, body: bytes)
        }
        return await query(body: bytes)
    }

    // MARK: AWS JSON 1.1

    private func json(target: String, body: Data) async -> Response {
        let prefix = [ECSWire.targetPrefix, EventsWire.targetPrefix].first { target.hasPrefix($0) }
        guard let prefix else { return Self.jsonError(ECSWire.unknown(target)) }
        let operation = String(target.dropFirst(prefix.count).prefix(100))
        let input: JSONValue
        do { input = body.isEmpty ? .object([:]) : try JSONDecoder().decode(JSONValue.self, from: body) } catch {
            return Self.jsonError(CloudError(code: "SerializationException", message: "the request body is not JSON"))
        }
        do {
            let answer: JSONValue
            if prefix == EventsWire.targetPrefix {
                let simulator = self.simulator
                answer = try await EventsWire(events: cloud.events,
                                              putRule: { name, schedule, state in
                                                  try await simulator.throughCloud("events", "PutRule") {
                                                      try simulator.putRule(name: name, scheduleExpression: schedule, state: state)
                                                  }
                                              },
                                              listRules: { prefix in
                                                  try await simulator.throughCloud("events", "ListRules") { try simulator.listRules(prefix: prefix) }
                                              }).call(operation, input)
            } else {
                answer = try await ECSWire(ecs: cloud.ecs, deregister: { try await simulator.deregisterThroughCloud($0) }).call(operation, input)
            }
            return Self.json(status: .ok, answer.objectValue ?? [:])
        } catch let error as CloudError {
            if let fault = APIFault.transportFault(error) { return await dropped(fault) }
            return Self.jsonError(error)
        } catch {
            logger.error("ecs:\(operation): \(error)")
            return Self.jsonError(CloudError(code: "ServerException", message: "the simulator failed", httpStatus: 500))
        }
    }

    /// A signature refused, as the JSON and the Query services say it.
    static func refusal(_ failure: SigV4Verifier.Failure, json: Bool) -> Response {
        let code = switch (failure, json) {
        case (.unknownKey, true): "UnrecognizedClientException"
        case (.unknownKey, false): "InvalidClientTokenId"
        case (_, true): "InvalidSignatureException"
        case (_, false): "SignatureDoesNotMatch"
        }
        let error = CloudError(code: code, message: failure.description, httpStatus: json ? 400 : 403)
        return json ? jsonError(error) : xmlError(error, namespace: stsNamespace)
    }

    static func json(status: HTTPResponse.Status, _ fields: [String: JSONValue]) -> Response {
        let data = (try? JSONEncoder().encode(JSONValue.object(fields))) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/x-amz-json-1.1", .init("x-amzn-RequestId")!: UUID().uuidString],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func jsonError(_ error: CloudError) -> Response {
        json(status: .init(code: error.httpStatus >= 400 ? error.httpStatus : 400),
             ["__type": .string(error.code), "message": .string(error.message)])
    }

    // MARK: Query (STS, ELBv2)

    static let stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

    private func query(body: Data) async -> Response {
        let form = Self.form(String(decoding: body, as: UTF8.self))
        let action = form["Action"] ?? ""
        let namespace = ELBWire.operations.contains(action) ? ELBWire.namespace
            : CloudWatchWire.operations.contains(action) ? CloudWatchWire.namespace : Self.stsNamespace
        do {
            if ELBWire.operations.contains(action) {
                return Self.xml(status: .ok, try await ELBWire(elb: cloud.elb).call(action, form))
            }
            if CloudWatchWire.operations.contains(action) {
                return Self.xml(status: .ok, try await CloudWatchWire(cloudWatch: cloud.cloudWatch).call(action, form))
            }
            guard action == "GetCallerIdentity" else {
                let what = action.isEmpty ? "the request names no Action (nor an X-Amz-Target header)"
                    : "\(action.prefix(100)) is not served by this endpoint"
                throw CloudError(code: "InvalidAction", message: what)
            }
            let me = try await cloud.identity.getCallerIdentity()
            return Self.xml(status: .ok, XML.document(action, namespace: namespace, result: [
                .text("Arn", me.arn), .text("UserId", me.userId), .text("Account", me.account),
            ]))
        } catch let error as CloudError {
            if let fault = APIFault.transportFault(error) { return await dropped(fault) }
            return Self.xmlError(error, namespace: namespace)
        } catch {
            logger.error("\(action.prefix(100)): \(error)")
            return Self.xmlError(CloudError(code: "InternalFailure", message: "the simulator failed", httpStatus: 500), namespace: namespace)
        }
    }

    /// A form body's fields (`a=1&b=x%20y`).
    static func form(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            fields[decoded(parts[0])] = parts.count > 1 ? decoded(parts[1]) : ""
        }
        return fields
    }

    static func xml(status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/xml", .init("x-amzn-RequestId")!: UUID().uuidString],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func xmlError(_ error: CloudError, namespace: String) -> Response {
        xml(status: .init(code: error.httpStatus >= 400 ? error.httpStatus : 400),
            XML.error(code: error.code, message: error.message, namespace: namespace))
    }
}
