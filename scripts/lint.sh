#!/usr/bin/env bash
# Formatting and lints as policy: rustfmt, clippy with warnings as errors, natively and for wasm32.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

echo "lint: tsc (the embed library and its tests)" >&2
tsc -p embed
tsc -p embed/test
echo "lint: cargo fmt --check" >&2
cargo fmt --all -- --check
echo "lint: cargo clippy (native, all targets)" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "lint: cargo clippy (wasm32: edge, frontend, shared)" >&2
cargo clippy --target wasm32-unknown-unknown -p edge -p frontend -p shared --all-targets --locked -- -D warnings
echo "lint: cargo clippy (wasm32: the app as split, with its split points)" >&2
cargo clippy --target wasm32-unknown-unknown -p frontend --features split --bins --locked -- -D warnings
