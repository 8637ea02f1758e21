#!/usr/bin/env bash
# The main job on a fresh machine: install and start the local model (cached after the first
# run), then run a real deliberation of a 3-agent DEV council against it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/local-model.sh start
eval "$(scripts/local-model.sh env)"
export LLM_BASE_URL LLM_MODEL LLM_PROVIDER
export LLM_MAX_TOKENS=${LLM_MAX_TOKENS:-160}
cargo run --release -q -p orchestrator-core --example llm_deliberation
