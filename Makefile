# ecs-deploy: a gRPC deployment server for Amazon ECS.
SWIFT ?= swift
# release for the binaries in bin/, debug for tests.
CONFIG ?= release
BIN_PATH = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path)

# protoc plugins, built from the exact versions the package uses (see `make proto-plugins`).
PLUGIN_DIR ?= .build-protoc/.build/release
PROTOC ?= protoc

.PHONY: build build-server build-client test demo simulate bench bench-check bench-peers soak soak-check fuzz proto proto-plugins clean

build: build-server build-client

build-server:
	$(SWIFT) build -c $(CONFIG) --product grpc-server
	@mkdir -p bin && cp "$(BIN_PATH)/grpc-server" bin/grpc-server
	@echo "built bin/grpc-server"

build-client:
	$(SWIFT) build -c $(CONFIG) --product grpc-client
	@mkdir -p bin && cp "$(BIN_PATH)/grpc-client" bin/grpc-client
	@echo "built bin/grpc-client"

# The AWS wire-level tests run against moto: installed when missing; without it the run fails
# (the suites that need it would otherwise skip themselves and the run would look green).
test:
	@python3 -c "import moto.server, flask_cors, boto3" 2>/dev/null || python3 -m pip install --quiet 'moto[server]==5.2.1'
	@python3 -c "import moto.server, flask_cors, boto3" 2>/dev/null || \
		{ echo "make test: moto[server] 5.2.1 is missing and could not be installed (pip install 'moto[server]==5.2.1')" >&2; exit 1; }
	@command -v aws >/dev/null || python3 -m pip install --quiet awscli
	@command -v aws >/dev/null || { echo "make test: the AWS CLI is missing (pip install awscli; a test runs it against grpc-server simulate)" >&2; exit 1; }
	@command -v ecs >/dev/null || python3 -m pip install --quiet ecs-deploy
	@command -v ecs >/dev/null || { echo "make test: fabfuel's ecs-deploy is missing (pip install ecs-deploy; a test runs it against grpc-server simulate)" >&2; exit 1; }
	@command -v prometheus >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@command -v prometheus >/dev/null || \
		{ echo "make test: prometheus is missing (apt-get install prometheus; the analysis test runs a real one)" >&2; exit 1; }
	@command -v chromedriver >/dev/null || [ "$$(id -u)" != 0 ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }
	@command -v chromedriver >/dev/null || \
		{ echo "make test: chromedriver is missing (apt-get install chromium chromium-driver; the dashboard test drives a real browser)" >&2; exit 1; }
	python3 scripts/check-imports.py
	$(SWIFT) test

# Malformed requests (every RPC, manifests, the HTTP port) against the real server, restarted on
# the same data after each batch; fails on a crash, a crash at restart, a hang or INTERNAL.
FUZZ_BATCHES ?= 10
FUZZ_CASES ?= 1000
fuzz:
	$(SWIFT) build --product grpc-server
	@python3 -c "import grpc, grpc_tools, hypothesis" 2>/dev/null || python3 -m pip install --quiet grpcio grpcio-tools hypothesis
	python3 scripts/fuzz/fuzz.py --server "$$($(SWIFT) build --show-bin-path)/grpc-server" --batches $(FUZZ_BATCHES) --cases $(FUZZ_CASES)

# Builds both programs and runs a deployment on the built-in simulator (mock mode).
demo: build
	@scripts/demo.sh

# The simulator as a local AWS endpoint (ECS, STS) on port 4566, until Ctrl-C (see README).
simulate: build-server
	./bin/grpc-server simulate -port 4566 -seed

# One image change on 50 services on grpc-server simulate (AWS's throttles): our release
# against fabfuel's ecs-deploy and the AWS CLI, one service after another (scripts/bench_peers.py).
bench-peers: build
	@python3 -c "import ecs_deploy" 2>/dev/null || python3 -m pip install --quiet ecs-deploy
	@python3 -c "import awscli" 2>/dev/null || python3 -m pip install --quiet awscli
	python3 scripts/bench_peers.py --server bin/grpc-server --client bin/grpc-client

