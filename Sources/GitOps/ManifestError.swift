import Engine

/// A problem in a `deployment.yaml`, with where it is: `deployment.yaml:7: services[1].image: is required`.
///
/// The manifest reader finds every problem it can in one pass; the first (by line) is the
/// error itself and the rest are in `others`, so one edit can fix them all.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The manifest's file name, as given to `Manifest.parse`.
    public var file: String
    /// 1-based line of the problem; nil when the problem is about the whole file.
    public var line: Int?
    /// The field the problem is about (`services[1].image`, `maxParallel`); nil for syntax errors.
    public var field: String?
    /// What is wrong, without the location.
    public var message: String
    /// Further problems found in the same manifest, in line order.
    public var others: [ManifestError]

    public init(file: String, line: Int?, field: String?, message: String, others: [ManifestError] = []) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        self.others = others
    }

    /// `file:line: field: message`, one line per problem.
    public var description: String {
        ([self] + others).map(\.singleLine).joined(separator: "\n")
    }

    /// This problem alone, on one line.
    public var singleLine: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let field { text += "\(field): " }
        return text + message
    }

    /// Every problem, this one first.
    public var all: [ManifestError] {
        [ManifestError(file: file, line: line, field: field, message: message)] + others
    }

    /// The same problem as the engine's invalid-argument error (what the server answers with).
    public var engineError: EngineError {
        EngineError(.invalidArgument, field: field, description, detail: message)
    }
}
