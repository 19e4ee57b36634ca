#!/usr/bin/env bash
# `make bench`: measures the budgets the issues name and prints them (never asserted as tests).
#   - first load of the app: HTML + JS + wasm + CSS, gzip -9, in bytes (budget: 200 KB);
#   - the deployable worker bundle as wrangler reports it (Total Upload, gzip), and its cold start
#     (the first request `wrangler dev` answers, beside later ones);
#   - time from navigation to a usable first screen, and to Step 1, in headless Chromium;
#   - Graph requests and round trips to register the main application and the 3 additional ones,
#     read from the emulator's request log (with 150 ms injected latency, so that parallel requests
#     overlap and sequential ones do not) by the system test that also asserts the budget;
#   - the scheduled health checks over 1,000 seeded organizations: organizations per minute and
#     identity/Graph requests per organization;
#   - the time to open the worst .pfx the key-derivation work cap still accepts (natively, release
#     profile; the Worker runs the same code as wasm).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

scripts/build.sh >/dev/null 2>&1 || { echo "bench: build failed; run scripts/build.sh to see why" >&2; exit 1; }

gz() { gzip -9c "$1" | wc -c; }
total=0
printf '%-40s %10s %10s\n' "frontend file" "raw" "gzip"
for f in frontend/dist/index.html frontend/dist/*.js frontend/dist/*.wasm frontend/dist/*.css; do
  raw=$(wc -c <"$f"); z=$(gz "$f"); total=$((total + z))
  printf '%-40s %10d %10d\n' "$(basename "$f")" "$raw" "$z"
done
printf '%-40s %10s %10d  (budget 204800)\n' "first load, gzip total" "" "$total"

scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
wrangler deploy --dry-run --config edge/wrangler.toml --outdir "$scratch/out" >"$scratch/log" 2>&1
printf '%-40s %s\n' "worker bundle (wrangler)" "$(grep -o 'Total Upload: .*' "$scratch/log")"
cargo test -q -p system-tests --test bench_cold_start -- --nocapture 2>&1 | grep '^BUDGET' | sed 's/^BUDGET /  /'

echo
echo "registration budgets (emulator request log; budget: main <= 8 requests / 5 round trips, additional <= 10 / 5):"
cargo build -q -p ms365-emulator
cargo test -q -p system-tests --test signin device_code_sign_in_registers_one_then_four_applications -- --nocapture 2>&1 \
  | grep '^BUDGET' | sed 's/^BUDGET /  /'

echo
echo "time to usable in headless Chromium (budget: Step 1 usable within 500 ms of navigation):"
cargo test -q -p system-tests --test bench_first_load -- --nocapture 2>&1 | grep '^BUDGET' | sed 's/^BUDGET /  /'

echo
echo "scheduled health checks over 1,000 seeded organizations (one Cron Trigger run, the queue's consumers, wrangler dev):"
BENCH_ORGANIZATIONS=1000 cargo test -q -p system-tests --test bench_health -- --nocapture 2>&1 | grep '^BUDGET' | sed 's/^BUDGET /  /'

echo
echo "the backup engine's tokens (50 concurrent clients, 10 organizations x 3 resources, wrangler dev; budget: one identity call per application and resource, 0 errors):"
BENCH_ENGINE_REQUESTS=5000 cargo test -q -p system-tests --test bench_engine -- --nocapture 2>&1 | grep '^BUDGET' | sed 's/^BUDGET /  /'

echo
echo ".pfx parse time of the worst file the key-derivation work cap accepts (native, release profile):"
python3 shared/tests/pfx_corpus.py "$scratch/pfx" >/dev/null
cargo run -q --release -p shared --example pfx_parse_time -- "$scratch/pfx/at-work-cap.pfx" 'Corpus-Passw0rd!' 5 \
  | grep '^BUDGET' | sed 's/^BUDGET /  /'
