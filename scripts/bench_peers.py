#!/usr/bin/env python3
"""make bench-peers: one image change on N ECS services, deployed three ways against the same
`grpc-server simulate` (AWS's throttles, rollouts that take their simulated time):

  ours       one release of the N services (bin/grpc-server in AWS mode, bin/grpc-client)
  ecs-deploy fabfuel's `ecs deploy CLUSTER SERVICE --image app IMAGE`, once per service, in turn
  aws-cli    `aws ecs describe-services` and `describe-task-definition` (the running
             revision), `register-task-definition` (it with the new image), `update-service`
             and `aws ecs wait services-stable`, once per service, in turn

The simulator runs SPEEDUP times faster than real time. So that every tool waits in simulated
time as it would on AWS, our server runs with `aws.endpoint_speedup: SPEEDUP`, and the two
peers run in this process (their own code, unmodified, through their command-line entry
points) with `time.sleep` divided by SPEEDUP: ecs-deploy's one-second checks, the CLI waiter's
15 s delay and botocore's retry back-off last what they say in simulated time. What cannot be
scaled (each call's round trip, Python's own work) counts SPEEDUP times over in simulated time;
the real seconds are printed too.

Prints, per tool: simulated and real seconds, the API calls per service by operation, and the
calls answered ThrottlingException.
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--server", default="bin/grpc-server")
parser.add_argument("--client", default="bin/grpc-client")
parser.add_argument("--services", type=int, default=int(os.environ.get("PEERS_SERVICES", "50")))
parser.add_argument("--speedup", type=float, default=float(os.environ.get("PEERS_SPEEDUP", "20")))
parser.add_argument("--peers", default=os.environ.get("PEERS", "ours,ecs-deploy,aws-cli"))
args = parser.parse_args()
SPEEDUP = args.speedup

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from processes import free_port, stop_all  # noqa: E402

# Before botocore and ecs-deploy are imported: they bind time.sleep at import.
_real_sleep = time.sleep
time.sleep = lambda seconds: _real_sleep(max(0.0, seconds) / SPEEDUP)

CLUSTER = "bench"
NAMES = [f"svc-{i:03d}" for i in range(args.services)]
WORK = tempfile.mkdtemp(prefix="bench-peers-")
ENV = {"AWS_ACCESS_KEY_ID": "AKIDBENCHPEERS", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "HOME": WORK}
children = []


def start(argv, log_name, ready, env, timeout=60):
    log = open(os.path.join(WORK, log_name), "w+")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=WORK)
    children.append(process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log.seek(0)
        if ready in log.read():
            return process
        if process.poll() is not None:
            break
        _real_sleep(0.05)
    log.seek(0)
    sys.exit(f"{argv[0]} did not start:\n{log.read()[-3000:]}")


def stats():
    with urllib.request.urlopen(f"{ENDPOINT}/_simulator/stats", timeout=30) as answer:
        return json.load(answer)


def simulated(now):
    return datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()


def measure(name, run):
    before, started = stats(), time.monotonic()
    failures = run()
    after, real = stats(), time.monotonic() - started
    calls = {op: n - before["calls"].get(op, 0) for op, n in after["calls"].items() if n - before["calls"].get(op, 0) > 0}
    return {"name": name, "simulated": simulated(after["now"]) - simulated(before["now"]), "real": real, "calls": calls,
            "throttled": after["throttled"] - before["throttled"], "failures": failures}


def ours():
    grpc, metrics = free_port(), free_port()
    config = os.path.join(WORK, "server.yaml")
    with open(config, "w") as f:
        f.write(f"""server:
  host: 127.0.0.1
  port: {grpc}
  metrics_port: {metrics}
aws:
  endpoint_url: {ENDPOINT}
  endpoint_speedup: {SPEEDUP}
storage:
  path: {WORK}/server/ecs-deploy.sqlite
audit:
  path: {WORK}/server/audit.log