# Deployments of every strategy and releases on grpc-server simulate, through API faults (one
# call in ten) and SIGKILLs of the server; fails on a stuck, inconsistent or lost record
# (scripts/soak.py). SOAK_CONTROLLER=native: services on ECS's own blue/green, linear and
# canary. soak-check is CI's short version of both, on the debug build.
SOAK_DEPLOYMENTS ?= 1000
SOAK_RELEASES ?= 20
SOAK_KILLS ?= 20
SOAK_CONTROLLER ?= external
soak: build-server
	@python3 -c "import grpc, grpc_tools, boto3" 2>/dev/null || python3 -m pip install --quiet grpcio grpcio-tools boto3
	python3 scripts/soak.py --server bin/grpc-server --deployments $(SOAK_DEPLOYMENTS) --releases $(SOAK_RELEASES) --kills $(SOAK_KILLS) \
		--controller $(SOAK_CONTROLLER)

soak-check:
	$(SWIFT) build --product grpc-server
	@python3 -c "import grpc, grpc_tools, boto3" 2>/dev/null || python3 -m pip install --quiet grpcio grpcio-tools boto3
	python3 scripts/soak.py --server "$$($(SWIFT) build --show-bin-path)/grpc-server" --deployments 60 --releases 3 --kills 4 --workers 20
	python3 scripts/soak.py --server "$$($(SWIFT) build --show-bin-path)/grpc-server" --deployments 60 --releases 3 --kills 4 --workers 20 \
		--controller native

# Releases of 100, 300 and 1000 services on the simulator under AWS's throttles, as the server
# records them (SQLite, audit log), then the server under load (see Sources/bench).
bench:
	$(SWIFT) build -c release --product grpc-server
	$(SWIFT) build -c release --product bench
	"$(shell $(SWIFT) build -c release --show-bin-path)/bench"

# CI's check: the bench's scenarios at N = 50 (debug build), failing when a simulated-time ratio
# misses its target (simulated time does not depend on the machine's speed).
bench-check:
	$(SWIFT) build --product bench
	BENCH_CHECK=1 BENCH_SIZES=50 BENCH_LOAD=0 "$$($(SWIFT) build --show-bin-path)/bench"

# Regenerates Sources/DeployAPI from proto/*.proto (needs protoc and the two plugins).
proto:
	@test -x "$(PLUGIN_DIR)/protoc-gen-swift" -a -x "$(PLUGIN_DIR)/protoc-gen-grpc-swift-2" || \
		{ echo "protoc plugins missing: run 'make proto-plugins' first"; exit 1; }
	$(PROTOC) --plugin=protoc-gen-swift=$(PLUGIN_DIR)/protoc-gen-swift \
		--plugin=protoc-gen-grpc-swift-2=$(PLUGIN_DIR)/protoc-gen-grpc-swift-2 \
		-I proto \
		--swift_out=Sources/DeployAPI --swift_opt=Visibility=Public \
		--grpc-swift-2_out=Sources/DeployAPI --grpc-swift-2_opt=Visibility=Public \
		proto/deployment.proto proto/health.proto

# Builds protoc-gen-swift and protoc-gen-grpc-swift-2 at the package's versions.
proto-plugins:
	@mkdir -p .build-protoc/Dummy && echo "" > .build-protoc/Dummy/d.swift
	@printf '%s\n' '// swift-tools-version:6.1' 'import PackageDescription' \
		'let package = Package(name: "protoc-plugins", dependencies: [' \
		'  .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),' \
		'  .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),' \
		'], targets: [.target(name: "Dummy", path: "Dummy")])' > .build-protoc/Package.swift
	cd .build-protoc && $(SWIFT) build -c release --product protoc-gen-swift && $(SWIFT) build -c release --product protoc-gen-grpc-swift-2

clean:
	rm -rf .build bin
