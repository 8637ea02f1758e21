"""Fixtures: the real `orchestrator` binary on an ephemeral port, with a scripted DEV council.

Run in a venv where ``pip install "./orchestrator-py[grpc]"`` installed the package (see
scripts/test-all.sh); ORCHESTRATOR_BIN names the binary (default: target/debug/orchestrator).
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import tempfile
import threading
from collections.abc import Iterator

import grpc
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("ORCHESTRATOR_BIN", ROOT / "target" / "debug" / "orchestrator"))


class Server:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        assert BIN.exists(), f"build the binary first (cargo build -p orchestrator-grpc): {BIN}"
        self.dir = tempfile.TemporaryDirectory()
        e = {"PATH": "/usr/bin:/bin", "GRPC_PORT": "0", "METRICS_PORT": "0", "RUST_LOG": "warn",
             "ORCHESTRATOR_DATA_DIR": self.dir.name, "ORCHESTRATOR_ALLOW_TEST_AGENTS": "1"}
        e.update(env or {})
        self.proc = subprocess.Popen([str(BIN), "serve"], env=e, stdout=subprocess.PIPE, text=True)
        ready = threading.Event()
        self.port = 0

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith("Orchestrator Service listening on port "):
                    self.port = int(line.rsplit(" ", 1)[1])
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(20), "server did not start"
        self.target = f"127.0.0.1:{self.port}"

    def council(self, role: str = "DEV", n: int = 3, token: str | None = None) -> None:
        """A council of built-in scripted agents, created through the installed stubs."""
        from orchestrator.v1 import orchestrator_pb2 as pb
        from orchestrator.v1 import orchestrator_pb2_grpc as pbg

        with grpc.insecure_channel(self.target) as channel:
            md = (("authorization", f"Bearer {token}"),) if token else ()
            pbg.OrchestratorServiceStub(channel).CreateCouncil(
                pb.CreateCouncilRequest(role=role, num_agents=n, config=pb.CouncilConfig(agent_type="scripted", deliberation_rounds=1,
                                                                                 enable_peer_review=True)),
                metadata=md, timeout=20)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.dir.cleanup()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    s.council()
    yield s
    s.stop()