""")
    server = start([os.path.abspath(args.server), "-config", config], "server.log", "gRPC API listening on", dict(os.environ, **ENV))
    manifest = os.path.join(WORK, "deployment.yaml")
    with open(manifest, "w") as f:
        f.write("services:\n" + "".join(
            f"  - service: {n}\n    clusterName: {CLUSTER}\n    serviceName: {n}\n    image: \"nginx:2.0\"\n" for n in NAMES))

    def run():
        result = subprocess.run([os.path.abspath(args.client), "-server", f"127.0.0.1:{grpc}", "-action", "release", "-file", manifest,
                                 "-id", "bench-peers", "-wait"], capture_output=True, text=True, env=dict(os.environ, **ENV))
        if result.returncode != 0:
            return [result.stdout[-2000:] + result.stderr[-2000:]]
        return []

    try:
        return measure("ours (one release)", run)
    finally:
        server.terminate()
        server.wait(30)


def ecs_deploy():
    from ecs_deploy.cli import ecs

    def run():
        failures = []
        for n in NAMES:
            out = io.StringIO()
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                    ecs.main(["deploy", CLUSTER, n, "--image", "app", "nginx:3.0", "--timeout", "3600"], standalone_mode=False)
            except SystemExit as exit:
                if exit.code:
                    failures.append(f"{n}: exit {exit.code}: {out.getvalue()[-500:]}")
            except Exception as error:  # a failed deployment is a result, not a crash of the bench
                failures.append(f"{n}: {error!r}: {out.getvalue()[-500:]}")
        return failures

    return measure("fabfuel ecs-deploy (per service)", run)


# RegisterTaskDefinition's members among DescribeTaskDefinition's answer.
REGISTERABLE = {"family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes", "placementConstraints",
                "requiresCompatibilities", "cpu", "memory", "pidMode", "ipcMode", "proxyConfiguration", "inferenceAccelerators",
                "ephemeralStorage", "runtimePlatform"}


def aws_cli():
    from awscli.clidriver import create_clidriver

    def aws(*argv):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = create_clidriver().main(list(argv))
        return code, out.getvalue()

    def run():
        failures = []
        for n in NAMES:
            # The new revision is the running one with the new image, as a careful script makes it.
            code, output = aws("ecs", "describe-services", "--cluster", CLUSTER, "--services", n,
                               "--query", "services[0].taskDefinition", "--output", "text")
            if code == 0:
                code, output = aws("ecs", "describe-task-definition", "--task-definition", output.strip(), "--query", "taskDefinition")
            if code != 0:
                failures.append(f"{n}: aws ecs describe: {output[-500:]}")
                continue
            definition = {k: v for k, v in json.loads(output).items() if k in REGISTERABLE}
            for container in definition["containerDefinitions"]:
                if container["name"] == "app":
                    container["image"] = "nginx:4.0"
            for argv in (["ecs", "register-task-definition", "--cli-input-json", json.dumps(definition)],
                         ["ecs", "update-service", "--cluster", CLUSTER, "--service", n, "--task-definition", n],
                         ["ecs", "wait", "services-stable", "--cluster", CLUSTER, "--services", n]):
                code, output = aws(*argv)
                if code != 0:
                    failures.append(f"{n}: aws {' '.join(argv[:2])}: {output[-500:]}")
                    break
        return failures

    return measure("aws-cli (per service)", run)


def main():
    global ENDPOINT
    sim_port = free_port()
    with open(os.path.join(WORK, "simulate.yaml"), "w") as f:
        f.write(f"""server:
  host: 127.0.0.1
storage:
  path: {WORK}/simulator/state.sqlite
mock:
  controller: ecs
  throttle: true
  speedup: {SPEEDUP}
""")
    start([os.path.abspath(args.server), "simulate", "-port", str(sim_port), "-config", os.path.join(WORK, "simulate.yaml")],
          "simulate.log", "simulated AWS endpoint listening", dict(os.environ, **ENV))
    ENDPOINT = f"http://127.0.0.1:{sim_port}"
    os.environ.update(ENV)
    os.environ["AWS_ENDPOINT_URL"] = ENDPOINT
    # The services, created on the fly (ECS controller, 3 tasks each) and left to settle.
    import boto3
    client = boto3.client("ecs")
    for i in range(0, len(NAMES), 10):
        client.describe_services(cluster=CLUSTER, services=NAMES[i:i + 10])
    time.sleep(120)

    runs = {"ours": ours, "ecs-deploy": ecs_deploy, "aws-cli": aws_cli}
    results = []
    for peer in args.peers.split(","):
        results.append(runs[peer.strip()]())
        time.sleep(120)  # the throttle buckets refill before the next tool

    print(f"\n{args.services} services, one image change each; simulator at {SPEEDUP:g}x with AWS's throttles\n")
    print(f"{'tool':34} {'simulated s':>12} {'real s':>8} {'calls/service':>14} {'throttled':>10}")
    for r in results:
        total = sum(r["calls"].values())
        print(f"{r['name']:34} {r['simulated']:12.0f} {r['real']:8.1f} {total / args.services:14.1f} {r['throttled']:10d}")
    for r in results:
        by_op = ", ".join(f"{op.split(':')[1]} {n / args.services:.1f}" for op, n in sorted(r["calls"].items(), key=lambda kv: -kv[1]))
        print(f"  {r['name']}: {by_op}")
        for failure in r["failures"][:5]:
            print(f"  FAILED {failure}")
    if len(results) > 1 and results[0]["name"].startswith("ours"):
        fastest_peer = min(r["simulated"] for r in results[1:])
        print(f"\nours is {fastest_peer / max(results[0]['simulated'], 1e-9):.1f}x faster than the fastest peer (target: at least 10x)")
    if any(r["failures"] for r in results):
        sys.exit(1)


try:
    main()
finally:
    stop_all(children)
    shutil.rmtree(WORK, ignore_errors=True)
