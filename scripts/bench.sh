#!/usr/bin/env bash
# Side-by-side benchmark: `tenax sync` into SQLite vs pyTenable's exports.vulns() iteration,
# on the same simulator data in the same run. Writes BENCHMARKS.md.
#
#   scripts/bench.sh [ASSETS] [SC_HOSTS]
#       ASSETS: VM assets (default 20000 ≈ 200,000 findings)
#       SC_HOSTS: Security Center hosts (default 14000 ≈ 100,000 findings)
#
# Needs: python3 with pytenable (installed here if missing), /usr/bin/time (apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
ASSETS=${1:-20000}
SC_HOSTS=${2:-14000}
WORK=$(mktemp -d)
trap 'kill $SIM_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
python3 -c 'import tenable' 2>/dev/null || pip install -q pytenable

cargo build --release --locked --bin tenax
TENAX=${CARGO_TARGET_DIR:-target}/release/tenax

# The simulator in its own process, so each client's RSS is its own.
$TENAX sim --assets "$ASSETS" --sc-hosts "$SC_HOSTS" --seed 42 --chunk-interval-ms 1 --write-config "$WORK/tenax.toml" >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 600); do grep -q "wrote" "$WORK/sim.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o '^url = "http[^"]*"' "$WORK/tenax.toml" | head -1 | cut -d'"' -f2)
SC_KEYS=$(grep -o 'api_keys = "[^"]*"' "$WORK/tenax.toml" | head -1 | cut -d'"' -f2)
SC_AK=$(echo "$SC_KEYS" | sed -E 's/.*accesskey=([^;]*);.*/\1/')
SC_SK=$(echo "$SC_KEYS" | sed -E 's/.*secretkey=([^;]*);.*/\1/')
AK=$(grep -o 'access_key = "[^"]*"' "$WORK/tenax.toml" | cut -d'"' -f2)
SK=$(grep -o 'secret_key = "[^"]*"' "$WORK/tenax.toml" | cut -d'"' -f2)
FINDINGS=$(grep -o '[0-9]* findings' "$WORK/sim.out" | head -1 | cut -d' ' -f1)
SINCE=$(( $(date +%s) - 365*86400 ))

echo "simulator: $URL, $ASSETS assets, $FINDINGS findings"

# tenax: full sync into a fresh SQLite file (parse, map, compress raw JSON, store, reconcile).
/usr/bin/time -f '%e %M' -o "$WORK/tenax.time" \
  $TENAX --config "$WORK/tenax.toml" --db "sqlite://$WORK/bench.db" --no-progress -q sync sim-vm
read -r T_SECS T_RSS <"$WORK/tenax.time"
T_STORED=$($TENAX --db "sqlite://$WORK/bench.db" runs --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["findings"]["stored"])')

# pyTenable: iterate the same export (no storing).
/usr/bin/time -f '%e %M' -o "$WORK/py.time" \
  python3 scripts/bench_pytenable.py "$URL" "$AK" "$SK" "$SINCE" >"$WORK/py.out"
read -r P_SECS P_RSS <"$WORK/py.time"
P_COUNT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["findings"])' "$WORK/py.out")
PYT_VERSION=$(python3 -c 'import tenable; print(tenable.__version__)')

T_RATE=$(python3 -c "print(round($T_STORED/$T_SECS))")
P_RATE=$(python3 -c "print(round($P_COUNT/$P_SECS))")
RATIO=$(python3 -c "print(round($T_RATE/$P_RATE, 1))")

# Security Center, into its own fresh SQLite file: tenax sync (cumulative + patched vulndetails,
# hosts, asset lists) vs
# pyTenable's analysis.vulns(tool='vulndetails') over cumulative + patched.
/usr/bin/time -f '%e %M' -o "$WORK/tenax-sc.time" \
  $TENAX --config "$WORK/tenax.toml" --db "sqlite://$WORK/bench-sc.db" --no-progress -q sync sim-sc
read -r TS_SECS TS_RSS <"$WORK/tenax-sc.time"
TS_STORED=$($TENAX --db "sqlite://$WORK/bench-sc.db" runs --source sim-sc --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["findings"]["stored"])')
/usr/bin/time -f '%e %M' -o "$WORK/py-sc.time" \
  python3 scripts/bench_pytenable_sc.py "$URL" "$SC_AK" "$SC_SK" >"$WORK/py-sc.out"
