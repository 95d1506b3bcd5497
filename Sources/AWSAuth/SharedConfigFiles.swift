import Foundation

/// The AWS shared credentials and config files, located as the SDKs do:
/// `AWS_SHARED_CREDENTIALS_FILE` (else `~/.aws/credentials`) and `AWS_CONFIG_FILE` (else
/// `~/.aws/config`), with `~` taken from `HOME` in the given environment. A missing file
/// reads as empty.
public struct SharedConfigFiles: Sendable {
    public let credentialsPath: String?
    public let configPath: String?
    public let credentials: ProfileFile
    public let config: ProfileFile
    /// Paths that were looked for and not found, or could not be read (for messages).
    public let missing: [String]

    public init(credentialsPath: String?, configPath: String?, credentials: ProfileFile, config: ProfileFile,
                missing: [String] = []) {
        self.credentialsPath = credentialsPath
        self.configPath = configPath
        self.credentials = credentials
        self.config = config
        self.missing = missing
    }

    /// Reads both files named by `environment`.
    public static func load(environment: [String: String]) -> SharedConfigFiles {
        let home = environment.setting("HOME")
        let credentialsPath = resolve(environment.setting("AWS_SHARED_CREDENTIALS_FILE"), default: ".aws/credentials",
                                      home: home)
        let configPath = resolve(environment.setting("AWS_CONFIG_FILE"), default: ".aws/config", home: home)
        var missing: [String] = []
        let credentials = read(credentialsPath, kind: .credentials, missing: &missing)
        let config = read(configPath, kind: .config, missing: &missing)
        return SharedConfigFiles(credentialsPath: credentialsPath, configPath: configPath,
                                 credentials: credentials, config: config, missing: missing)
    }

    /// The profile selected by `AWS_PROFILE`, else `default`.
    public static func selectedProfile(environment: [String: String]) -> String {
        environment.setting("AWS_PROFILE") ?? "default"
    }

    /// The named profile's settings: the config file's, overridden key by key by the
    /// credentials file's. Nil when neither file has the profile.
    public func profile(_ name: String) -> [String: String]? {
        let fromConfig = config[name]
        let fromCredentials = credentials[name]
        if fromConfig == nil && fromCredentials == nil { return nil }
        return (fromConfig ?? [:]).merging(fromCredentials ?? [:]) { _, credentialsValue in credentialsValue }
    }

    /// Where the files were looked for, for messages.
    public var locations: String {
        [credentialsPath, configPath].compactMap { path in
            guard let path else { return nil }
            return missing.contains(path) ? "\(path) (missing)" : path
        }.joined(separator: ", ")
    }

    private static func resolve(_ explicit: String?, default relative: String, home: String?) -> String? {
        if let explicit {
            if explicit == "~" { return home ?? explicit }
            if explicit.hasPrefix("~/"), let home { return home + explicit.dropFirst(1) }
            return explicit
        }
        guard let home else { return nil }
        return home.hasSuffix("/") ? home + relative : home + "/" + relative
    }

    private static func read(_ path: String?, kind: ProfileFile.Kind, missing: inout [String]) -> ProfileFile {
        guard let path else { return ProfileFile() }
        guard let data = FileManager.default.contents(atPath: path) else {
            missing.append(path)
            return ProfileFile()
        }
        return ProfileFile.parse(String(decoding: data, as: UTF8.self), kind: kind)
    }
}
