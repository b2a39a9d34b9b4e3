#!/usr/bin/env bash
# The project's test command (README "Run the tests"): formatting, lints, the whole test suite.
# Installs what it needs (cargo-nextest) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "cargo-nextest not found: installing it from crates.io" >&2
  cargo install cargo-nextest --locked
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo nextest"
cargo nextest run --workspace --locked --no-fail-fast "$@"
