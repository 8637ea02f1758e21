#!/usr/bin/env bash
# Builds orchestrator-core with no features, with each feature alone and with all of them, and
# holds the engine-only build to its dependency budget: at most 70 crates, none of them an HTTP,
# TLS, SQLite, YAML or retry crate.
set -euo pipefail
cd "$(dirname "$0")/.."
features=$(sed -n '/^\[features\]/,/^\[/p' orchestrator-core/Cargo.toml | grep -oE '^[a-z][a-z-]*' | grep -v '^default$')
cargo clippy -q -p orchestrator-core --no-default-features -- -D warnings
for f in $features; do
  echo "== orchestrator-core --features $f"
  cargo clippy -q -p orchestrator-core --no-default-features --features "$f" -- -D warnings
done
cargo clippy -q -p orchestrator-core --all-features -- -D warnings
crates=$(cargo tree -p orchestrator-core --no-default-features -e normal --prefix none | sed 's/ (\*)//' | sort -u)
n=$(echo "$crates" | wc -l)
echo "engine-only build: $n crates"
[ "$n" -le 70 ] || { echo "over the budget of 70 crates" >&2; exit 1; }
if bad=$(echo "$crates" | grep -E '^(rusqlite|reqwest|hyper|rustls|serde_yaml_ng|governor|backon) '); then
  echo "the engine-only build pulls in: $bad" >&2
  exit 1
fi