read -r PS_SECS PS_RSS <"$WORK/py-sc.time"
PS_COUNT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["findings"])' "$WORK/py-sc.out")
TS_RATE=$(python3 -c "print(round($TS_STORED/$TS_SECS))")
PS_RATE=$(python3 -c "print(round($PS_COUNT/$PS_SECS))")
SC_RATIO=$(python3 -c "print(round($TS_RATE/$PS_RATE, 1))")
AVG=$(python3 -c "import os; print(round(os.path.getsize('$WORK/bench.db')/max(1,$T_STORED)))")

python3 scripts/md_section.py sync BENCHMARKS.md <<MD
## Sync throughput vs pyTenable

Measured by \`scripts/bench.sh $ASSETS\` on $(date -u +%Y-%m-%d): $(nproc) cores,
$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB,
release build. The simulator (\`tenax sim --assets $ASSETS --seed 42\`) runs in its own process
and serves the same data to both clients, one after the other, in the same run.

### VM vulnerability export: $FINDINGS findings

| client | what it does | findings | wall time | findings/s | peak RSS |
|---|---|---|---|---|---|
| tenax $(git rev-parse --short HEAD 2>/dev/null || echo dev) | \`tenax sync\` (full): asset + vuln exports, parse, map, keep raw JSON (LZ4), store in SQLite, reconcile | $T_STORED | ${T_SECS} s | $T_RATE | $((T_RSS/1024)) MB |
| pyTenable $PYT_VERSION | \`TenableIO(...).exports.vulns()\` iteration only (no storing) | $P_COUNT | ${P_SECS} s | $P_RATE | $((P_RSS/1024)) MB |

tenax / pyTenable: **${RATIO}×** findings/s (bar: ≥ 5× while storing; peak RSS ≤ 150 MB).
Store size: ~$AVG bytes per finding (normalized columns + compressed raw JSON, WAL checkpointed).

### Security Center analysis: $TS_STORED findings (cumulative + patched)

| client | what it does | findings | wall time | findings/s | peak RSS |
|---|---|---|---|---|---|
| tenax $(git rev-parse --short HEAD 2>/dev/null || echo dev) | \`tenax sync\` (full): vulndetails cumulative + patched pages, hosts, asset lists, parse, map, keep raw JSON, store in SQLite, reconcile | $TS_STORED | ${TS_SECS} s | $TS_RATE | $((TS_RSS/1024)) MB |
| pyTenable $PYT_VERSION | \`TenableSC(...).analysis.vulns(tool='vulndetails')\` iteration, cumulative + patched, 1,000 rows a page (no storing) | $PS_COUNT | ${PS_SECS} s | $PS_RATE | $((PS_RSS/1024)) MB |

tenax / pyTenable: **${SC_RATIO}×** findings/s (bar: ≥ 5× while storing; peak RSS ≤ 150 MB).

### Where tenax's time goes (perf, 198k VM findings, 2026-11-22)

About 50 µs of CPU per VM finding, spread thin, on two cores shared with the simulator:

| part | share | notes |
|---|---|---|
| SQLite writer thread | ~40% | lookup by natural key, row insert + 5 index entries, WAL frames at commit |
| download, split, parse, map | ~35% | JSON-array splitter (~9%), serde (~12 µs per 3.5 KB finding), copy of each raw record |
| LZ4 of the raw JSON (per-plugin dictionary) | ~13% | on its own thread |
| background WAL checkpoint | ~4% | every 10,000 committed rows |
| correlation after the sync | ~0.8 s | every stored asset of every source (20,000 here) |

The bar (≥ 5× pyTenable while storing) needs ~20 µs of CPU per finding in all, simulator
included: a 2.5× cut with no single part above 40%. Tried and dropped: storing the
repeated \`plugin\` member of each raw record once (−100 bytes a row, CPU unchanged: the locator
scan and hash cost what LZ4 saved); mimalloc and jemalloc (same speed, RSS no lower), fat LTO
(no gain), sonic-rs (slower here), insert-first without lookup (no gain), bigger batches (RSS at
the limit). Done: SC pages are asked for one ahead while the previous one is stored (~10 %).
Peak RSS is reached after the export, in the reconciliation and the correlation that end every
sync; with the writer's SQLite page cache at 16 MiB (was 32 MiB: ~175 MB) it stays under 150 MB.
Left to try: one pass for splitting and parsing (the splitter re-scans every byte serde reads),
secondary indexes built after a first full load.
MD
echo "wrote the sync section of BENCHMARKS.md"
