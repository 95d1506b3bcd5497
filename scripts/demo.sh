#!/usr/bin/env bash
# Runs the server in mock mode (the built-in simulator) and drives it with the client:
# a quicksync deployment, its status, a canary, a blue-green deployment of an image that
# never becomes healthy (rolled back automatically), a drift check, a release of a
# deployment.yaml with a scheduled task and five services, the deployment list and the metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
server=bin/grpc-server
client=bin/grpc-client
log=$(mktemp -t ecs-deploy-demo.XXXXXX.log)

data=$(mktemp -d -t ecs-deploy-demo.XXXXXX)
cat >"$data/config.yaml" <<YAML
storage:
  path: $data/ecs-deploy.sqlite
YAML
MOCK_MODE=true "$server" -config "$data/config.yaml" >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  curl -fs http://localhost:9090/health >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
echo "== server is up: $(curl -fs http://localhost:9090/health)"
echo "== dashboard: http://localhost:9090/ (open it to watch the deployments below live)"

step() { echo; echo "== $*"; }

step "quicksync deployment of my-service (waits and shows progress)"
"$client" -id demo-001 -cluster my-cluster -service my-service \
  -taskdef '{"family":"app","containerDefinitions":[{"name":"app","image":"nginx:1.27","memory":512}]}' \
  -strategy quicksync -action deploy -wait

step "status"
"$client" -id demo-001 -action status

step "canary deployment: 25% of the traffic for 2 minutes, then 100% (simulated time)"
"$client" -id demo-002 -cluster my-cluster -service my-service \
  -taskdef '{"family":"app","containerDefinitions":[{"name":"app","image":"nginx:1.28","memory":512}]}' \
  -strategy canary -config '{"canary_stages":"25,100","stage_timeout":"2m"}' -action deploy -wait \
  | grep -v -e stage.progress -e facts.recorded

step "a deployment whose image never becomes healthy is rolled back automatically"
"$client" -id demo-003 -cluster my-cluster -service my-service \
  -taskdef '{"family":"app","containerDefinitions":[{"name":"app","image":"nginx:1.29-unhealthy","memory":512}]}' \
  -strategy bluegreen -action deploy -wait || echo "(exit code $? as expected: the deployment was rolled back)"

step "drift: the service still runs what demo-002 left"
"$client" -action drift -cluster my-cluster -service my-service

step "a release: one deployment.yaml, a scheduled task and five services, one approval"
manifest=$(mktemp -t deployment.XXXXXX.yaml)
cat >"$manifest" <<'YAML'
release: demo-release
approval: required
tasks:
  - service: nightly-report
    cwRuleName: nightly-report
    image: "public.ecr.aws/demo/report:2.0"
services:
YAML
for name in catalog cart checkout payments search; do
  printf '  - service: %s\n    clusterName: shop\n    serviceName: %s\n    image: "public.ecr.aws/demo/%s:2.0"\n' \
    "$name" "$name" "$name" >>"$manifest"
done
"$client" -action plan -file "$manifest"
"$client" -action release -file "$manifest" -id demo-release
"$client" -action approve -id demo-release -approver ops-team -reason "release review done" -wait \
  | grep -e "release\." -e "entry\.succeeded" -e "Release demo-release"
rm -f "$manifest"

step "deployments"
"$client" -action list

step "metrics"
curl -s http://localhost:9090/metrics | grep -E '^ecs_(deployments_total|releases_total|active_deployments|pending_approvals)' | grep -v ' 0$' || true

step "audit log ($data/audit.log)"
tail -n 2 "$data/audit.log"
bin/grpc-server audit verify "$data/audit.log"

step "stopping the server (SIGTERM, graceful)"
kill -TERM $pid
wait $pid && echo "server exited with status 0"
trap - EXIT
