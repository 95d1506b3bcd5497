import ArgumentParser
import Foundation

/// The client's flags, spelled as in the seed (single dash); `--name` works too.
struct ClientOptions: ParsableArguments {
    static func name(_ n: String) -> NameSpecification { [.customLong(n, withSingleDash: true), .customLong(n)] }

    @Option(name: name("server"), help: "Server address host:port.")
    var server = "localhost:50051"

    @Option(name: name("action"), help: "deploy, status, rollback, approve, reject, list, watch, drift, release, plan or windows.")
    var action = "deploy"

    @Option(name: name("id"), help: "Deployment id (the idempotency key of deploy).")
    var id = ""

    @Option(name: name("cluster"), help: "Cluster name or ARN.")
    var cluster = ""

    @Option(name: name("service"), help: "Service name or ARN.")
    var service = ""

    @Option(name: name("taskdef"), help: "Task definition JSON.")
    var taskdef = ""

    @Option(name: name("strategy"), help: "quicksync (default), canary, bluegreen, rolling or linear.")
    var strategy = "quicksync"

    @Option(name: name("config"), help: "Per-deployment settings as a JSON object, e.g. '{\"timeout\":\"5m\"}'.")
    var config = ""

    @Option(name: name("approver"), help: "Who approves, rejects or rolls back.")
    var approver = ""

    @Option(name: name("reason"), help: "Why (recorded).")
    var reason = ""

    @Option(name: name("status"), help: "list: only deployments with this status (e.g. IN_PROGRESS).")
    var status = ""

    @Option(name: name("limit"), help: "list: at most this many deployments (a page).")
    var limit = 50

    @Option(name: name("since"), help: "list: only deployments created since then: a time (2026-11-01, 2026-11-01T10:00:00Z) or an age (90m, 24h, 30d).")
    var since = ""

    @Option(name: name("until"), help: "list: only deployments created before then (same forms as -since).")
    var until = ""

    @Option(name: name("page"), help: "list: the page to show (the token a previous list printed).")
    var page = ""

    @Option(name: name("file"), help: "release/plan: the deployment.yaml to release.")
    var file = ""

    @Option(name: name("at"), help: "deploy, release: start then, not now: 2026-12-24T02:00:00Z, 2026-12-24T11:00:00+09:00 or '2026-12-24T11:00:00 Asia/Tokyo'.")
    var at = ""

    @Flag(name: name("no-wait-window"), help: "deploy: outside its deploy window, be refused at once rather than wait for one.")
    var noWaitWindow = false

    @Flag(name: name("wait"), help: "deploy/release/rollback: follow progress until it ends.")
    var wait = false

    @Option(name: name("output"), help: "watch and -wait: text (default; on a terminal one live line per stage) or json (one JSON event per line, for CI systems).")
    var output = "text"

    @Flag(name: name("tls"), help: "Connect with TLS.")
    var tls = false

    @Option(name: name("ca"), help: "PEM file of the CA that signed the server's certificate (implies -tls).")
    var ca = ""

    @Option(name: name("token"), help: "API token or OIDC token to present (default: $ECS_DEPLOY_TOKEN).")
    var token = ""

    @Option(name: name("token-file"), help: "File holding the token (for tokens that must not show in the process list).")
    var tokenFile = ""

    @Option(name: name("cert"), help: "PEM client certificate, for a server that requires mTLS (implies -tls; needs -key).")
    var cert = ""

    @Option(name: name("key"), help: "PEM private key of -cert.")
    var key = ""

    @Option(name: name("timeout"), help: "Seconds to wait for the server to answer a call.")
    var timeout = 30.0
}

enum Action: String, CaseIterable {
    case deploy, status, rollback, approve, reject, list, watch, drift, release, plan, windows
}

/// Parses `-config` JSON: an object whose values are strings (numbers and booleans are
/// taken as their text).
enum ConfigArgument {
    private enum Scalar: Decodable {
        case text(String)

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .text(b ? "true" : "false") }
            else if let i = try? c.decode(Int.self) { self = .text(String(i)) }
            else if let d = try? c.decode(Double.self) { self = .text(String(d)) }
            else if let s = try? c.decode(String.self) { self = .text(s) }
            else { throw DecodingError.dataCorruptedError(in: c, debugDescription: "must be a string, number or boolean") }
        }
    }

    static func parse(_ text: String) throws -> [String: String] {
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return [:] }
        do {
            let dict = try JSONDecoder().decode([String: Scalar].self, from: Data(text.utf8))
            return dict.mapValues { if case .text(let s) = $0 { s } else { "" } }
        } catch DecodingError.typeMismatch {
            throw UsageError("-config: must be a JSON object of strings, e.g. '{\"timeout\":\"5m\"}'")
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            throw UsageError("-config: \(context.codingPath.map(\.stringValue).joined(separator: ".")) must be a string, number or boolean")
        } catch {
            throw UsageError("-config: malformed JSON")
        }
    }
}

/// `-since` / `-until`: a date, a date and time (ISO 8601, UTC unless it says otherwise), or an
/// age counted back from now (`90m`, `24h`, `30d`).
enum TimeArgument {
    static func parse(_ text: String, flag: String, now: Date = Date()) throws -> Date {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let unit = t.last, let amount = Double(t.dropLast()), amount >= 0,
           let seconds = ["s": 1.0, "m": 60, "h": 3600, "d": 86400][String(unit)] {
            return now.addingTimeInterval(-amount * seconds)
        }
        let full = ISO8601DateFormatter()
        if let date = full.date(from: t) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = day.date(from: t) { return date }
        throw UsageError("\(flag): '\(text)' is neither a time (2026-11-01 or 2026-11-01T10:00:00Z) nor an age (90m, 24h, 30d)")
    }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
