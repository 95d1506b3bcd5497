#!/usr/bin/env python3
"""Malformed requests against the real server (make fuzz).

Every RPC, the deployment.yaml of a release and the HTTP endpoints get generated malformed
input (hypothesis), in batches; after each batch the server is stopped and started again on
the same data folder. A crash, a crash at restart, a hang or an INTERNAL (or UNKNOWN) status
fails the run; the cases that caused it are printed and written to fuzz-failures.json.

    python3 scripts/fuzz/fuzz.py --server .build/debug/grpc-server --batches 10 --cases 1000
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import grpc
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from grpc_stubs import load_stubs  # noqa: E402
LISTENING = re.compile(r"listening on [^:]+:(\d+) .*?on [^:]+:(\d+)")


class Server:
    """The built grpc-server in mock mode, on ephemeral ports, with a data folder that outlives restarts."""

    def __init__(self, binary, folder):
        self.binary, self.folder, self.process, self.log = binary, folder, None, ""
        repo = os.path.join(folder, "repo")
        os.makedirs(repo, exist_ok=True)
        git = ["git", "-c", "user.name=Fuzz", "-c", "user.email=fuzz@example.com"]
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        with open(os.path.join(repo, "deployment.yaml"), "w") as f:
            f.write("services:\n  - service: api\n    clusterName: prod\n    serviceName: api\n    image: nginx:2\n")
        subprocess.run(git + ["add", "."], cwd=repo, check=True)
        subprocess.run(git + ["commit", "-q", "-m", "fuzz"], cwd=repo, check=True)
        self.config = os.path.join(folder, "config.yaml")
        with open(self.config, "w") as f:
            f.write(f"""server: {{host: 127.0.0.1, port: 0, metrics_port: 0}}
mock: {{enabled: true, speedup: 1000}}
storage: {{path: {folder}/data/ecs-deploy.sqlite}}
gitops: {{repo: {repo}, poll_interval: 1h, webhook_secret: fuzz-secret}}
strategy:
  hooks:
    definitions: {{smoke: "exec:true"}}
