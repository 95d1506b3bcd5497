import Foundation
import Notify

/// `notifications:` in config.yaml: the routes and how they are delivered.
public struct NotificationConfig: Sendable, Equatable {
    public var routes: [NotificationRoute] = []
    public var settings = NotificationSettings()

    public init() {}

    /// Reads the section. A route's URL and signing secret are given in the file (`url`,
    /// `secret`) or named by an environment variable (`url_env`, `secret_env`): they are
    /// secrets, never shown back in an error.
    static func parse(_ n: ConfigObject, environment: [String: String]) throws -> NotificationConfig {
        try n.only(["routes", "queue_size", "max_attempts", "retry_delay", "max_retry_delay", "timeout"])
        var config = NotificationConfig()
        config.settings.queueSize = try n.int("queue_size", min: 1, max: 1_000_000) ?? config.settings.queueSize
        config.settings.maxAttempts = try n.int("max_attempts", min: 1, max: 100) ?? config.settings.maxAttempts
        config.settings.retryDelay = try n.duration("retry_delay") ?? config.settings.retryDelay
        config.settings.maxRetryDelay = try n.duration("max_retry_delay") ?? config.settings.maxRetryDelay
        config.settings.timeout = try n.duration("timeout") ?? config.settings.timeout
        var names: Set<String> = []
        for r in try n.objects("routes") ?? [] {
            try r.only(["name", "sink", "url", "url_env", "secret", "secret_env", "topic_arn", "events", "match", "kinds"])
            guard let name = try r.string("name"), !name.isEmpty else { throw r.failure("name", "is required") }
            guard names.insert(name).inserted else { throw r.failure("name", "'\(name)' names two routes") }
            let sink: NotificationSink
            switch try r.string("sink") {
            case "slack": sink = .slack(url: try url(r, environment: environment))
            case "teams": sink = .teams(url: try url(r, environment: environment))
            case "webhook": sink = .webhook(url: try url(r, environment: environment), secret: try r.secret("secret", environment: environment))
            case "sns":
                guard let arn = try r.string("topic_arn") else { throw r.failure("topic_arn", "is required for an sns route") }
                let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 6, parts[0] == "arn", parts[2] == "sns", !parts[5].isEmpty else {
                    throw r.failure("topic_arn", "'\(arn.prefix(256))' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
                }
                sink = .sns(topicArn: arn)
            case let other:
                throw r.failure("sink", other.map { "'\($0)' is not slack, teams, webhook or sns" } ?? "is required (slack, teams, webhook or sns)")
            }
            var route = NotificationRoute(name: name, sink: sink)
            for event in try r.strings("events") ?? [] {
                guard let known = NotificationEvent(rawValue: event) else {
                    throw r.failure("events", "'\(event)' is not one of \(NotificationEvent.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                route.events.insert(known)
            }
            if let kinds = try r.strings("kinds") {
                route.kinds = try Set(kinds.map { kind in
                    guard let known = NoticeSubject.Kind(rawValue: kind) else { throw r.failure("kinds", "'\(kind)' is not deployment or release") }
                    return known
                })
            }
            if let m = try r.objectIfPresent("match") {
                try m.only(["cluster", "service", "strategy"])
                route.cluster = try m.string("cluster")
                route.service = try m.string("service")
                route.strategy = try m.string("strategy")
            }
            config.routes.append(route)
        }
        return config
    }

    /// The route's `url` (or `url_env`): an http(s) URL, never shown back.
    private static func url(_ r: ConfigObject, environment: [String: String]) throws -> String {
        guard let url = try r.secret("url", environment: environment) else {
            throw r.failure("url", "is required (or url_env, the environment variable that holds it)")
        }
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil else {
            throw r.failure("url", "is not an http(s) URL")
        }
        return url
    }
}
