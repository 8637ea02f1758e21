#!/usr/bin/env python3
"""Load test: the release `orchestrator` service beside the Python reference, same client, same run.

    bash bench/load/run.sh            # full run (median of 3), writes docs/PERFORMANCE.md
    bash bench/load/run.sh --smoke    # about 5 seconds per service, prints figures, writes nothing

Both services get instant agents (ours: built-in scripted agents with zero latency; the reference:
REFERENCE_INSTANT_AGENTS=1) and the same request bodies, built from proto/. The client is h2load
(Debian nghttp2-client) on one connection; per-request latencies come from its --log-file.

h2load counts every HTTP 200 as a success, and gRPC reports errors as HTTP 200 with a grpc-status
trailer, so before loading a service this script sends the same request through a real gRPC
client and refuses to go on unless it answers OK with one ranked result per agent. After each
load it compares the server's own count of completed deliberations with the requests sent.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# BENCH_PROFILE=debug loads the debug build: for checking the harness (CI's smoke run), not figures.
PROFILE = os.environ.get("BENCH_PROFILE", "release")
BINARY = ROOT / "target" / PROFILE / "orchestrator"
BENCH_SUBMIT = ROOT / "target" / PROFILE / "examples" / "bench_submit"
REFERENCE = ROOT / "bench" / "reference" / "reference_grpc_service.py"
METHOD = "/orchestrator.v1.OrchestratorService/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stubs(tmp: Path):
    from grpc_tools import protoc

    out = tmp / "stubs"
    out.mkdir()
    include = Path(protoc.__file__).parent / "_proto"
    rc = protoc.main(["protoc", f"-I{ROOT / 'proto'}", f"-I{include}", f"--python_out={out}",
                      f"--grpc_python_out={out}", "orchestrator/v1/orchestrator.proto"])
    if rc != 0:
        sys.exit("protoc failed on proto/orchestrator/v1/orchestrator.proto")
    sys.path.insert(0, str(out))
    from orchestrator.v1 import orchestrator_pb2 as pb  # type: ignore[import-not-found]
    from orchestrator.v1 import orchestrator_pb2_grpc as pbg  # type: ignore[import-not-found]

    return pb, pbg


def frame(message) -> bytes:
    body = message.SerializeToString()
    return b"\x00" + len(body).to_bytes(4, "big") + body


def wait_ready(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not listen on {port} within 60 s")


class Service:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path):
        self.name, self.port = name, port
        with open(log, "w") as out:
            self.proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
        wait_ready(port, self.proc, name)

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident set in MB, from /proc."""
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_ours(tmp: Path, agents: int, nats_url: str = "", name: str = "ours", redis_url: str = "") -> Service:
    port = free_port()
    config = tmp / f"{name}.yaml"
    config.write_text(json.dumps({  # JSON is YAML
        "service": {"port": port, "host": "127.0.0.1", "metrics_port": 0, "max_concurrent_requests": 4096},
        "storage": {"path": str(tmp / f"{name}-data")},
        "submissions": {"queue_capacity": 100_000},
        "nats": {"url": nats_url, "replica_id": name},
        "allow_test_agents": True,
        "agents": {"DEV": [{"kind": "scripted", "latency_ms": 0} for _ in range(agents)]},
    }))
    env = {"RUST_LOG": "info"} | ({"REDIS_URL": redis_url} if redis_url else {})
    return Service("orchestrator", [str(BINARY), "serve", "--config", str(config)], env, port, tmp / f"{name}.log")


