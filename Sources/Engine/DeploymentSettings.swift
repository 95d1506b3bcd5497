import CloudModel
import Foundation

/// Where a hook runs in a deployment.
public enum HookPoint: String, Sendable, Codable, CaseIterable {
    /// Once the new tasks are healthy, before any traffic moves to them; a failure rolls back.
    case preTraffic = "pre_traffic"
    /// After each traffic shift; a failure rolls back.
    case postShift = "post_shift"
    /// After success; a failure is reported only.
    case postSuccess = "post_success"
    /// After a rollback; a failure is reported only.
    case postRollback = "post_rollback"
}

/// The settings a deployment runs with. The server's config.yaml gives the defaults; a
/// deployment's `-config` overrides any of them by key. Both go through `apply(key:value:)`,
/// so a key means the same in both places.
public struct DeploymentSettings: Sendable, Equatable, Codable {
    /// How long any one stage may wait (for the service to be stable, tasks to be healthy,
    /// weights to show, a task set to drain) before the deployment is rolled back (`timeout`).
    public var timeout: Duration = .seconds(600)
    /// How often the cloud is polled while waiting (`poll_interval`).
    public var pollInterval: Duration = .seconds(3)
    /// Canary traffic percentages, ascending, ending at 100 (`canary_stages`).
    public var canaryStages: [Int] = [10, 25, 50, 100]
    /// How long each canary stage holds its traffic while health is watched (`stage_timeout`).
    public var stageTimeout: Duration = .seconds(300)
    /// Blue-green: how long 100% of traffic on green is watched before green is made primary.
    public var stabilizationTime: Duration = .seconds(30)
    /// Blue-green: how long blue is kept (one traffic switch away) before it is deleted.
    public var cleanupDelay: Duration = .seconds(60)
    /// Rolling: percent of the tasks replaced per batch (`batch_size`).
    public var batchSize: Int = 25
    /// Rolling: wait between batches, with health watched (`batch_delay`).
    public var batchDelay: Duration = .seconds(60)
    /// Wait in PENDING_APPROVAL before touching anything (`require_approval`).
    public var requireApproval = false
    /// Reject automatically when not approved in time (`approval_timeout`; nil: wait forever).
    public var approvalTimeout: Duration?
    /// Extra health check polled during bake stages (`health_check_url`).
    public var healthCheckURL: String?
    public var healthCheckStatus = 200
    public var healthCheckInterval: Duration = .seconds(10)
    /// The target group that receives the new version's traffic, when the listener's forward
    /// action does not name a second one (`canary_target_group`).
    public var canaryTargetGroup: String?
    /// Refuse to start when the service drifted from its last deployment (`fail_on_drift`).
    public var failOnDrift = false
    /// Hooks by point: the name of a hook defined in the server's config
    /// (`strategy.hooks.definitions`), or (from the server's config only) an http(s) URL (POST
    /// of a JSON payload) or `exec:COMMAND`.
    public var hooks: [HookPoint: String] = [:]
    public var hookTimeout: Duration = .seconds(30)
    /// CloudWatch alarms watched during every bake: one in ALARM fails the bake and the
    /// deployment rolls back (`alarms`, names separated by commas). Optional in stored records
    /// (those written before it existed have none).
    public var alarmNames: [String]?

    /// The alarms watched during bakes.
    public var alarms: [String] { alarmNames ?? [] }
    /// Metric templates (`analysis.templates` in config.yaml) judged during every bake
    /// (`analysis`, names separated by commas). Optional in stored records.
    public var analysisNames: [String]?
    public var analysis: [String] { analysisNames ?? [] }
    /// Quicksync: watch the new revision this long once it takes all the traffic, as a bake
    /// (`post_deploy_watch`; zero: no watch). Optional in stored records.
    public var postDeployWatchTime: Duration?
    public var postDeployWatch: Duration { postDeployWatchTime ?? .zero }
    /// Over a limit (`limits:` in config.yaml), wait in the queue rather than be refused
    /// (`queue`). Optional in stored records.
    public var queueWhenLimited: Bool?
    /// Not before then (`start_at`, or the client's `-at`): accepted now, started then.
    public var startAt: Date?
    /// Outside its deploy window: wait for one to open (the default), or be refused at once
    /// (`wait_window: false`, the client's `-no-wait-window`).
    public var waitForWindow: Bool?

