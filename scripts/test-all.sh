#!/usr/bin/env bash
# Runs every test: the fast deterministic tier, then the slow tier against the real local model.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== fast tier: Rust unit, property and integration tests (scripted agents, fake HTTP servers)"
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc -q

echo "== slow tier: real local model (Gemma 3 270M behind llama-server)"
scripts/local-model.sh start
eval "$(scripts/local-model.sh env)"
export LLM_BASE_URL LLM_MODEL
cargo nextest run --workspace --run-ignored only --no-fail-fast
