import Foundation

/// A cron schedule (`minute hour day-of-month month day-of-week`, in a time zone): numbers,
/// `*`, ranges `a-b`, lists `a,b`, steps `*/n` and `a-b/n`; day-of-week 0-7 (0 and 7 are
/// Sunday) or MON..SUN; month 1-12 or JAN..DEC. When both day fields are restricted, a day
/// matching either one matches (as cron does).
public struct CronSchedule: Sendable, Equatable {
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let anyDay: Bool
    let anyWeekday: Bool
    public let timeZone: TimeZone
    /// The zone as configured (Foundation may name UTC "GMT").
    public let timeZoneName: String
    public let text: String

    public init(_ text: String, timeZone: TimeZone, named name: String? = nil) throws {
        timeZoneName = name ?? timeZone.identifier
        let fields = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else { throw CronError("'\(text.prefix(64))' must have 5 fields: minute hour day-of-month month day-of-week") }
        minutes = try Self.field(fields[0], "minute", 0...59)
        hours = try Self.field(fields[1], "hour", 0...23)
        days = try Self.field(fields[2], "day-of-month", 1...31)
        months = try Self.field(fields[3], "month", 1...12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], firstName: 1)
        weekdays = Set(try Self.field(fields[4], "day-of-week", 0...7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], firstName: 0).map { $0 % 7 })
        anyDay = fields[2] == "*"
        anyWeekday = fields[4] == "*"
        self.timeZone = timeZone
        self.text = text
    }

    public struct CronError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private static func field(_ text: String, _ name: String, _ range: ClosedRange<Int>, names: [String] = [], firstName: Int = 0) throws -> Set<Int> {
        func value(_ s: String) throws -> Int {
            if let i = names.firstIndex(of: s.uppercased()) { return i + firstName }
            guard let n = Int(s), range.contains(n) else { throw CronError("\(name) '\(s.prefix(16))' is not in \(range.lowerBound)-\(range.upperBound)") }
            return n
        }
        var out = Set<Int>()
        for part in text.split(separator: ",").map(String.init) {
            let pieces = part.split(separator: "/", maxSplits: 1).map(String.init)
            guard let base = pieces.first, !base.isEmpty else { throw CronError("\(name) '\(text.prefix(16))' is empty") }
            let step = try pieces.count == 2 ? (Int(pieces[1]).flatMap { $0 > 0 ? $0 : nil } ?? { throw CronError("\(name) step '\(pieces[1].prefix(8))' is not a positive number") }()) : 1
            let bounds: ClosedRange<Int>
            if base == "*" {
                bounds = range
            } else if let dash = base.firstIndex(of: "-") {
                let low = try value(String(base[..<dash])), high = try value(String(base[base.index(after: dash)...]))
                guard low <= high else { throw CronError("\(name) range '\(base.prefix(16))' runs backwards") }
                bounds = low...high
            } else {
                let v = try value(base)
                bounds = v...(pieces.count == 2 ? range.upperBound : v)
            }
            out.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return out
    }

    /// The first minute strictly after `date` that the schedule names (nil past some 5 years).
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        guard var t = calendar.date(bySetting: .second, value: 0, of: date.addingTimeInterval(60)) else { return nil }
        if t <= date { t = t.addingTimeInterval(60) }
        let limit = date.addingTimeInterval(5 * 366 * 86400)
        while t < limit {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: t)
            guard let month = c.month, let day = c.day, let hour = c.hour, let minute = c.minute, let weekday = c.weekday else { return nil }
            if !months.contains(month) {
                t = calendar.date(from: DateComponents(year: c.year, month: month + 1, day: 1, hour: 0, minute: 0)) ?? limit
                continue
            }
            let dayMatches: Bool = switch (anyDay, anyWeekday) {
            case (true, true): true
            case (true, false): weekdays.contains(weekday - 1)
            case (false, true): days.contains(day)
            case (false, false): days.contains(day) || weekdays.contains(weekday - 1)
            }
            if !dayMatches {
                t = calendar.date(from: DateComponents(year: c.year, month: month, day: day + 1, hour: 0, minute: 0)) ?? limit
                continue
            }
            if !hours.contains(hour) {
                t = calendar.date(from: DateComponents(year: c.year, month: month, day: day, hour: hour + 1, minute: 0)) ?? limit
                continue
            }
            if !minutes.contains(minute) {
                t = t.addingTimeInterval(60)
                continue
            }
            return t
        }
        return nil
    }
}

/// `windows:` in config.yaml: when deployments may start (Argo CD's sync windows). With no
/// window matching a service, any time; with allow windows matching it, only while one is open;
/// a deny window that is open forbids, whatever the allow windows say.
public struct DeployWindow: Sendable, Equatable {
    public enum Kind: String, Sendable { case allow, deny }

    public var kind: Kind
    /// Opens at each time it names...
    public var schedule: CronSchedule
    /// ...for this long.
    public var duration: Duration
    /// `*` patterns on the cluster and the service (nil: any).
    public var cluster: String?
    public var service: String?
    public var description: String

    public init(kind: Kind, schedule: CronSchedule, duration: Duration, cluster: String? = nil, service: String? = nil, description: String = "") {
        self.kind = kind
        self.schedule = schedule
        self.duration = duration
        self.cluster = cluster
        self.service = service
        self.description = description
    }