    // ECS's own blue/green, linear and canary (a service with the ECS controller and a load
    // balancer's advancedConfiguration). Optional in stored records; see `NativeStrategy`.
    /// Canary: the share of production traffic during the canary's bake (`canary_percent`).
    public var canaryPercent: Double?
    /// Canary: how long the canary bakes before all traffic moves (`canary_bake`).
    public var canaryBake: Duration?
    /// Linear: the share added at each step (`linear_step_percent`), and the wait between steps (`linear_step_bake`).
    public var linearStepPercent: Double?
    public var linearStepBake: Duration?
    /// How long ECS keeps the previous revision once all traffic has moved (`bake_time`).
    public var bakeTime: Duration?
    /// Where an ECS-run deployment waits for approval (a PAUSE lifecycle hook): one of
    /// `NativeStrategy.approvalStages` (`approve_at`).
    public var approveAt: String?

    public init() {}

    /// Applies `-config` keys on top of these settings.
    public func applying(_ overrides: [String: String]) throws -> DeploymentSettings {
        var copy = self
        for key in overrides.keys.sorted() { try copy.apply(key: key, value: overrides[key]!) }
        return copy
    }

    public static var knownKeys: [String] { keys.keys.sorted() }

    public mutating func apply(key: String, value: String) throws {
        guard let apply = Self.keys[key] else {
            throw EngineError.invalid("config.\(key)", "unknown key (known keys: \(Self.knownKeys.joined(separator: ", ")))")
        }
        try apply(&self, value, "config.\(key)")
    }

    typealias Setter = @Sendable (inout DeploymentSettings, String, String) throws -> Void

    static let keys: [String: Setter] = {
        var k: [String: Setter] = [
            "timeout": { s, v, f in s.timeout = try duration(f, v) },
            "poll_interval": { s, v, f in s.pollInterval = try duration(f, v) },
            "canary_stages": { s, v, f in s.canaryStages = try stages(f, v) },
            "stage_timeout": { s, v, f in s.stageTimeout = try duration(f, v) },
            "stabilization_time": { s, v, f in s.stabilizationTime = try duration(f, v, allowZero: true) },
            "cleanup_delay": { s, v, f in s.cleanupDelay = try duration(f, v, allowZero: true) },
            "batch_size": { s, v, f in s.batchSize = try percent(f, v) },
            "batch_delay": { s, v, f in s.batchDelay = try duration(f, v, allowZero: true) },
            "require_approval": { s, v, f in s.requireApproval = try bool(f, v) },
            "approval_timeout": { s, v, f in s.approvalTimeout = try duration(f, v) },
            "health_check_url": { s, v, f in s.healthCheckURL = try url(f, v) },
            "health_check_status": { s, v, f in s.healthCheckStatus = try int(f, v, 100...599) },
            "health_check_interval": { s, v, f in s.healthCheckInterval = try duration(f, v) },
            "canary_target_group": { s, v, f in s.canaryTargetGroup = try nonEmpty(f, v) },
            "fail_on_drift": { s, v, f in s.failOnDrift = try bool(f, v) },
            "hook_timeout": { s, v, f in s.hookTimeout = try duration(f, v) },
            "alarms": { s, v, f in s.alarmNames = try alarmNames(f, v) },
            "post_deploy_watch": { s, v, f in s.postDeployWatchTime = try duration(f, v, allowZero: true) },
            "analysis": { s, v, f in s.analysisNames = try names(f, v) },
            "queue": { s, v, f in s.queueWhenLimited = try bool(f, v) },
            "start_at": { s, v, f in s.startAt = try instant(f, v) },
            "wait_window": { s, v, f in s.waitForWindow = try bool(f, v) },
            "canary_percent": { s, v, f in s.canaryPercent = try tenths(f, v, 0.1...100) },
            "canary_bake": { s, v, f in s.canaryBake = try minutes(f, v) },
            "linear_step_percent": { s, v, f in s.linearStepPercent = try tenths(f, v, 3...100) },
            "linear_step_bake": { s, v, f in s.linearStepBake = try minutes(f, v) },
            "bake_time": { s, v, f in s.bakeTime = try minutes(f, v) },
            "approve_at": { s, v, f in s.approveAt = try approvalStage(f, v) },
        ]
        for point in HookPoint.allCases {
            k["hook_\(point.rawValue)"] = { s, v, f in s.hooks[point] = try hook(f, v) }
        }
        return k
    }()

