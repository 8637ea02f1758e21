"""Fixtures: Python stubs generated from our .proto with grpcio-tools, and the real
`orchestrator` binary started on an ephemeral port."""
import os
import pathlib
import subprocess
import sys
import tempfile
import threading

import grpc
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
PROTO = ROOT / "proto"
BIN = pathlib.Path(os.environ.get("ORCHESTRATOR_BIN", ROOT / "target" / "debug" / "orchestrator"))


@pytest.fixture(scope="session")
def pb():
    """(orchestrator_pb2, orchestrator_pb2_grpc) generated from proto/orchestrator/v1/orchestrator.proto."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="orch-stubs-")
    rc = protoc.main(["protoc", f"-I{PROTO}", f"--python_out={out}", f"--grpc_python_out={out}",
                      str(PROTO / "orchestrator" / "v1" / "orchestrator.proto")])
    assert rc == 0, "protoc failed"
    sys.path.insert(0, out)
    from orchestrator.v1 import orchestrator_pb2, orchestrator_pb2_grpc

    return orchestrator_pb2, orchestrator_pb2_grpc


class Server:
    def __init__(self, env=None):
        assert BIN.exists(), f"build the binary first: {BIN}"
        self.dir = tempfile.TemporaryDirectory()
        e = {"PATH": "/usr/bin:/bin", "GRPC_PORT": "0", "METRICS_PORT": "0", "RUST_LOG": "warn",
             "ORCHESTRATOR_DATA_DIR": self.dir.name, "ORCHESTRATOR_ALLOW_TEST_AGENTS": "1"}
        e.update(env or {})
        self.proc = subprocess.Popen([str(BIN), "serve"], env=e, stdout=subprocess.PIPE, text=True)
        ready = threading.Event()
        self.port = None

        def read():
            for line in self.proc.stdout:
                if line.startswith("Orchestrator Service listening on port "):
                    self.port = int(line.rsplit(" ", 1)[1])
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(20), "server did not start"
        self.target = f"127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.dir.cleanup()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def stub(pb, server):
    _, pb_grpc = pb
    channel = grpc.insecure_channel(server.target)
    yield pb_grpc.OrchestratorServiceStub(channel)
    channel.close()


def scripted_council(pb, stub, role, n=3, latency_ms=0):
    pb2, _ = pb
    return stub.CreateCouncil(pb2.CreateCouncilRequest(
        role=role, num_agents=n,
        config=pb2.CouncilConfig(deliberation_rounds=1, enable_peer_review=True, agent_type="scripted",
                                 custom_params={"latency_ms": str(latency_ms)})))
