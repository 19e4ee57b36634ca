#!/usr/bin/env bash
# Builds the deployable outputs: the worker (edge/build) and the frontend (frontend/dist), release.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

echo "build: worker (worker-build --release)" >&2
(cd edge && worker-build --release)
echo "build: frontend (trunk build --release)" >&2
# `erase_components` makes Leptos type-erase component views: about 10 % less wasm (gzip), which
# keeps the first load under its 200 KB budget. Its own target folder, so that these flags do not
# invalidate the worker's build (RUSTFLAGS replaces .cargo/config.toml's target rustflags, hence the
# getrandom cfg repeated here).
CARGO_TARGET_DIR="$REPO_ROOT/target/frontend" RUSTFLAGS='--cfg erase_components --cfg getrandom_backend="wasm_js"' \
  trunk build --release --config Trunk.toml
