#!/usr/bin/env bash
# The main job on a fresh machine: install and start the local model (cached after the first
# run), then run a real deliberation of a 3-agent DEV council against it: a code task with a
# small test suite run in the sandbox, printing each proposal's tests, the winner and why.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/local-model.sh start
eval "$(scripts/local-model.sh env)"
export LLM_BASE_URL LLM_MODEL LLM_PROVIDER
export LLM_MAX_TOKENS=${LLM_MAX_TOKENS:-160}
# The local model is a base model: it continues code (completion mode) rather than chatting.
export LLM_API=${LLM_API:-completions}
# Agents at 0.1, 0.3 and 0.5: a small model writes working code at low temperatures.
export LLM_TEMPERATURE=${LLM_TEMPERATURE:-0.3}
cargo run --release -q -p orchestrator-core --example llm_deliberation
