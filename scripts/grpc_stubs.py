"""The API's Python stubs, compiled from proto/deployment.proto at run time (grpcio-tools):
used by the fuzzer (scripts/fuzz) and the soak (scripts/soak.py)."""
import importlib
import importlib.resources
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_stubs(work):
    """Compiles proto/deployment.proto for Python into `work` and imports it:
    (deployment_pb2, deployment_pb2_grpc)."""
    from grpc_tools import protoc
    include = str(importlib.resources.files("grpc_tools") / "_proto")
    code = protoc.main(["protoc", f"-I{ROOT}/proto", f"-I{include}", f"--python_out={work}",
                        f"--grpc_python_out={work}", "deployment.proto"])
    if code != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, work)
    return importlib.import_module("deployment_pb2"), importlib.import_module("deployment_pb2_grpc")
