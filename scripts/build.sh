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
# Trunk 0.21's JS minifier gives up on wasm-bindgen's `export default`; esbuild (installed with
# wrangler) minifies the glue instead: ~2 KB gzip of the first-load budget. (The glue is served
# without a subresource-integrity hash: `data-integrity="none"` in index.html, same origin.)
for js in frontend/dist/*.js; do
  esbuild "$js" --minify --format=esm --outfile="$js" --allow-overwrite --log-level=warning
done
