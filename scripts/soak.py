#!/usr/bin/env python3
"""make soak: deployments of every strategy and releases, through faults and crashes.

`grpc-server simulate` (EXTERNAL services behind a load balancer, AWS's throttles, one AWS call
in ten failing: throttled, 500 or timed out after it was done) and this server in AWS mode
against it (`aws.endpoint_speedup`, so both run on the simulator's time). DEPLOYMENTS
deployments (canary, blue-green, rolling and quicksync in turn, one image in twenty unhealthy)
run on WORKERS services, one after another on each, with RELEASES releases of 5 services
beside them; the server is killed with SIGKILL and started again KILLS times at random
moments. After each deployment and release the cloud is checked: each service runs one
PRIMARY task set at 100% and no other, and its listener sends 100% of the traffic to that task
set's target group, whose targets are healthy. At the end every deployment and release
acknowledged must be found finished, and the audit log must verify.

Prints how many ended SUCCEEDED, ROLLED_BACK, FAILED or stuck, the inconsistencies found and
the records lost; fails unless none is stuck, inconsistent, lost or refused (a valid request
refused, e.g. a deployment of a service whose last deployment had ended).

    python3 scripts/soak.py --server bin/grpc-server --deployments 1000 --releases 20 --kills 20

With `--controller native` the services run on the ECS controller set up for ECS's own
blue/green, linear and canary (`mock.controller: native`): canary, blue-green and linear are
ECS's, beside quicksync and rolling; after each, the service has one deployment, and its
production and test listener rules send all traffic to one target group with healthy targets.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grpc_stubs import load_stubs  # noqa: E402
from processes import free_port, stop_all  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--server", default="bin/grpc-server")
parser.add_argument("--deployments", type=int, default=1000)
parser.add_argument("--releases", type=int, default=20)
parser.add_argument("--kills", type=int, default=20)
parser.add_argument("--workers", type=int, default=40)
parser.add_argument("--speedup", type=float, default=50)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--controller", choices=["external", "native"], default="external",
                    help="the services' controller: task sets (external), or ECS's own strategies (native)")
parser.add_argument("--stuck-after", type=float, default=600, help="real seconds after which an unfinished record is stuck")
args = parser.parse_args()

WORK = tempfile.mkdtemp(prefix="soak-")
random.seed(args.seed)
pb, rpc = load_stubs(WORK)
ENV = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDSOAK", AWS_SECRET_ACCESS_KEY="soak-secret", AWS_REGION="us-east-1",
           AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", HOME=WORK)
TERMINAL = {"SUCCEEDED", "ROLLED_BACK", "FAILED", "CANCELLED", "INTERRUPTED"}
NATIVE = args.controller == "native"
STRATEGIES = ["canary", "bluegreen", "linear", "rolling", "quicksync"] if NATIVE else ["canary", "bluegreen", "rolling", "quicksync"]
lock = threading.Lock()
results = {"deployments": {}, "releases": {}, "inconsistent": [], "lost": [], "stuck": [], "refused": []}
failing_images = set()  # the deployments and releases given an image that never gets healthy


def wait_for(path, text, process, limit=60):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if os.path.exists(path) and text in open(path, errors="replace").read():
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    sys.exit(f"{process.args[0]} did not start:\n{open(path, errors='replace').read()[-3000:]}")


SIM_PORT, GRPC_PORT, METRICS_PORT = free_port(), free_port(), free_port()
ENDPOINT = f"http://127.0.0.1:{SIM_PORT}"
with open(os.path.join(WORK, "simulate.yaml"), "w") as f:
    f.write(f"""server: {{host: 127.0.0.1}}
storage: {{path: {WORK}/simulator/state.sqlite}}
mock:
  controller: {args.controller}
  throttle: true
  speedup: {args.speedup}
  api_faults: {{throttle: 0.04, server_error: 0.03, timeout: 0.03, timeout_after: 2s}}
""")
with open(os.path.join(WORK, "server.yaml"), "w") as f:
    f.write(f"""server: {{host: 127.0.0.1, port: {GRPC_PORT}, metrics_port: {METRICS_PORT}}}
