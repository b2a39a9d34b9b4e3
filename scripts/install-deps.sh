#!/usr/bin/env bash
# What the tests need beyond Rust, installed only when missing (safe to run again):
#   - Chromium (Debian package `chromium`) for the dashboard's browser test
#     (crates/server/tests/it/dashboard.rs; TENAX_SKIP_BROWSER=1 skips that test instead);
#   - PostgreSQL's server binaries (Debian package `postgresql`: initdb, postgres) for the
#     PostgreSQL store tests, which start a throwaway server when TENAX_TEST_PG is not set
#     (crates/store/tests/pg; TENAX_SKIP_PG=1 skips them instead);
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

if [ -z "${TENAX_TEST_PG:-}" ] && [ "${TENAX_SKIP_PG:-}" != "1" ] \
  && ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "install-deps: PostgreSQL's initdb not found: installing the Debian package postgresql" >&2
  sudo=""
  if [ "$(id -u)" != "0" ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: cargo-nextest not found: installing it from crates.io" >&2
  cargo install cargo-nextest --locked
fi
