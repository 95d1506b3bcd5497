"""Child processes and ports of the scripts that run the built server (bench_peers, soak)."""
import socket
import subprocess


def free_port():
    """A port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_all(children, grace=30):
    """SIGTERM to each child still running, then SIGKILL to those that did not stop in `grace` s."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
