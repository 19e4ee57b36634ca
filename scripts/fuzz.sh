#!/usr/bin/env bash
# `make fuzz`: runs the .pfx parser's fuzz target (cargo-fuzz, nightly toolchain) for
# FUZZ_SECONDS (default 60), seeded with the test corpus. Not part of `make test`: it needs
# nightly and cargo-fuzz (installed here into the tool cache on first use, ~2 min).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --root "$TOOLS_DIR" cargo-fuzz --version "=0.13.2" --locked
fi
seeds=$(mktemp -d); trap 'rm -rf "$seeds"' EXIT
python3 shared/tests/pfx_corpus.py "$seeds/gen" >/dev/null
mkdir -p "$seeds/corpus" && cp "$seeds"/gen/*.pfx "$seeds/corpus/"
cd shared/fuzz
cargo +nightly fuzz run parse_pfx "$seeds/corpus" -- -max_total_time="${FUZZ_SECONDS:-60}" -timeout=2 -rss_limit_mb=2048
