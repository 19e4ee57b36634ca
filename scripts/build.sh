#!/usr/bin/env bash
# Builds the deployable outputs: the worker (edge/build) and the frontend (frontend/dist), release.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

echo "build: worker (worker-build --release)" >&2
(cd edge && worker-build --release)
echo "build: frontend (trunk build --release; the app's wasm is split by scripts/split-app.sh)" >&2
trunk build --release --config Trunk.toml
