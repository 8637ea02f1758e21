#!/usr/bin/env bash
# The published load test: release service beside the Python reference, same h2load client.
#   bash bench/load/run.sh --cluster --stores   full run with the NATS cluster and SQLite/Redis rows,
#                                               writes docs/PERFORMANCE.md
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
case " $* " in *" --stores "*)
  if ! command -v redis-server >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi ;;
esac
case " $* " in *" --cluster "*)
  if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  fi ;;
esac
if [ "${BENCH_PROFILE:-release}" = release ]; then
  cargo build --release -q -p orchestrator-grpc --bin orchestrator --example bench_submit
else   # BENCH_PROFILE=debug: harness check only
  cargo build -q -p orchestrator-grpc --bin orchestrator --example bench_submit
fi
exec "$venv/bin/python" bench/load/run.py "$@"
