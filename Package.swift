// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "ecs-deploy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "grpc-server", targets: ["grpc-server"]),
        .executable(name: "grpc-client", targets: ["grpc-client"]),
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/groue/GRDB.swift.git", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
    ],
    targets: [
        .target(name: "DeployAPI", dependencies: [
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], swiftSettings: strict),
        .target(name: "CloudModel", swiftSettings: strict),
        // The call middleware: retries, client-side rate limits, coalesced reads, throttles.
        .target(name: "CloudRuntime", dependencies: ["CloudModel"], swiftSettings: strict),
        .target(name: "Simulator", dependencies: ["CloudModel", "CloudRuntime"], swiftSettings: strict),
        .target(name: "AWSAuth", dependencies: [
            "CloudModel",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "AWSCloud", dependencies: [
            "CloudModel", "CloudRuntime", "AWSAuth",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "Access", dependencies: [
            "CloudModel",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
            .product(name: "Yams", package: "Yams"),
        ], swiftSettings: strict),
        // One runner of child processes (git, `exec:` hooks).
        .target(name: "ChildProcess", swiftSettings: strict),
        .target(name: "Engine", dependencies: [
            "CloudModel", .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        .target(name: "GitOps", dependencies: [
            "Engine", "CloudModel", "ChildProcess", .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "Store", dependencies: [
            "Engine", "CloudModel", .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: strict),
        .target(name: "Audit", dependencies: [
            "Engine", "CloudModel", .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        // Notifications: routes, payloads (Slack, Teams, signed webhook), queued delivery.
        .target(name: "Notify", dependencies: [
            "Engine", "CloudModel", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: strict),
        .target(name: "Server", dependencies: [
            "DeployAPI", "CloudModel", "CloudRuntime", "Simulator", "Engine", "AWSAuth", "AWSCloud", "Store", "Audit", "GitOps", "Access", "ChildProcess",
            "Notify",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], swiftSettings: strict),
        .target(name: "ClientCLI", dependencies: [
            "DeployAPI",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        .executableTarget(name: "grpc-server", dependencies: ["Server"], swiftSettings: strict),
        .executableTarget(name: "grpc-client", dependencies: ["ClientCLI"], swiftSettings: strict),
        .executableTarget(name: "bench", dependencies: [
            "Engine", "Simulator", "CloudModel", "TestSupport", "Store", "Audit", "Server", "DeployAPI",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
        ], swiftSettings: strict),
        // The manual clock (tests and the benchmark move time themselves), the tests' store wrapper.
        .target(name: "TestSupport", dependencies: ["CloudModel", "Engine"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "CloudModelTests", dependencies: ["CloudModel", "CloudRuntime", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator", "CloudModel", "CloudRuntime", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "AWSAuthTests", dependencies: [
            "AWSAuth", "CloudModel", "TestSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: strict),
        .target(name: "MotoHarness", dependencies: ["AWSAuth", "CloudModel"], path: "Tests/MotoHarness", swiftSettings: strict),
        .testTarget(name: "AWSCloudTests", dependencies: [
            "AWSCloud", "AWSAuth", "CloudModel", "CloudRuntime", "Simulator", "TestSupport", "MotoHarness",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: strict),
        .testTarget(name: "ChildProcessTests", dependencies: ["ChildProcess"], swiftSettings: strict),
        .testTarget(name: "StoreTests", dependencies: [
            "Store", "Engine", "CloudModel", .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: strict),
        .testTarget(name: "AuditTests", dependencies: [
            "Audit", "Engine", "CloudModel", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        .testTarget(name: "GitOpsTests", dependencies: [
            "GitOps", "Engine", "CloudModel", "TestSupport", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "AuthTestSupport", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "CryptoExtras", package: "swift-crypto"),
        ], path: "Tests/AuthTestSupport", swiftSettings: strict),
        .testTarget(name: "AccessTests", dependencies: ["Access", "CloudModel", "AuthTestSupport"], swiftSettings: strict),
        .testTarget(name: "EngineTests", dependencies: [
            "Engine", "Simulator", "CloudModel", "CloudRuntime", "TestSupport", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .testTarget(name: "EndToEndTests", dependencies: [
            "Server", "ClientCLI", "DeployAPI", "Simulator", "CloudModel", "CloudRuntime", "TestSupport", "Engine", "AWSCloud", "AWSAuth", "MotoHarness", "Store", "Audit",
            "Access", "AuthTestSupport", "Notify", .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ], swiftSettings: strict),
    ]
)
