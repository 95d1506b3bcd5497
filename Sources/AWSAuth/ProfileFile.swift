import Foundation

/// One parsed AWS shared file (`~/.aws/credentials` or `~/.aws/config`): profiles by name,
/// each a map of lower-cased keys to values.
///
/// The INI dialect the AWS tools read:
/// - `[name]` opens a section. In the config file a profile is `[profile name]` (or
///   `[default]`); other sections (`[sso-session x]`, `[services x]`, unprefixed names) hold
///   no profile. In the credentials file every section is a profile named as written.
///   `[profile default]` wins over `[default]` in the config file.
/// - `key = value`; whitespace around both is dropped; `#` or `;` after whitespace starts a
///   comment, as does a line starting with either.
/// - An indented line after a property continues it (sub-properties such as `s3 =` blocks);
///   it is appended to the value on a new line.
/// - A repeated key or section: the later one wins, key by key.
public struct ProfileFile: Sendable, Equatable {
    public enum Kind: Sendable {
        case credentials
        case config
    }

    public private(set) var profiles: [String: [String: String]]

    public init(profiles: [String: [String: String]] = [:]) {
        self.profiles = profiles
    }

    public subscript(profile: String) -> [String: String]? { profiles[profile] }

    public static func parse(_ text: String, kind: Kind) -> ProfileFile {
        var profiles: [String: [String: String]] = [:]
        // Config files: keys set under `[default]` are held apart, because `[profile default]`
        // overrides them wherever it appears.
        var plainDefault: [String: String] = [:]
        var section: String?
        var sectionIsPlainDefault = false
        var sawPlainDefault = false
        var lastKey: String?

        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = String(rawLine)
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }

            if trimmed.hasPrefix("[") {
                lastKey = nil
                guard let close = trimmed.firstIndex(of: "]") else { section = nil; continue }
                let name = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
                    .trimmingCharacters(in: .whitespaces)
                (section, sectionIsPlainDefault) = profileName(forSection: name, kind: kind)
                if sectionIsPlainDefault {
                    sawPlainDefault = true
                } else if let section, profiles[section] == nil {
                    profiles[section] = [:]
                }
                continue
            }
            guard let current = section else { continue }

            let indented = line.first == " " || line.first == "\t"
            if indented, let key = lastKey {
                let continuation = stripComment(trimmed)
                if sectionIsPlainDefault {
                    plainDefault[key, default: ""] += "\n" + continuation
                } else {
                    profiles[current, default: [:]][key, default: ""] += "\n" + continuation
                }
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else { lastKey = nil; continue }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            guard !key.isEmpty else { lastKey = nil; continue }
            let value = stripComment(String(trimmed[trimmed.index(after: equals)...]))
            if sectionIsPlainDefault {
                plainDefault[key] = value
            } else {
                profiles[current, default: [:]][key] = value
            }
            lastKey = key
        }

        if sawPlainDefault {
            profiles["default"] = plainDefault.merging(profiles["default"] ?? [:]) { _, profileValue in profileValue }
        }
        return ProfileFile(profiles: profiles)
    }

    /// The profile a section header names, and whether it is the config file's plain
    /// `[default]`.
    private static func profileName(forSection name: String, kind: Kind) -> (String?, Bool) {
        switch kind {
        case .credentials:
            return (name.isEmpty ? nil : name, false)
        case .config:
            if name == "default" { return ("default", true) }
            let parts = name.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count == 2, parts[0] == "profile" else { return (nil, false) }
            let profile = parts[1].trimmingCharacters(in: .whitespaces)
            return (profile.isEmpty ? nil : profile, false)
        }
    }

    /// Drops a trailing comment: `#` or `;` preceded by whitespace.
    private static func stripComment(_ value: String) -> String {
        var previousIsSpace = false
        var end = value.endIndex
        for index in value.indices {
            let character = value[index]
            if (character == "#" || character == ";") && previousIsSpace {
                end = index
                break
            }
            previousIsSpace = character == " " || character == "\t"
        }
        return value[..<end].trimmingCharacters(in: .whitespaces)
    }
}