    public func matches(cluster c: String, service s: String) -> Bool {
        (cluster.map { Glob.matches($0, c.arnResourceName) } ?? true) && (service.map { Glob.matches($0, s.arnResourceName) } ?? true)
    }

    /// Whether it is open at `t`: it opened at most `duration` ago.
    public func isOpen(at t: Date) -> Bool {
        guard let opened = schedule.next(after: t.addingTimeInterval(-duration.seconds)) else { return false }
        return opened <= t
    }

    /// What people read: "deny 0 18 * * 5 for 63h (Europe/Paris): weekend freeze".
    public var shown: String {
        "\(kind.rawValue) \(schedule.text) for \(GoDuration.format(duration)) (\(schedule.timeZoneName))" + (description.isEmpty ? "" : ": \(description)")
    }
}

/// The windows that apply to one service, and what they allow.
public struct DeployWindows: Sendable, Equatable {
    public var all: [DeployWindow]

    public init(_ all: [DeployWindow] = []) { self.all = all }

    public func applying(cluster: String, service: String) -> [DeployWindow] {
        all.filter { $0.matches(cluster: cluster, service: service) }
    }

    /// nil when a deployment of the service may start at `t`; else why not.
    public static func closed(_ windows: [DeployWindow], at t: Date) -> String? {
        if let deny = windows.first(where: { $0.kind == .deny && $0.isOpen(at: t) }) { return "deny window \(deny.shown) is open" }
        let allows = windows.filter { $0.kind == .allow }
        if !allows.isEmpty, !allows.contains(where: { $0.isOpen(at: t) }) {
            return "outside its allow window" + (allows.count == 1 ? " \(allows[0].shown)" : "s (\(allows.map(\.shown).joined(separator: "; ")))")
        }
        return nil
    }

    /// The first time from `t` (within `horizon`) when a deployment may start: `t` itself, an
    /// allow window's opening or a deny window's closing; nil when none comes.
    public static func nextOpening(_ windows: [DeployWindow], from t: Date, horizon: TimeInterval = 35 * 86400) -> Date? {
        if closed(windows, at: t) == nil { return t }
        var candidates: [Date] = []
        for w in windows {
            var cursor = t.addingTimeInterval(-w.duration.seconds)
            while let opened = w.schedule.next(after: cursor), opened < t.addingTimeInterval(horizon), candidates.count < 10_000 {
                if opened > t { candidates.append(opened) }
                let closes = opened.addingTimeInterval(w.duration.seconds)
                if closes > t { candidates.append(closes) }
                cursor = opened
            }
        }
        return candidates.sorted().first { closed(windows, at: $0) == nil }
    }
}

extension DeployWindows {
    /// The first time from `t` when every list of windows allows a start at once (several
    /// services started together); nil when none comes within `horizon`.
    public static func nextOpening(allOf lists: [[DeployWindow]], from t: Date, horizon: TimeInterval = 35 * 86400) -> Date? {
        // Services mostly share their windows: each distinct list is looked at once.
        var distinct: [[DeployWindow]] = []
        for windows in lists where !windows.isEmpty && !distinct.contains(windows) { distinct.append(windows) }
        var candidate = t
        // Each round moves to the latest of the next openings; at the fixed point all are open.
        for _ in 0..<1000 {
            var latest = candidate
            for windows in distinct {
                guard let next = nextOpening(windows, from: candidate, horizon: horizon - candidate.timeIntervalSince(t)) else { return nil }
                latest = max(latest, next)
            }
            if latest == candidate { return candidate }
            candidate = latest
        }
        return nil
    }
}

/// The windows that apply to one service at one time, and when it may deploy (`-action windows`).
public struct WindowReport: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var window: DeployWindow
        public var isOpen: Bool
        /// Now when it is open, else its next opening (nil: none within a year).
        public var nextOpen: Date?
    }

    public var items: [Item]
    public var mayDeployNow: Bool
    /// When it may deploy (now when it may), nil when no opening comes within a year.
    public var nextOpening: Date?
    /// "may deploy now", or why not and the next opening.
    public var summary: String

    public init(_ windows: [DeployWindow], at t: Date) {
        items = windows.map { w in
            let open = w.isOpen(at: t)
            return Item(window: w, isOpen: open, nextOpen: open ? t : w.schedule.next(after: t))
        }
        let why = DeployWindows.closed(windows, at: t)
        mayDeployNow = why == nil
        nextOpening = DeployWindows.nextOpening(windows, from: t, horizon: 366 * 86400)
        if windows.isEmpty {
            summary = "no window applies: it may deploy at any time"
        } else if let why {
            summary = "may not deploy now: \(why); " + (nextOpening.map { "next opening \($0.ISO8601Format())" } ?? "no opening within a year")
        } else {
            summary = "may deploy now"
        }
    }
}

/// `*` matches any run of characters (none included); everything else matches itself (the
/// windows' and the notification routes' patterns).
public enum Glob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var (pi, ti) = (0, 0)
        var star: Int?, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] != "*", p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi
                mark = ti
                pi += 1
            } else if let s = star {
                pi = s + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
