#!/usr/bin/env bash
# PostgreSQL vs SQLite benchmark: a full `tenax sync` of ~1,000,000 VM findings from the
# simulator into each store (findings/s, peak RSS of tenax), then 4 collectors on 4 sources
# syncing into one PostgreSQL at once (aggregate findings/s), then the store's own ingest
# rate (`write_bench`: apply_batch only, no HTTP, parsing or mapping).
#
#   scripts/bench_pg.sh [ASSETS] [PG_URL]
#       ASSETS: VM assets (default 100000 ≈ 1,000,000 findings; ~10 findings per asset)
#       PG_URL: a PostgreSQL database to write fresh schemas into
#               (default $TENAX_BENCH_PG, else postgres://postgres@127.0.0.1:5432/test)
#
# Needs: psql, /usr/bin/time (apt-get install time). Writes the "postgres" section of
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ASSETS=${1:-100000}
PG=${2:-${TENAX_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}}
WORK=$(mktemp -d)
SCHEMAS=()
cleanup() {
  kill "${SIM_PID:-}" 2>/dev/null || true
  for s in "${SCHEMAS[@]}"; do psql "$PG" -qXc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
command -v psql >/dev/null || { echo "bench_pg.sh: psql is needed" >&2; exit 2; }

cargo build --release --locked --bin tenax -p tenax-cli
cargo build --release --locked -p tenax-store --example write_bench
TARGET=${CARGO_TARGET_DIR:-target}
TENAX=$TARGET/release/tenax

# A fresh schema of the benchmark database; prints its store URL.
schema() {
  local name="tenax_bench_$1_$$"
  psql "$PG" -qXc "DROP SCHEMA IF EXISTS $name CASCADE; CREATE SCHEMA $name" >/dev/null
  SCHEMAS+=("$name")
  local sep='?'; [[ "$PG" == *\?* ]] && sep='&'
  echo "${PG}${sep}options=-csearch_path%3D${name}"
}

$TENAX sim --assets "$ASSETS" --sc-hosts 10 --seed 42 --chunk-interval-ms 1 \
  --write-config "$WORK/tenax.toml" >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 3000); do grep -q "wrote" "$WORK/sim.out" 2>/dev/null && break; sleep 0.1; done
FINDINGS=$(grep -o '[0-9]* findings' "$WORK/sim.out" | head -1 | cut -d' ' -f1)
echo "simulator: $ASSETS assets, $FINDINGS findings" >&2

# Four VM sources on the same simulator data, for the concurrent run.
python3 - "$WORK/tenax.toml" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
block = re.search(r'\[\[sources\]\]\nname = "sim-vm"\n(?:(?!\[\[).*\n)*', text).group(0)
extra = "".join("\n" + block.replace('name = "sim-vm"', f'name = "vm-{i}"') for i in range(1, 5))
open(path, "a").write(extra)
PY

# One full sync of sim-vm; echoes "seconds peak_rss_kb stored".
one_sync() {
  local db=$1 out=$2
  /usr/bin/time -f '%e %M' -o "$out" \
    $TENAX --config "$WORK/tenax.toml" --db "$db" --no-progress -q sync sim-vm
  local secs rss
  read -r secs rss <"$out"
  local stored
  stored=$($TENAX --db "$db" runs --source sim-vm --format json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["findings"]["stored"])')
  echo "$secs $rss $stored"
}

read -r L_SECS L_RSS L_STORED < <(one_sync "sqlite://$WORK/bench.db" "$WORK/sqlite.time")
PG_ONE=$(schema one)
read -r P_SECS P_RSS P_STORED < <(one_sync "$PG_ONE" "$WORK/pg.time")

# Four collectors, four sources, one PostgreSQL, all at once.
PG_FOUR=$(schema four)
$TENAX --db "$PG_FOUR" db migrate -q
START=$(date +%s.%N)
PIDS=()
for i in 1 2 3 4; do
  /usr/bin/time -f '%e %M' -o "$WORK/four-$i.time" \
    $TENAX --config "$WORK/tenax.toml" --db "$PG_FOUR" --no-progress -q sync "vm-$i" &
  PIDS+=($!)
done
for p in "${PIDS[@]}"; do wait "$p"; done
END=$(date +%s.%N)
F_STORED=$($TENAX --db "$PG_FOUR" runs --format json |
  python3 -c 'import json,sys; print(sum(r["findings"]["stored"] for r in json.load(sys.stdin)))')
F_RSS=$(cat "$WORK"/four-*.time | awk '{ if ($2 > m) m = $2 } END { print m }')

# The store alone: apply_batch of 200,000 synthetic 4 KB findings, insert then update pass.
WB_PG=$(schema wb)
WB_PG_OUT=$("$TARGET/release/examples/write_bench" --rows 200000 --batch 10000 --url "$WB_PG")
WB_SQ_OUT=$("$TARGET/release/examples/write_bench" --rows 200000 --batch 10000)

rate() { python3 -c "print(round($1/$2))"; }
python3 scripts/md_section.py postgres BENCHMARKS.md <<MD
## PostgreSQL vs SQLite ($(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), PostgreSQL $(psql "$PG" -AtXc 'show server_version'))

\`scripts/bench_pg.sh $ASSETS\`: the simulator (\`--assets $ASSETS --seed 42\`, $FINDINGS findings) in its
own process; release build; the PostgreSQL server on the same machine.

| store | what | findings | wall time | findings/s | peak RSS (tenax) |
|---|---|---|---|---|---|
| SQLite | \`tenax sync sim-vm\` (full) | $L_STORED | ${L_SECS} s | $(rate "$L_STORED" "$L_SECS") | $((L_RSS / 1024)) MB |
| PostgreSQL | \`tenax sync sim-vm\` (full) | $P_STORED | ${P_SECS} s | $(rate "$P_STORED" "$P_SECS") | $((P_RSS / 1024)) MB |
| PostgreSQL | 4 × \`tenax sync vm-N\` at once, 4 sources | $F_STORED | $(python3 -c "print(round($END-$START,2))") s | $(rate "$F_STORED" "($END-$START)") aggregate | $((F_RSS / 1024)) MB (largest) |

Store ingest alone (\`write_bench\`, 200,000 synthetic findings with 4 KB raw JSON, batches of 10,000):

PostgreSQL:
\`\`\`
$WB_PG_OUT
\`\`\`
SQLite:
\`\`\`
$WB_SQ_OUT
\`\`\`
MD
echo "wrote the postgres section of BENCHMARKS.md"