def submit_latency(addrs: list[str], count: int, clients: int) -> dict:
    argv = [str(BENCH_SUBMIT), "--count", str(count), "--concurrency", str(clients)]
    for a in addrs:
        argv += ["--addr", a]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        sys.exit(f"bench_submit failed: {run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def stores(pb, pbg, tmp: Path, args) -> list[dict]:
    """Submissions on the embedded SQLite store and on a local redis-server (appendfsync always)."""
    out = []
    redis_bin = shutil.which("redis-server")
    if not redis_bin:
        sys.exit("redis-server is missing: apt-get install redis-server (bench/load/run.sh does with --stores)")
    rport = free_port()
    (tmp / "redis").mkdir()
    with open(tmp / "redis.log", "w") as log:
        redis = subprocess.Popen([redis_bin, "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp / "redis")],
                                 stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(rport, redis, "redis-server")
        for store, url in (("SQLite", ""), ("Redis (appendfsync always)", f"redis://127.0.0.1:{rport}")):
            svc = start_ours(tmp, 3, name=f"store-{len(out)}", redis_url=url)
            try:
                latency = submit_latency([f"http://127.0.0.1:{svc.port}"], args.requests // 10, 16)
                submit = tmp / "store-submit.bin"
                submit.write_bytes(frame(pb.SubmitDeliberationRequest(request=deliberate_request(pb, 3, 1))))
                before = completed(pb, pbg, svc.port)
                rate = h2load(svc.port, "SubmitDeliberation", submit, args.requests // 2, 128, tmp)
                wait_completed(pb, pbg, svc.port, before, args.requests // 2, store, timeout=300)
                out.append({"store": store, "submit_rps": rate["rps"], "submit_p99_ms": rate["p99_ms"]} | latency)
            finally:
                svc.stop()
    finally:
        redis.terminate()
        redis.wait(timeout=20)
    return out


def cluster(pb, pbg, tmp: Path, args) -> list[dict]:
    """Submissions through one and three replicas sharing a real nats-server (JetStream)."""
    nats = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(nats).exists():
        sys.exit("nats-server is missing: apt-get install nats-server (bench/load/run.sh does with --cluster)")
    port = free_port()
    (tmp / "nats").mkdir()
    with open(tmp / "nats.log", "w") as log:
        server = subprocess.Popen([nats, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp / "nats")],
                                  stdout=log, stderr=subprocess.STDOUT)
    out = []
    try:
        wait_ready(port, server, "nats-server")
        replicas: list[Service] = []
        try:
            for n in (1, 3):
                while len(replicas) < n:
                    replicas.append(start_ours(tmp, 3, f"nats://127.0.0.1:{port}", f"replica-{len(replicas)}"))
                latency = submit_latency([f"http://127.0.0.1:{r.port}" for r in replicas], args.requests // 10, 16)
                # Then the submission rate, and how long the replicas take to run that backlog.
                submit = tmp / "cluster-submit.bin"
                submit.write_bytes(frame(pb.SubmitDeliberationRequest(request=deliberate_request(pb, 3, 1))))
                before = sum(completed(pb, pbg, r.port) for r in replicas)
                started = time.time()
                rate = h2load(replicas[0].port, "SubmitDeliberation", submit, args.requests // 2, 128, tmp)
                deadline = time.time() + 600
                while sum(completed(pb, pbg, r.port) for r in replicas) - before < args.requests // 2:
                    if time.time() > deadline:
                        sys.exit("the cluster did not finish its backlog within 600 s")
                    time.sleep(0.1)
                drained = time.time() - started
                out.append({"replicas": n, "submit_rps": rate["rps"], "submit_p99_ms": rate["p99_ms"],
                            "backlog_per_s": (args.requests // 2) / drained} | latency)
        finally:
            for r in replicas:
                r.stop()
    finally:
        server.terminate()
        server.wait(timeout=20)
    return out


def start_reference(tmp: Path, agents: int) -> Service:
    port = free_port()
    env = {"GRPC_PORT": str(port), "REFERENCE_INSTANT_AGENTS": "1", "NUM_AGENTS_PER_ROLE": str(agents)}
    return Service("python reference", [sys.executable, str(REFERENCE), "serve"], env, port, tmp / "reference.log")


def deliberate_request(pb, agents: int, rounds: int):
    return pb.DeliberateRequest(
        task_description="Write a function that parses ISO-8601 durations and returns seconds.",
        role="DEV",
        constraints=pb.TaskConstraints(rubric="Correct, tested, short.", requirements=["unit tests", "error handling"]),
        rounds=rounds,
        num_agents=agents,
    )


def check_answers(pb, pbg, port: int, request, agents: int) -> None:
    """One real gRPC call with the body we are about to load: must be OK with one result per agent."""
    import grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pbg.OrchestratorServiceStub(channel)
        reply = stub.Deliberate(request, timeout=30)
        if len(reply.results) != agents:
            sys.exit(f"port {port}: Deliberate answered {len(reply.results)} results, expected {agents}")
        stub.GetStatus(pb.GetStatusRequest(), timeout=30)


def completed(pb, pbg, port: int) -> int:
    import grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        status = pbg.OrchestratorServiceStub(channel).GetStatus(pb.GetStatusRequest(include_stats=True), timeout=30)
        return status.stats.total_deliberations


def h2load(port: int, rpc: str, body: Path, requests: int, streams: int, tmp: Path) -> dict:
    log = tmp / "h2load.log"
    log.unlink(missing_ok=True)  # h2load appends
    argv = ["h2load", "-n", str(requests), "-c", "1", "-m", str(streams), "-d", str(body),
            "-H", "content-type: application/grpc", "-H", "te: trailers", "--log-file", str(log),
            f"http://127.0.0.1:{port}{METHOD}{rpc}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"h2load failed ({out.returncode}): {out.stdout[-2000:]}{out.stderr[-2000:]}")
    m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", out.stdout)
    ok = re.search(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded", out.stdout)
    if not (m and ok):
        sys.exit(f"cannot read h2load's output:\n{out.stdout}")
    if int(ok.group(2)) != requests:
        sys.exit(f"{rpc} on {port}: only {ok.group(2)} of {requests} requests succeeded:\n{out.stdout}")
    micros = sorted(int(line.split("\t")[2]) for line in log.read_text().splitlines() if line.strip())

    def pct(p: float) -> float:
        return micros[min(len(micros) - 1, round(p / 100 * (len(micros) - 1)))] / 1000

    return {"rps": float(m.group(3)), "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": micros[-1] / 1000}


def median_run(runs: int, fn) -> dict:
    samples = [fn() for _ in range(runs)]
    samples.sort(key=lambda s: s["rps"])
    return samples[len(samples) // 2] | {"runs": [round(s["rps"]) for s in samples]}


def wait_completed(pb, pbg, port: int, before: int, expected: int, what: str, timeout: float = 10) -> float:
    """Wait until the server counts `expected` more deliberations; returns when it did (time.time())."""
    deadline = time.time() + timeout
    done = completed(pb, pbg, port) - before
    while done < expected and time.time() < deadline:  # statistics are recorded off the hot path
        time.sleep(0.05)
        done = completed(pb, pbg, port) - before
    if done != expected:
        sys.exit(f"{what}: the server counted {done} deliberations for {expected} requests")
    return time.time()


def measure(impl, svc, pb, pbg, tmp: Path, args, rows, latency, scaling) -> None:
    port = svc.port
    status_body = tmp / "status.bin"
    status_body.write_bytes(frame(pb.GetStatusRequest()))
    body = tmp / f"{impl}-deliberate.bin"
    request = deliberate_request(pb, 3, 1)
    body.write_bytes(frame(request))
    check_answers(pb, pbg, port, request, 3)

    def load(rpc: str, b: Path, n: int, streams: int) -> dict:
        return h2load(port, rpc, b, n, streams, tmp)

    before = completed(pb, pbg, port)
    rows[(impl, "Deliberate")] = median_run(args.runs, lambda: load("Deliberate", body, args.requests, 64))
    wait_completed(pb, pbg, port, before, args.requests * args.runs, f"{impl} Deliberate")
    rows[(impl, "GetStatus")] = median_run(args.runs, lambda: load("GetStatus", status_body, args.requests, 64))

    # Asynchronous submissions: empty task ids, so the server names each task; 128 streams.
    submit = tmp / f"{impl}-submit.bin"
    submit.write_bytes(frame(pb.SubmitDeliberationRequest(request=request)))
    n_submit = args.requests // 2
    samples = []
    for _ in range(args.runs):
        before = completed(pb, pbg, port)
        started = time.time()
        r = load("SubmitDeliberation", submit, n_submit, 128)
        finished = wait_completed(pb, pbg, port, before, n_submit, f"{impl} SubmitDeliberation", timeout=120)
        samples.append(r | {"all_done_s": finished - started})
    samples.sort(key=lambda x: x["rps"])
    rows[(impl, "SubmitDeliberation")] = samples[len(samples) // 2] | {"runs": [round(x["rps"]) for x in samples]}

    if args.smoke:
        return
    for streams in (1, 64, 512):
        latency[(impl, streams)] = load("Deliberate", body, 5_000 if streams == 1 else args.requests, streams)
    for agents in (3, 8, 16):
        for rounds in (1, 3):
            req = deliberate_request(pb, agents, rounds)
            check_answers(pb, pbg, port, req, agents)
            b = tmp / f"{impl}-{agents}-{rounds}.bin"
            b.write_bytes(frame(req))
            scaling[(impl, agents, rounds)] = load("Deliberate", b, 5_000, 64)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="a few seconds per service; prints, writes nothing")
    ap.add_argument("--runs", type=int, default=3, help="h2load runs per figure; the median is reported")
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "PERFORMANCE.md")
    ap.add_argument("--cluster", action="store_true", help="also submissions through 1 and 3 replicas on nats-server")
    ap.add_argument("--stores", action="store_true", help="also submissions on SQLite beside Redis (redis-server)")
    args = ap.parse_args()
    if args.smoke:
        args.runs, args.requests = 1, (2_000 if PROFILE == "debug" else 5_000)
    for tool in ("h2load",):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install nghttp2-client (bench/load/run.sh does)")
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: cargo build --release -p orchestrator-grpc (bench/load/run.sh does)")

    tmp = Path(tempfile.mkdtemp(prefix="orch-load-"))
    pb, pbg = stubs(tmp)
    rows: dict = {}
    latency: dict = {}
    rss: dict = {}
    scaling: dict = {}
    for impl, start in (("ours", start_ours), ("reference", start_reference)):
        svc = start(tmp, 3 if args.smoke else 16)
        try:
            measure(impl, svc, pb, pbg, tmp, args, rows, latency, scaling)
            rss[impl] = svc.rss_mb()
        finally:
            svc.stop()

    nats = cluster(pb, pbg, tmp, args) if args.cluster else []
    by_store = stores(pb, pbg, tmp, args) if args.stores else []
    print(json.dumps({f"{k[0]} {k[1]}": v for k, v in rows.items()}))
    report = render(rows, latency, rss, scaling, nats, by_store, args)
    print(report)
    if not args.smoke:
        args.out.write_text(report)
        print(f"wrote {args.out}")
    shutil.rmtree(tmp, ignore_errors=True)


def render(rows, latency, rss, scaling, nats, by_store, args) -> str:
    host = f"{os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}"
    lines = [
        "# Performance of the service",
        "",
        "Written by `bash bench/load/run.sh` (do not edit by hand). One h2load connection, instant agents",
        "on both sides (ours: built-in scripted agents with zero latency; the Python reference",
        "`bench/reference/reference_grpc_service.py` with `REFERENCE_INSTANT_AGENTS=1`), the same request",
        "bodies, loaded one after the other in the same run. Deliberate: 3 agents, 1 round.",
        f"Machine: {host}. {args.requests:,} requests per h2load run; figures are the median of {args.runs} runs.",
        "",
        "## Throughput, 64 streams",
        "",
        "| RPC | this project | Python reference | ratio | p50 / p99 (ours) | p50 / p99 (reference) |",
        "|---|---|---|---|---|---|",
    ]
    for rpc in ("Deliberate", "GetStatus"):
        o, r = rows[("ours", rpc)], rows[("reference", rpc)]
        lines.append(f"| {rpc} | {o['rps']:,.0f} req/s | {r['rps']:,.0f} req/s | {o['rps'] / r['rps']:.1f}x | "
                     f"{o['p50_ms']:.2f} / {o['p99_ms']:.2f} ms | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} ms |")
    o, r = rows[("ours", "SubmitDeliberation")], rows[("reference", "SubmitDeliberation")]
    lines += ["", "## Asynchronous submissions, 128 streams", "",
              f"{args.requests // 2:,} `SubmitDeliberation` calls with empty task ids. Ours writes each submission to the",
              "embedded SQLite store (group commit, `synchronous=FULL`) before it answers; the reference keeps",
              "them in a dict. \"All done\" is the time until the server counted every deliberation finished.", "",
              "| service | submissions/s | p50 / p99 | all done |", "|---|---|---|---|",
              f"| this project | {o['rps']:,.0f} | {o['p50_ms']:.2f} / {o['p99_ms']:.2f} ms | {o['all_done_s']:.2f} s |",
              f"| Python reference | {r['rps']:,.0f} | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} ms | {r['all_done_s']:.2f} s |"]
    lines += ["", "Runs (req/s, sorted): " + "; ".join(
        f"{impl} {rpc} {rows[(impl, rpc)]['runs']}" for impl in ("ours", "reference")
        for rpc in ("Deliberate", "GetStatus", "SubmitDeliberation"))]
    if latency:
        lines += ["", "## Deliberate latency by concurrent streams", "",
                  "| streams | ours p50 | ours p99 | ours max | reference p50 | reference p99 | reference max |",
                  "|---|---|---|---|---|---|---|"]
        for s in (1, 64, 512):
            o, r = latency[("ours", s)], latency[("reference", s)]
            lines.append(f"| {s} | {o['p50_ms']:.2f} ms | {o['p99_ms']:.2f} ms | {o['max_ms']:.1f} ms | "
                         f"{r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | {r['max_ms']:.1f} ms |")
        lines += ["", "At 512 streams the client asks for more streams than a server grants on one connection",
                  "(hyper's default is 200 concurrent streams); the rest queue in h2load."]
    if scaling:
        lines += ["", "## How cost grows with agents and rounds (64 streams, 5,000 requests)", "",
                  "| agents | rounds | ours req/s | reference req/s | ratio | ours us per agent call |",
                  "|---|---|---|---|---|---|"]
        for agents in (3, 8, 16):
            for rounds in (1, 3):
                o, r = scaling[("ours", agents, rounds)], scaling[("reference", agents, rounds)]
                calls = agents * (1 + 2 * rounds)
                lines.append(f"| {agents} | {rounds} | {o['rps']:,.0f} | {r['rps']:,.0f} | {o['rps'] / r['rps']:.1f}x | "
                             f"{1e6 / o['rps'] / calls:.1f} |")
        lines += ["", "A deliberation makes agents x (1 + 2 x rounds) agent calls (propose, then critique and",
                  "revise each round); the last column divides our time per deliberation by that count."]
    if nats:
        lines += ["", "## Submissions through a NATS JetStream cluster", "",
                  "Replicas of the release binary sharing one local nats-server. Rate: h2load, 128 streams,",
                  f"{args.requests // 2:,} `SubmitDeliberation` calls to the first replica. Submit to result:",
                  f"`examples/bench_submit.rs`, {args.requests // 10:,} submissions from 16 clients spread over the",
                  "replicas, each polling `GetDeliberationResult` every millisecond (run first, on an idle cluster).",
                  "Backlog run/s: the h2load submissions divided by the time until the replicas finished them all.", "",
                  "| replicas | submissions/s (one replica's endpoint) | submit p99 | backlog run/s | "
                  "submit to result p50 | p99 | completed/s (polling clients) |",
                  "|---|---|---|---|---|---|---|"]
        for c in nats:
            lines.append(f"| {c['replicas']} | {c['submit_rps']:,.0f} | {c['submit_p99_ms']:.2f} ms | {c['backlog_per_s']:,.0f} | "
                         f"{c['result_p50_ms']:.1f} ms | {c['result_p99_ms']:.1f} ms | {c['completed_per_s']:,.0f} |")
    if by_store:
        lines += ["", "## Submissions by store (one release replica)", "",
                  "Rate: h2load, 128 streams, empty task ids. Submit to result: `examples/bench_submit.rs`,",
                  "16 clients polling every millisecond, on an idle service. Both stores answer a submission",
                  "only once it is on disk: SQLite with `synchronous=FULL` (group commit), a local",
                  "redis-server with `appendonly yes`, `appendfsync always`.", "",
                  "| store | submissions/s | submit p99 | submit to result p50 | p99 | completed/s (polling clients) |",
                  "|---|---|---|---|---|---|"]
        for c in by_store:
            lines.append(f"| {c['store']} | {c['submit_rps']:,.0f} | {c['submit_p99_ms']:.2f} ms | "
                         f"{c['result_p50_ms']:.1f} ms | {c['result_p99_ms']:.1f} ms | {c['completed_per_s']:,.0f} |")
    lines += ["", "## Memory", "", "| service | RSS after the runs | peak RSS |", "|---|---|---|"]
    for impl in ("ours", "reference"):
        cur, peak = rss[impl]
        lines.append(f"| {'this project' if impl == 'ours' else 'Python reference'} | {cur:.0f} MB | {peak:.0f} MB |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
