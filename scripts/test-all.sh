#!/usr/bin/env bash
# Runs every test: the fast deterministic tier, then the slow tiers that need real servers.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== fast tier: Rust unit, property and integration tests"
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc
