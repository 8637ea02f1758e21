"""Shared endpoints: an Endpoint object passed to LlmAgent and JudgeScorer, no process-wide
registry, and settings that can never be silently ignored."""
import http.server
import socket
import threading
import time

import orchestrator as o
import pytest


class Hangs(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        time.sleep(30)

    def log_message(self, *args):
        pass


@pytest.fixture
def hanging_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hangs)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_the_endpoint_timeout_holds_for_every_agent_on_it(hanging_server):
    ep = o.Endpoint(hanging_server, timeout=0.5, max_attempts=1, api_key="sk-never-shown-123")
    assert ep.timeout == 0.5 and ep.base_url == hanging_server
    assert "sk-never" not in repr(ep)
    agents = [o.LlmAgent(f"a{i}", "m", endpoint=ep) for i in range(2)]
    start = time.monotonic()
    with pytest.raises(o.OrchestratorError):
        o.Deliberation("t", agents=agents, rounds=0).run_sync()
    assert time.monotonic() - start < 10, "the 0.5 s endpoint timeout was not applied"


def test_two_endpoints_on_one_url_keep_their_own_settings(hanging_server):
    # The old process-wide registry kept the first config seen for a URL: the second agent's
    # timeout was ignored. Now an agent's own endpoint is its own.
    slow = o.LlmAgent("slow", "m", hanging_server, timeout=60.0, max_attempts=1)
    fast = o.LlmAgent("fast", "m", hanging_server, timeout=0.5, max_attempts=1)
    del slow
    start = time.monotonic()
    with pytest.raises(o.OrchestratorError):
        o.Deliberation("t", agents=[fast], rounds=0).run_sync()
    assert time.monotonic() - start < 10


def test_settings_next_to_a_shared_endpoint_are_refused_not_ignored():
    ep = o.Endpoint("http://127.0.0.1:9/v1")
    with pytest.raises(o.InvalidInputError, match="timeout"):
        o.LlmAgent("a", "m", endpoint=ep, timeout=5.0)
    with pytest.raises(o.InvalidInputError, match="not both"):
        o.LlmAgent("a", "m", "http://127.0.0.1:9/v1", endpoint=ep)
    with pytest.raises(o.InvalidInputError, match="base_url"):
        o.LlmAgent("a", "m")
    with pytest.raises(o.InvalidInputError, match="api_key"):
        o.JudgeScorer("m", endpoint=ep, api_key="k")
    o.JudgeScorer("m", endpoint=ep)  # shared by a judge too


def test_agents_on_one_endpoint_share_its_breaker():
    # A port nothing listens on: every call fails to connect.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ep = o.Endpoint(f"http://127.0.0.1:{port}/v1", max_attempts=1)
    assert not ep.circuit_open()
    agents = [o.LlmAgent(f"a{i}", "m", endpoint=ep) for i in range(6)]
    with pytest.raises(o.BackendError):
        o.Deliberation("t", agents=agents, rounds=0).run_sync()
    # Six agents' failures landed on the one breaker (threshold 5): it is open for all of them.
    assert ep.circuit_open()
