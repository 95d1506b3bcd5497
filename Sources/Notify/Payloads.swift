import CloudModel
import Crypto
import Foundation

/// The HTTP request a sink gets for a notice.
struct NoticeRequest: Sendable {
    var body: [UInt8]
    var headers: [(String, String)]
}

enum Payloads {
    /// The body (and headers) of `notice` for `sink`.
    static func request(_ notice: Notice, for sink: NotificationSink) -> NoticeRequest {
        let json: JSONValue
        switch sink {
        case .slack: json = slack(notice)
        case .teams: json = teams(notice)
        case .webhook, .sns: json = generic(notice)
        }
        let body = encode(json)
        var headers = [("Content-Type", "application/json"), ("User-Agent", "ecs-deploy-notify")]
        if case .webhook(_, let secret?) = sink {
            headers.append(("X-Ecs-Deploy-Signature", signature(of: body, secret: secret)))
        }
        return NoticeRequest(body: body, headers: headers)
    }

    /// `sha256=` and the hex HMAC-SHA256 of the body under the secret (as GitHub's webhooks).
    static func signature(of body: [UInt8], secret: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    static func encode(_ json: JSONValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(json)) ?? Data("{}".utf8))
    }

    /// The facts every message shows, in order: (label, value), empty values left out.
    static func facts(_ notice: Notice) -> [(String, String)] {
        var facts: [(String, String)] = [("Status", notice.status)]
        if !notice.change.isEmpty { facts.append(("Change", notice.change)) }
        if !notice.requestedBy.isEmpty { facts.append(("Requested by", notice.requestedBy)) }
        if let d = notice.duration { facts.append(("Duration", duration(d))) }
        if !notice.error.isEmpty { facts.append(("Error", notice.error)) }
        if notice.detail != notice.error && !notice.detail.isEmpty { facts.append(("Detail", notice.detail)) }
        if let cost = notice.cost { facts.append(("Cost", cost)) }
        if let command = notice.approveCommand { facts.append(("Approve with", command)) }
        return facts
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m\(s % 60)s" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }

    /// Slack incoming webhook: Block Kit (a header, the facts as fields), with `text` as the
    /// notification's fallback.
    static func slack(_ notice: Notice) -> JSONValue {
        let fields: [JSONValue] = facts(notice).map { label, value in
            .object(["type": .string("mrkdwn"), "text": .string("*\(label)*\n\(label == "Approve with" ? "`\(value)`" : value)")])
        }
        var blocks: [JSONValue] = [
            .object(["type": .string("header"), "text": .object(["type": .string("plain_text"), "text": .string(String(notice.headline.prefix(150)))])]),
        ]
        // A section holds at most 10 fields.
        var rest = fields[...]
        while !rest.isEmpty {
            blocks.append(.object(["type": .string("section"), "fields": .array(Array(rest.prefix(10)))]))
            rest = rest.dropFirst(10)
        }
        return .object(["text": .string(notice.headline), "blocks": .array(blocks)])
    }

    /// Teams Workflows webhook: a message with one Adaptive Card (a title, the facts).
    static func teams(_ notice: Notice) -> JSONValue {
        let card: JSONValue = .object([
            "$schema": .string("http://adaptivecards.io/schemas/adaptive-card.json"),
            "type": .string("AdaptiveCard"),
            "version": .string("1.4"),
            "body": .array([
                .object(["type": .string("TextBlock"), "text": .string(notice.headline), "weight": .string("Bolder"),
                         "size": .string("Medium"), "wrap": .bool(true)]),
                .object(["type": .string("FactSet"), "facts": .array(facts(notice).map { label, value in
                    .object(["title": .string(label), "value": .string(value)])
                })]),
            ]),
        ])
        return .object([
            "type": .string("message"),
            "attachments": .array([.object(["contentType": .string("application/vnd.microsoft.card.adaptive"), "content": card])]),
        ])
    }

    /// A generic receiver: the notice's fields as JSON.
    static func generic(_ notice: Notice) -> JSONValue {
        var fields: [String: JSONValue] = [
            "key": .string(notice.key),
            "event": .string(notice.event.rawValue),
            "kind": .string(notice.subject.kind.rawValue),
            "id": .string(notice.subject.id),
            "title": .string(notice.subject.title),
            "status": .string(notice.status),
            "requested_by": .string(notice.requestedBy),
            "change": .string(notice.change),
            "error": .string(notice.error),
            "detail": .string(notice.detail),
            "at": .string(ISO8601DateFormatter().string(from: notice.at)),
            "targets": .array(notice.subject.targets.map {
                .object(["cluster": .string($0.cluster), "service": .string($0.service), "strategy": .string($0.strategy)])
            }),
        ]
        if let d = notice.duration { fields["duration_seconds"] = .number(d.rounded()) }
        if let command = notice.approveCommand { fields["approve_command"] = .string(command) }
        return .object(fields)
    }
}
