#!/usr/bin/env bash
# What the tests need beyond Rust, installed only when missing (safe to run again):
#   - Chromium (Debian package `chromium`) for the dashboard's browser test
#     (crates/server/tests/it/dashboard.rs; TENAX_SKIP_BROWSER=1 skips that test instead);
#   - cargo-nextest, the test runner scripts/test.sh uses.
set -euo pipefail

if [ ! -x /usr/bin/chromium ] && [ "${TENAX_SKIP_BROWSER:-}" != "1" ]; then
  echo "install-deps: /usr/bin/chromium not found: installing the Debian package chromium" >&2
  sudo=""
  if [ "$(id -u)" != "0" ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: cargo-nextest not found: installing it from crates.io" >&2
  cargo install cargo-nextest --locked
fi