    // MARK: Readers (each names the key in its error)

    static func duration(_ f: String, _ v: String, allowZero: Bool = false) throws -> Duration {
        guard let d = GoDuration.parse(v), allowZero ? d >= .zero : d > .zero else {
            throw EngineError.invalid(f, "'\(v.prefix(64))' is not \(GoDuration.expected)")
        }
        return d
    }

    static func bool(_ f: String, _ v: String) throws -> Bool {
        switch v.lowercased() {
        case "true", "yes", "1": return true
        case "false", "no", "0": return false
        default: throw EngineError.invalid(f, "'\(v)' is not true or false")
        }
    }

    static func int(_ f: String, _ v: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let i = Int(v.trimmingCharacters(in: .whitespaces)), range.contains(i) else {
            throw EngineError.invalid(f, "'\(v)' is not a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return i
    }

    /// A percentage in `range` in steps of 0.1, as ECS takes them ("12.5", "10%").
    static func tenths(_ f: String, _ v: String, _ range: ClosedRange<Double>) throws -> Double {
        let text = v.trimmingCharacters(in: .whitespaces)
        guard let p = Double(text.hasSuffix("%") ? String(text.dropLast()) : text), p.isFinite, range.contains(p),
              abs(p * 10 - (p * 10).rounded()) < 1e-6 else {
            throw EngineError.invalid(f, "'\(v.prefix(64))' is not a percentage from \(range.lowerBound) to \(range.upperBound) in steps of 0.1")
        }
        return (p * 10).rounded() / 10
    }

    /// A duration of whole minutes from 0 to 24 hours: ECS takes bake times in minutes.
    static func minutes(_ f: String, _ v: String) throws -> Duration {
        let d = try duration(f, v, allowZero: true)
        let seconds = d.seconds
        guard seconds <= 86400, seconds.truncatingRemainder(dividingBy: 60) == 0 else {
            throw EngineError.invalid(f, "'\(v.prefix(64))': ECS takes whole minutes from 0m to 24h (e.g. 5m)")
        }
        return d
    }

    /// A lifecycle stage where ECS may pause for approval ("post_test_traffic_shift" or
    /// "POST_TEST_TRAFFIC_SHIFT").
    static func approvalStage(_ f: String, _ v: String) throws -> String {
        let stage = v.trimmingCharacters(in: .whitespaces).uppercased().replacingOccurrences(of: "-", with: "_")
        guard NativeStrategy.approvalStages.contains(stage) else {
            throw EngineError.invalid(f, "'\(v.prefix(64))' is not a stage ECS can pause at (\(NativeStrategy.approvalStages.map { $0.lowercased() }.joined(separator: ", ")))")
        }
        return stage
    }

    static func percent(_ f: String, _ v: String) throws -> Int {
        try int(f, v.hasSuffix("%") ? String(v.dropLast()) : v, 1...100)
    }

    /// "10,25,50,100": ascending, each 1...100, ending at 100.
    static func stages(_ f: String, _ v: String) throws -> [Int] {
        let parts = v.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [Int] = []
        for p in parts {
            guard let i = Int(p), (1...100).contains(i) else {
                throw EngineError.invalid(f, "'\(p)' is not a percentage in 1...100 (e.g. \"10,25,50,100\")")
            }
            if let last = out.last, i <= last {
                throw EngineError.invalid(f, "stages must ascend: \(i) comes after \(last)")
            }
            out.append(i)
        }
        guard out.last == 100 else { throw EngineError.invalid(f, "the last stage must be 100, not \(out.last ?? 0)") }
        return out
    }

    static func url(_ f: String, _ v: String) throws -> String {
        let shown = CredentialRedaction.redact(String(v.prefix(256)))
        guard let u = URLComponents(string: v), ["http", "https"].contains(u.scheme ?? ""), let host = u.host, !host.isEmpty else {
            throw EngineError.invalid(f, "'\(shown)' is not an http(s) URL")
        }
        if let port = u.port, !(1...65535).contains(port) {
            throw EngineError.invalid(f, "'\(shown)': port \(port) is not in 1...65535")
        }
        return v
    }

    /// "error-rate, latency": names of templates (letters, digits, - _ .).
    static func names(_ f: String, _ v: String) throws -> [String] {
        let names = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for name in names where !isHookName(name) {
            throw EngineError.invalid(f, "'\(name.prefix(64))' is not a template name (letters, digits, - _ .)")
        }
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }

    /// "web-5xx, web-latency": CloudWatch alarm names (1 to 255 characters each, at most 100);
    /// empty: none.
    static func alarmNames(_ f: String, _ v: String) throws -> [String] {
        let names = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard names.count <= 100 else { throw EngineError.invalid(f, "at most 100 alarms, not \(names.count)") }
        for name in names where name.count > 255 || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw EngineError.invalid(f, "'\(name.prefix(64))' is not a CloudWatch alarm name (1 to 255 characters, no control characters)")
        }
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }

    /// `2026-12-24T02:00:00Z`, `2026-12-24T11:00:00+09:00`, or a local time and a time zone:
    /// `2026-12-24T11:00:00 Asia/Tokyo` (seconds optional).
    /// A time as `start_at`, `-at` and a manifest's `schedule` take it; the error names `f`.
    public static func instant(_ f: String, _ v: String) throws -> Date {
        let text = v.trimmingCharacters(in: .whitespaces)
        let expected = "is not a time: 2026-12-24T02:00:00Z, 2026-12-24T11:00:00+09:00 or 2026-12-24T11:00:00 Asia/Tokyo"
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        if parts.count == 2 {
            let local = { (zone: TimeZone) -> Date? in
                formatter.timeZone = zone
                for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm"] {
                    formatter.dateFormat = format
                    if let date = formatter.date(from: parts[0]) { return date }
                }
                return nil
            }
            if local(TimeZone(identifier: "UTC")!) != nil {
                guard let zone = TimeZone(identifier: parts[1]), let date = local(zone) else {
                    throw EngineError.invalid(f, "'\(String(v.prefix(64)))': no time zone \(parts[1].prefix(40))")
                }
                return date
            }
        } else {
            let iso = ISO8601DateFormatter()
            if let date = iso.date(from: text) { return date }
            iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = iso.date(from: text) { return date }
        }
        throw EngineError.invalid(f, "'\(String(v.prefix(64)))' \(expected)")
    }

    static func nonEmpty(_ f: String, _ v: String) throws -> String {
        guard !v.trimmingCharacters(in: .whitespaces).isEmpty else { throw EngineError.invalid(f, "must not be empty") }
        return v
    }

    /// A hook's name (`smoke`) or target (`exec:...`, an http(s) URL).
    static func hook(_ f: String, _ v: String) throws -> String {
        isHookName(v) ? v : try hookTarget(f, v)
    }

    /// A name of `strategy.hooks.definitions`: 1 to 64 letters, digits, `-`, `_`, `.`.
    public static func isHookName(_ v: String) -> Bool {
        !v.isEmpty && v.count <= 64
            && v.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || "-_.".unicodeScalars.contains($0) }
    }

    /// `exec:COMMAND` or an http(s) URL.
    public static func hookTarget(_ f: String, _ v: String) throws -> String {
        if v.hasPrefix("exec:") {
            guard v.count > 5 else { throw EngineError.invalid(f, "exec: needs a command") }
            return v
        }
        return try url(f, v)
    }
}
