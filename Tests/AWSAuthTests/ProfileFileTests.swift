import AWSAuth
import Foundation
import Testing

@Suite("Shared file parsing")
struct ProfileFileTests {
    @Test func credentialsFile() {
        let text = """
            # comment
            ; another comment
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key=secretdefault   # trailing comment
            aws_session_token = tok#en;with-marks

            [dev]
            AWS_ACCESS_KEY_ID = AKIDDEV
            aws_secret_access_key = secret/dev+key

            stray line without equals
            [profile named]
            region = us-west-2
            """
        let file = ProfileFile.parse(text, kind: .credentials)
        #expect(file["default"] == ["aws_access_key_id": "AKIDDEFAULT", "aws_secret_access_key": "secretdefault",
                                    "aws_session_token": "tok#en;with-marks"])
        #expect(file["dev"] == ["aws_access_key_id": "AKIDDEV", "aws_secret_access_key": "secret/dev+key"])
        // In the credentials file the section name is taken as written.
        #expect(file["profile named"] == ["region": "us-west-2"])
        #expect(file["named"] == nil)
    }

    @Test func configFile() {
        let text = """
            [default]
            region = eu-west-1
            output = json

            [profile default]
            region = eu-central-1

            [profile  ops ]
            role_arn = arn:aws:iam::123456789012:role/ops
            source_profile = default
            s3 =
              max_concurrent_requests = 20
            external_id = ext-1

            [ops2]
            region = ignored-without-prefix

            [sso-session corp]
            sso_region = us-east-1

            [profile empty]
            """
        let file = ProfileFile.parse(text, kind: .config)
        // `[profile default]` wins key by key over `[default]`.
        #expect(file["default"] == ["region": "eu-central-1", "output": "json"])
        #expect(file["ops"]?["role_arn"] == "arn:aws:iam::123456789012:role/ops")
        #expect(file["ops"]?["s3"] == "\nmax_concurrent_requests = 20")
        #expect(file["ops"]?["external_id"] == "ext-1")
        #expect(file["ops2"] == nil)
        #expect(file["sso-session corp"] == nil)
        #expect(file["corp"] == nil)
        #expect(file["empty"] == [:])
    }

    @Test func laterValuesWin() {
        let text = """
            [a]
            k = 1
            [b]
            k = 2
            [a]
            k = 3
            other = x
            """
        let file = ProfileFile.parse(text, kind: .credentials)
        #expect(file["a"] == ["k": "3", "other": "x"])
        #expect(file["b"] == ["k": "2"])
    }

    @Test func windowsLineEndings() {
        let file = ProfileFile.parse("[default]\r\naws_access_key_id = AKID\r\nregion = us-east-2\r\n", kind: .config)
        #expect(file["default"] == ["aws_access_key_id": "AKID", "region": "us-east-2"])
    }

    @Test func filesLocatedFromEnvironment() throws {
        let dir = try TempDirectory()
        defer { dir.remove() }
        try dir.write(".aws/credentials", "[default]\naws_access_key_id = FROMCREDS\nregion = from-creds\n")
        try dir.write(".aws/config", "[default]\nregion = eu-north-1\naws_access_key_id = FROMCONFIG\n")
        let files = SharedConfigFiles.load(environment: ["HOME": dir.path])
        #expect(files.credentialsPath == dir.path + "/.aws/credentials")
        #expect(files.configPath == dir.path + "/.aws/config")
        // The credentials file overrides the config file key by key.
        #expect(files.profile("default") == ["aws_access_key_id": "FROMCREDS", "region": "from-creds"])

        let custom = try dir.write("elsewhere/creds", "[x]\naws_access_key_id = X\n")
        let overridden = SharedConfigFiles.load(environment: [
            "HOME": dir.path, "AWS_SHARED_CREDENTIALS_FILE": custom, "AWS_CONFIG_FILE": "~/missing-config",
        ])
        #expect(overridden.credentialsPath == custom)
        #expect(overridden.configPath == dir.path + "/missing-config")
        #expect(overridden.missing == [dir.path + "/missing-config"])
        #expect(overridden.profile("x") == ["aws_access_key_id": "X"])
        #expect(overridden.profile("default") == nil)
    }

    @Test func noHomeMeansNoDefaultFiles() {
        let files = SharedConfigFiles.load(environment: [:])
        #expect(files.credentialsPath == nil && files.configPath == nil)
        #expect(files.profile("default") == nil)
    }
}