aws: {{endpoint_url: "{ENDPOINT}", endpoint_speedup: {args.speedup}, timeout: 1s, max_retries: 8}}
storage: {{path: {WORK}/server/ecs-deploy.sqlite}}
audit: {{path: {WORK}/server/audit.log}}
strategy:
  canary: {{stages: [25, 100], stage_timeout: 30s, bake: 1m}}
  linear: {{step_percent: 50, step_bake: 1m}}
  bake_time: 0m
  bluegreen: {{stabilization_time: 10s, cleanup_delay: 10s}}
""")

children = []


def launch(argv, log):
    process = subprocess.Popen(argv, stdout=open(log, "a"), stderr=subprocess.STDOUT, env=ENV, cwd=WORK)
    children.append(process)
    return process


simulator = launch([os.path.abspath(args.server), "simulate", "-port", str(SIM_PORT), "-config", f"{WORK}/simulate.yaml"],
                   f"{WORK}/simulate.log")
wait_for(f"{WORK}/simulate.log", "simulated AWS endpoint listening", simulator)


class Server:
    """The server in AWS mode, killed and started again on the same data."""

    def __init__(self):
        self.process, self.starts = None, 0
        self.start()

    def start(self):
        self.starts += 1
        log = f"{WORK}/server-{self.starts}.log"
        self.process = launch([os.path.abspath(args.server), "-config", f"{WORK}/server.yaml"], log)
        wait_for(log, "gRPC API listening on", self.process)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


server = Server()
channel = grpc.insecure_channel(f"127.0.0.1:{GRPC_PORT}")
api = rpc.DeploymentServiceStub(channel)


def call(method, request, deadline):
    """The call, tried again while the server is down or restarting."""
    while True:
        try:
            return method(request, timeout=10)
        except grpc.RpcError as error:
            if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# The cloud's invariants, read through boto3 (its own retries ride through the faults).
os.environ.update({k: ENV[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED")})
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

patient = Config(retries={"max_attempts": 15, "mode": "standard"}, read_timeout=5, connect_timeout=5)
ecs = boto3.client("ecs", endpoint_url=ENDPOINT, config=patient)
elb = boto3.client("elbv2", endpoint_url=ENDPOINT, config=patient)


def problems(service):
    return native_problems(service) if NATIVE else task_set_problems(service)


def native_problems(service):
    """One ECS deployment; the production and test rules all on one target group, whose targets are healthy."""
    found = []
    svc = ecs.describe_services(cluster="soak", services=[service])["services"][0]
    if len(svc["deployments"]) != 1:
        found.append(f"{service}: deployments {[(d['status'], d['taskDefinition'][-8:]) for d in svc['deployments']]}")
    balancer_config = next(lb for lb in svc["loadBalancers"] if "advancedConfiguration" in lb)
    advanced = balancer_config["advancedConfiguration"]
    balancer = elb.describe_target_groups(TargetGroupArns=[balancer_config["targetGroupArn"]])["TargetGroups"][0]["LoadBalancerArns"][0]
    served = set()
    for listener in elb.describe_listeners(LoadBalancerArn=balancer)["Listeners"]:
        for rule in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
            if rule["RuleArn"] not in (advanced["productionListenerRule"], advanced.get("testListenerRule")):
                continue
            weights = {g["TargetGroupArn"]: g.get("Weight", 0) for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]}
            on = [group for group, weight in weights.items() if weight > 0]
            if len(on) != 1 or weights[on[0]] != 100:
                found.append(f"{service}: rule weights {sorted(weights.values())}")
            served.update(on)
    if len(served) != 1:
        found.append(f"{service}: the rules send traffic to {len(served)} target groups")
    for group in served:
        health = [t["TargetHealth"]["State"] for t in elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]]
        if not health or any(state != "healthy" for state in health):
            found.append(f"{service}: targets {health}")
    return found


def task_set_problems(service):
    found = []
    svc = ecs.describe_services(cluster="soak", services=[service])["services"][0]
    sets = svc.get("taskSets", [])
    if len(sets) != 1 or sets[0]["status"] != "PRIMARY":
        return [f"{service}: task sets {[(s['status'], s['id'][-6:]) for s in sets]}"]
    primary = sets[0]
    if primary["scale"]["value"] != 100:
        found.append(f"{service}: PRIMARY at {primary['scale']['value']}%")
    group = primary["loadBalancers"][0]["targetGroupArn"]
    balancer = elb.describe_target_groups(TargetGroupArns=[group])["TargetGroups"][0]["LoadBalancerArns"][0]
    for listener in elb.describe_listeners(LoadBalancerArn=balancer)["Listeners"]:
        weights = {g["TargetGroupArn"]: g.get("Weight", 0) for g in listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]}
        if sum(weights.values()) != 100 or weights.get(group) != 100:
            found.append(f"{service}: listener weights {sorted(weights.values())}, not 100 on the PRIMARY's target group")
    health = [t["TargetHealth"]["State"] for t in elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]]
    if not health or any(state != "healthy" for state in health):
        found.append(f"{service}: targets {health}")
    return found


def settled(service):
    """The invariants, allowing the cloud a few simulated minutes to finish draining."""
    found = []
    for _ in range(20):
        found = problems(service)
        if not found:
            return []
        time.sleep(60 / args.speedup)
    return found


def status_name(value, enum=None):
    return pb.DeploymentStatus.Name(value).removeprefix("DEPLOYMENT_STATUS_")


def finish(kind, key, get, service_names):
    """Waits for a record to end; checks the cloud of its services."""
    deadline = time.monotonic() + args.stuck_after
    status = "UNKNOWN"
    while time.monotonic() < deadline:
        try:
            status = status_name(call(get, pb.GetStatusRequest(deployment_id=key), deadline).status)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                with lock:
                    results["lost"].append(f"{kind} {key}")
                return
            raise
        if status in TERMINAL:
            break
        time.sleep(0.2)
    with lock:
        results[kind][key] = status
        if status not in TERMINAL:
            results["stuck"].append(f"{kind} {key}: {status}")
    for service in service_names:
        found = settled(service)
        if found:
            with lock:
                results["inconsistent"].append(f"after {kind} {key} ({status}): " + "; ".join(found))


def taskdef(service, n):
    image = f"nginx:v{n}-unhealthy" if random.random() < 0.05 else f"nginx:v{n}"
    if "unhealthy" in image:
        failing_images.add(f"soak-{n}")
    return json.dumps({"family": service, "containerDefinitions": [{"name": "app", "image": image}]})


counter = iter(range(args.deployments))
counter_lock = threading.Lock()


def worker(w):
    service = f"svc-{w:03d}"
    while True:
        with counter_lock:
            n = next(counter, None)
        if n is None:
            return
        with counter_lock:
            definition = taskdef(service, n)
        request = pb.DeployRequest(deployment_id=f"soak-{n}", cluster="soak", service=service, task_definition=definition,
                                   strategy=STRATEGIES[n % len(STRATEGIES)], requested_by="soak")
        try:
            call(api.Deploy, request, time.monotonic() + args.stuck_after)
        except grpc.RpcError as error:
            # A valid request refused (the service's last deployment had ended) is a finding.
            with lock:
                results["refused"].append(f"soak-{n}: {error.code()}: {error.details()[:200]}")
            continue
        finish("deployments", f"soak-{n}", api.GetStatus, [service])


def releases():
    for r in range(args.releases):
        names = [f"rel-{(r % 4) * 5 + i:03d}" for i in range(5)]
        unhealthy = random.random() < 0.25
        if unhealthy:
            failing_images.add(f"soak-r{r}")
        manifest = "services:\n" + "".join(
            f"  - service: {name}\n    clusterName: soak\n    serviceName: {name}\n"
            f"    image: \"nginx:r{r}{'-unhealthy' if unhealthy and i == 2 else ''}\"\n"
            f"    strategy: {STRATEGIES[(r + i) % len(STRATEGIES)]}\n" for i, name in enumerate(names))
        try:
            call(api.SubmitRelease, pb.ReleaseRequest(release_id=f"soak-r{r}", manifest=manifest, file_name="deployment.yaml",
                                                      requested_by="soak"), time.monotonic() + args.stuck_after)
        except grpc.RpcError as error:
            with lock:
                results["refused"].append(f"soak-r{r}: {error.code()}: {error.details()[:200]}")
            continue
        finish("releases", f"soak-r{r}", api.GetRelease, names)


done = threading.Event()


def killer():
    for _ in range(args.kills):
        if done.wait(random.uniform(1.0, 6.0)):
            return
        server.kill()
        time.sleep(random.uniform(0, 1.0))
        server.start()


started = time.monotonic()
threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.workers)] + [threading.Thread(target=releases)]
chaos = threading.Thread(target=killer)
try:
    for t in threads:
        t.start()
    chaos.start()
    for t in threads:
        t.join()
    done.set()
    chaos.join()
    # Every record acknowledged is found, finished, after one more restart.
    server.kill()
    server.start()
    for kind, get in (("deployments", api.GetStatus), ("releases", api.GetRelease)):
        for key, status in list(results[kind].items()):
            try:
                again = status_name(call(get, pb.GetStatusRequest(deployment_id=key), time.monotonic() + 60).status)
            except grpc.RpcError as error:
                results["lost"].append(f"{kind} {key}: {error.code()}")
                continue
            if again not in TERMINAL:
                results["stuck"].append(f"{kind} {key}: {again} after the last restart")
    verify = subprocess.run([os.path.abspath(args.server), "audit", "verify", f"{WORK}/server/audit.log"], capture_output=True, text=True)
    with urllib.request.urlopen(f"{ENDPOINT}/_simulator/stats", timeout=30) as answer:
        stats = json.load(answer)
finally:
    done.set()
    stop_all(children)

calls = sum(stats["calls"].values())
faults = sum(stats["faults"].values())
print(f"\nsoak: {len(results['deployments'])} deployments and {len(results['releases'])} releases in "
      f"{time.monotonic() - started:.0f} s, the server killed {server.starts - 2} times (SIGKILL) mid-run; "
      f"{calls} AWS calls, {faults} failed on purpose ({100 * faults / max(calls, 1):.1f}%), {stats['throttled']} throttled")
for kind in ("deployments", "releases"):
    counts = {}
    for status in results[kind].values():
        counts[status] = counts.get(status, 0) + 1
    print(f"  {kind}: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("SUCCEEDED", "ROLLED_BACK", "FAILED"))
          + "".join(f", {n} {s}" for s, n in counts.items() if s not in ("SUCCEEDED", "ROLLED_BACK", "FAILED")))
expected = sum(1 for key in failing_images if key in results["deployments"] or key in results["releases"])
unexpected = sorted(key for kind in ("deployments", "releases") for key, status in results[kind].items()
                    if status != "SUCCEEDED" and key not in failing_images)
print(f"  given an image that never gets healthy: {expected}; ended otherwise than SUCCEEDED with a healthy image: "
      f"{len(unexpected)}{' (' + ', '.join(unexpected[:10]) + ')' if unexpected else ''}")
print(f"  stuck: {len(results['stuck'])}, inconsistent: {len(results['inconsistent'])}, lost: {len(results['lost'])}, "
      f"refused: {len(results['refused'])}, "
      f"traffic violations: {len(stats['traffic_violations'])}, audit log: {'verifies' if verify.returncode == 0 else 'BROKEN'}")
for kind in ("stuck", "inconsistent", "lost", "refused"):
    for line in results[kind][:10]:
        print(f"  {kind}: {line}")
for line in stats["traffic_violations"][:10]:
    print(f"  traffic violation: {line}")
failed = results["stuck"] or results["inconsistent"] or results["lost"] or results["refused"] or stats["traffic_violations"] or verify.returncode != 0
if failed:
    print(f"  logs kept in {WORK}")
    if verify.returncode != 0:
        print(verify.stdout[-1000:] + verify.stderr[-1000:])
    sys.exit(1)
shutil.rmtree(WORK, ignore_errors=True)
