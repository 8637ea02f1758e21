#!/usr/bin/env bash
# The published load test: release service beside the Python reference, same h2load client.
#   bash bench/load/run.sh           full run, writes docs/PERFORMANCE.md (about 10 minutes)
#   bash bench/load/run.sh --smoke   a few seconds per service, writes nothing
#   BENCH_VENV=dir picks the Python venv (grpcio); BENCH_PROFILE=debug loads the debug build
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v h2load >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >/dev/null
fi
venv="${BENCH_VENV:-${TMPDIR:-/tmp}/orchestrator-bench-venv}"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -m pip install -q grpcio grpcio-tools grpcio-health-checking grpcio-reflection
if [ "${BENCH_PROFILE:-release}" = release ]; then
  cargo build --release -q -p orchestrator-grpc --bin orchestrator
else
  cargo build -q -p orchestrator-grpc --bin orchestrator   # BENCH_PROFILE=debug: harness check only
fi
exec "$venv/bin/python" bench/load/run.py "$@"
