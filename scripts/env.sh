# Sourced by every script: where tools live and the environment that keeps them offline.
# shellcheck shell=bash
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export TOOLS_DIR="${M365_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/m365-onboarding-tools}"
export PATH="$TOOLS_DIR/bin:$REPO_ROOT/node_modules/.bin:$PATH"
# worker-build and Trunk would download these from GitHub otherwise.
export WASM_BINDGEN_BIN="$TOOLS_DIR/bin/wasm-bindgen"
export WASM_OPT_BIN="$REPO_ROOT/node_modules/.bin/wasm-opt"
# wrangler: no telemetry, no network lookups, state inside the repo's ignored folder.
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
export XDG_CONFIG_HOME="$REPO_ROOT/.state/xdg-config"
export WRANGLER_LOG_PATH="$REPO_ROOT/.state/wrangler-logs"