""")

    def start(self):
        self.log = ""
        out = open(os.path.join(self.folder, "server.log"), "a")
        self.process = subprocess.Popen([self.binary, "-config", self.config], cwd=self.folder, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.process.returncode} at start:\n{self.log[-4000:]}")
                continue
            self.log += line
            out.write(line)
            m = LISTENING.search(line)
            if m:
                self.grpc_port, self.http_port = int(m.group(1)), int(m.group(2))
                # Keep reading its output so that the pipe never fills.
                import threading
                threading.Thread(target=self._drain, args=(out,), daemon=True).start()
                return
        raise RuntimeError("the server did not start within 60 s")

    def _drain(self, out):
        for line in self.process.stdout:
            out.write(line)

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        if not self.alive():
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise RuntimeError("the server did not stop within 60 s of SIGTERM")


# MARK: What is generated

KEYS = ["timeout", "poll_interval", "canary_stages", "stage_timeout", "stabilization_time", "cleanup_delay", "batch_size",
        "batch_delay", "require_approval", "approval_timeout", "health_check_url", "health_check_status",
        "health_check_interval", "canary_target_group", "fail_on_drift", "hook_timeout", "hook_pre_traffic",
        "hook_post_shift", "hook_post_success", "hook_post_rollback"]
DURATIONS = ["inf", "-inf", "nan", "1e30", "1e18", "99999999999999999999h", "-1s", "0", "0s", "1.5h", "9223372036854775807s",
             "1h1h", "5m", "3650d", "3651d", "1e3", "0x10", "١٢s", "5", ".", "1..2s", "10µs", "   ", "PT5M"]
URLS = ["http://127.0.0.1:99999/", "http://169.254.169.254/latest/meta-data/", "exec:touch /tmp/fuzz-pwned", "http://[::1",
        "https://u:p@127.0.0.1:0/", "ftp://x/", "http://" + "a" * 300, "http://[fd00:ec2::254]/", "smoke", "nope",
        "http://127.0.0.1:1/ok?token=secret", "exec:", "http://localhost:65536/"]
STRATEGIES = ["quicksync", "canary", "bluegreen", "rolling", "", "CANARY", "blue-green", "linear", "x" * 1000]

weird_text = st.one_of(st.text(max_size=60), st.sampled_from(["", " ", "\x00", "a" * 129, "../../etc/passwd", "prod/*", "%s%n",
                                                              "arn:aws:ecs:us-east-1:1:service/x/y", "\u202e", "a" * 100_000]))
values = st.one_of(st.sampled_from(DURATIONS), st.sampled_from(URLS), st.sampled_from(["true", "false", "yes", "2", "-1", "101",
                                                                                       "10,25,50,100", "50,10", "0,100", "100"]),
                   st.integers(-10**20, 10**20).map(str), st.floats().map(str), weird_text)
configs = st.dictionaries(st.one_of(st.sampled_from(KEYS), weird_text), values, max_size=6)
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(), st.text(max_size=20)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                           max_leaves=12)
taskdefs = st.one_of(
    st.builds(lambda fam, containers: json.dumps({"family": fam, "containerDefinitions": containers}),
              st.one_of(st.sampled_from(["web", "api"]), weird_text),
              st.lists(st.fixed_dictionaries({"name": weird_text, "image": weird_text}), max_size=3)),
    json_values.map(json.dumps), weird_text)
manifests = st.one_of(
    st.builds(lambda svc, cluster, image, cfg, approval, wave: (
        f"approval: {approval}\nservices:\n  - service: {svc}\n    clusterName: {cluster}\n    serviceName: {svc}\n"
        f"    image: {image}\n    wave: {wave}\n    config: {json.dumps(cfg)}\n"),
        st.one_of(st.sampled_from(["api", "web"]), weird_text.map(json.dumps)), st.sampled_from(["prod", "staging", "\"\""]),
        st.one_of(st.sampled_from(["nginx:3", "repo/x:1"]), weird_text.map(json.dumps)), configs,
        st.sampled_from(["required", "false", "maybe", "[]"]), st.one_of(st.integers(-5, 10**12), weird_text.map(json.dumps))),
    st.sampled_from(["services: [", "tasks:\n  - service: a\n    cwRuleName: b\n    image: c\n", "&a [*a]", "!!python/object:os.system ls",
                     "services:\n" + "  - service: s\n" * 3, "a: " + "[" * 500, "maxParallel: -1\nservices: []\n"]),
    st.text(max_size=300))


def rpc_cases(pb):
    S = pb.DeploymentStatus.values()
    ids = st.one_of(st.sampled_from(["fz-1", "fz-2", "fz-3", "release-fz"]), weird_text)
    deploy = st.builds(lambda i, c, s, t, strat, cfg, by: ("Deploy", pb.DeployRequest(
        deployment_id=i, cluster=c, service=s, task_definition=t, strategy=strat, config=cfg, requested_by=by)),
        ids, st.one_of(st.sampled_from(["prod", "staging"]), weird_text), st.one_of(st.sampled_from(["api", "web"]), weird_text),
        taskdefs, st.one_of(st.sampled_from(STRATEGIES), weird_text), configs, weird_text)
    by_id = st.builds(lambda m, i: (m, pb.GetStatusRequest(deployment_id=i)), st.sampled_from(["GetStatus", "GetRelease"]), ids)
    rollback = st.builds(lambda m, i, by, r: (m, pb.RollbackRequest(deployment_id=i, requested_by=by, reason=r)),
                         st.sampled_from(["Rollback", "RollbackRelease"]), ids, weird_text, weird_text)
    approval = st.builds(lambda m, i, a, r: (m, pb.ApprovalRequest(deployment_id=i, approver=a, reason=r)),
                         st.sampled_from(["Approve", "Reject", "ApproveRelease", "RejectRelease"]), ids, weird_text, weird_text)
    timestamps = st.integers(-2**62, 2**62)
    listing = st.builds(lambda c, s, statuses, size, token, after, before: ("ListDeployments", pb.ListDeploymentsRequest(
        cluster=c, service=s, statuses=statuses, page_size=size, page_token=token,
        created_after={"seconds": after}, created_before={"seconds": before})),
        weird_text, weird_text, st.lists(st.sampled_from(list(S) + [99, -1]), max_size=3), st.integers(-2**31, 2**31 - 1), weird_text,
        timestamps, timestamps)
    releases = st.builds(lambda size: ("ListReleases", pb.ListReleasesRequest(page_size=size)), st.integers(-2**31, 2**31 - 1))
    watch = st.builds(lambda m, i: (m, pb.WatchRequest(deployment_id=i)), st.sampled_from(["WatchDeployment", "WatchRelease"]), ids)
    drift = st.builds(lambda c, s: ("DetectDrift", pb.DriftRequest(cluster=c, service=s)), weird_text, weird_text)
    windows = st.builds(lambda c, s: ("GetWindows", pb.DriftRequest(cluster=c, service=s)), weird_text, weird_text)
    release = st.builds(lambda i, m, f, plan, by, at: ("SubmitRelease", pb.ReleaseRequest(
        release_id=i, manifest=m, file_name=f, plan_only=plan, requested_by=by, start_at=at)),
        ids, manifests, st.one_of(st.just(""), weird_text), st.booleans(), weird_text,
        st.one_of(st.just(""), st.sampled_from(["2030-01-01T00:00:00Z", "2000-01-01T00:00:00Z", "2026-12-24T11:00:00 Mars/X"]), weird_text))
    return st.one_of(deploy, deploy, by_id, rollback, approval, listing, releases, watch, drift, windows, release, release)


http_cases = st.builds(lambda method, path, headers, body: ("HTTP", method, path, headers, body),
                       st.sampled_from(["GET", "POST", "PUT", "DELETE", "BREW", "G\x00T"]),
                       st.one_of(st.sampled_from(["/health", "/metrics", "/hooks/git", "/", "/hooks/git/../../metrics", "//",
                                                  # the dashboard
                                                  "/?status=NOPE&since=99y&cluster=%00", "/login", "/logout", "/login/oidc",
                                                  "/login/oidc/callback?code=x&state=y", "/deployments/fz-1", "/deployments/%ZZ",
                                                  "/deployments/fz-1/approve", "/releases/release-fz/rollback",
                                                  "/deployments/fz-1/events?after=-9999999999999999999", "/releases/x/events",
                                                  "/services/prod/api?drift=1", "/services/%2F/%00", "/audit?verify=1&type=%FF",
                                                  "/static/dashboard.js", "/events"]),
                                 st.text(max_size=50).map(lambda s: "/" + s)),
                       st.dictionaries(st.sampled_from(["X-Hub-Signature-256", "X-Gitlab-Token", "Content-Length", "Transfer-Encoding",
                                                        "Host", "X-Long"]),
                                       st.one_of(st.sampled_from(["sha256=00", "fuzz-secret", "-1", "chunked", "99999999999", "x" * 9000]),
                                                 st.text(max_size=30)), max_size=4),
                       st.binary(max_size=2000))


# MARK: Running

class Run:
    def __init__(self, server, pb, grpc_mod):
        self.server, self.pb, self.grpc_mod = server, pb, grpc_mod
        self.failures, self.count = [], 0
        self.codes = {}
        self.connect()

    def connect(self):
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.server.grpc_port}",
                                             options=[("grpc.max_send_message_length", 64 << 20),
                                                      ("grpc.max_receive_message_length", 64 << 20)])
        self.stub = self.grpc_mod.DeploymentServiceStub(self.channel)

    def fail(self, kind, case, detail):
        shown = repr(case)
        self.failures.append({"kind": kind, "case": shown[:4000], "detail": str(detail)[:4000]})
        print(f"FAIL {kind}: {shown[:300]} -> {str(detail)[:300]}", flush=True)

    def healthy(self):
        try:
            self.stub.ListReleases(self.pb.ListReleasesRequest(page_size=1), timeout=10)
            return True
        except grpc.RpcError as e:
            return e.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)

    def rpc(self, case):
        method, request = case
        call = getattr(self.stub, method)
        code_name = "OK"
        try:
            if method.startswith("Watch"):
                stream = call(request, timeout=2)
                for i, _ in enumerate(stream):
                    if i >= 3:
                        stream.cancel()
                        break
            else:
                call(request, timeout=15)
        except grpc.RpcError as e:
            code = e.code()
            code_name = code.name
            if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
                self.fail("internal", case, f"{code}: {e.details()}")
            elif code == grpc.StatusCode.DEADLINE_EXCEEDED and not method.startswith("Watch"):
                self.check_alive(case, "hang")
            elif code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                self.check_alive(case, "unavailable")
        key = f"{method} {code_name}"
        self.codes[key] = self.codes.get(key, 0) + 1

    def http(self, case):
        _, method, path, headers, body = case
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for k, v in headers.items():
            head += f"{k}: {v}\r\n"
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
            head += f"Content-Length: {len(body)}\r\n"
        data = head.encode("utf-8", "surrogateescape") + b"Connection: close\r\n\r\n" + body
        try:
            with socket.create_connection(("127.0.0.1", self.server.http_port), timeout=10) as s:
                s.sendall(data)
                answer = s.recv(64)
            status = answer.split(b" ")[1] if answer.startswith(b"HTTP/1.1 ") else b""
            if status.startswith(b"5") and status != b"503":
                self.fail("http-5xx", case, answer[:64])
        except (socket.timeout, TimeoutError):
            self.check_alive(case, "http-hang")
        except (ConnectionResetError, BrokenPipeError, ConnectionRefusedError) as e:
            if not self.server.alive():
                self.fail("crash", case, e)

    def check_alive(self, case, kind):
        if not self.server.alive():
            self.fail("crash", case, f"exit status {self.server.process.returncode}\n{self.server.log[-2000:]}")
            self.restart(after_crash=True)
        elif not self.healthy():
            self.fail(kind, case, "the server stopped answering")

    def restart(self, after_crash=False):
        if not after_crash:
            status = self.server.stop()
            if status not in (0, None):
                self.fail("crash", "graceful stop", f"exit status {status}")
        try:
            self.server.start()
        except RuntimeError as e:
            self.fail("crash-at-restart", "start on the same data", e)
            raise SystemExit(self.report())
        self.connect()

    def report(self):
        if self.failures:
            with open("fuzz-failures.json", "w") as f:
                json.dump(self.failures, f, indent=2)
            print("the failing cases are in fuzz-failures.json")
        for key in sorted(self.codes):
            print(f"  {key}: {self.codes[key]}")
        print(f"{self.count} cases, {len(self.failures)} failures")
        return 1 if self.failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default=os.path.join(ROOT, ".build/debug/grpc-server"))
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--cases", type=int, default=1000, help="cases per batch")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="ecs-deploy-fuzz-")
    try:
        pb, grpc_mod = load_stubs(work)
        server = Server(args.server, work)
        server.start()
        run = Run(server, pb, grpc_mod)
        cases = st.one_of(rpc_cases(pb), rpc_cases(pb), rpc_cases(pb), http_cases)
        for batch in range(args.batches):
            @seed(args.seed * 1000 + batch)
            @settings(max_examples=args.cases, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(cases)
            def one(case):
                run.count += 1
                run.http(case) if case[0] == "HTTP" else run.rpc(case)

            one()
            print(f"batch {batch + 1}/{args.batches}: {run.count} cases so far, {len(run.failures)} failures; restarting", flush=True)
            run.restart()
        server.stop()
        code = run.report()
        print(f"{run.count - len(run.failures)} passed, {len(run.failures)} failed")
        return code
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
