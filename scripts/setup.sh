#!/usr/bin/env bash
# Installs every tool the build and the tests need, idempotently: each tool is checked by
# version and installed only when missing or different, so a second run costs seconds.
# Sources: crates.io (cargo install), npm (package-lock.json), Debian (apt-get). Nothing from GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

WASM_BINDGEN_VERSION=0.2.130
TRUNK_VERSION=0.21.14
GECKODRIVER_VERSION=0.37.1
WORKER_BUILD_VERSION=0.8.7
# The splitter cargo-leptos uses; >= 0.2.2 reads wasm-bindgen >= 0.2.125 output.
WASM_SPLIT_VERSION=0.2.4

say() { printf 'setup: %s\n' "$*" >&2; }

mkdir -p "$TOOLS_DIR/bin"

# 1. Rust target for the browser and the worker.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. Cargo-installed tools, cached in $TOOLS_DIR by version.
#    The tools' own release profiles (Trunk: fat LTO, one codegen unit) cost minutes of a cold run on
#    2 cores and buy nothing here (they process a few MB once per build), so they are installed with a
#    light profile: no LTO, parallel codegen, opt-level 1. The three share one build folder, so the
#    dependencies they have in common (tokio, serde, wasm-bindgen's CLI support...) are compiled
#    once; it is removed when they are installed.
cargo_tool() { # name version binary version-probe-substring [extra cargo install args]
  local crate=$1 version=$2 bin=$3; shift 3
  # The whole output first: `grep -q` would close the pipe under a tool that prints several lines.
  if [ -x "$TOOLS_DIR/bin/$bin" ] && grep -qE "(^| )$version" <<<"$("$TOOLS_DIR/bin/$bin" --version 2>/dev/null)"; then
    return 0
  fi
  say "installing $crate $version (cargo install, light profile; this takes minutes once)"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
    cargo install --root "$TOOLS_DIR" --target-dir "$TOOLS_DIR/build" "$crate" --version "=$version" "$@"
}

# 3-5 download and unpack (network and disk, little CPU): they run beside the cargo installs below.
io_log="$(mktemp -t m365-setup-io-XXXXXX)"
(
set -e
# 3. npm tools: wrangler and binaryen (wasm-opt), pinned in package.json + package-lock.json.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json .state/package-lock.installed 2>/dev/null; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  mkdir -p .state && cp package-lock.json .state/package-lock.installed
fi

# 4. Chromium and ChromeDriver, and Firefox ESR, from Debian, for the browser tests (geckodriver,
#    Firefox's WebDriver, comes from crates.io below).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v firefox-esr >/dev/null; then
  say "installing chromium, chromium-driver and firefox-esr (apt-get)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver firefox-esr >/dev/null
fi

# 4b. A font with Japanese and Chinese glyphs (Noto Sans CJK, Debian), so that the browser tests
#     and the README's screenshots show Japanese and Simplified Chinese as an administrator sees them.
if ! fc-list :lang=ja 2>/dev/null | grep -q .; then
  say "installing fonts-noto-cjk (apt-get)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-noto-cjk >/dev/null
fi

# 5. Python packages for test fixtures (the .pfx corpus), for checking the emulator with
#    Microsoft's own client library (MSAL for Python), and for checking the API against its own
#    document (schemathesis). Pinned in scripts/requirements-test.txt.
if ! python3 - <<'PY' 2>/dev/null
import importlib.metadata as m, pathlib, sys
want = [l.split("==") for l in pathlib.Path("scripts/requirements-test.txt").read_text().split() if "==" in l]
sys.exit(0 if all(m.version(n) == v for n, v in want) else 1)
PY
then
  say "installing Python test packages (pip)"
  python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
# 6. Crates for offline Trunk builds.
cargo fetch --locked >/dev/null 2>&1 || cargo fetch
) >"$io_log" 2>&1 &
io_pid=$!

# Not --locked: a dependency pinned in wasm-bindgen-cli's own lock file is missing from the registry.
cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
cargo_tool worker-build "$WORKER_BUILD_VERSION" worker-build --locked
cargo_tool trunk "$TRUNK_VERSION" trunk --locked
cargo_tool geckodriver "$GECKODRIVER_VERSION" geckodriver --locked
# wasm-split-cli prints no version: cargo's record of what it installed says which one it is.
if ! cargo install --list --root "$TOOLS_DIR" | grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:" \
  || [ ! -x "$TOOLS_DIR/bin/wasm-split-cli" ]; then
  say "installing wasm_split_cli_support $WASM_SPLIT_VERSION (cargo install, light profile)"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
    cargo install --root "$TOOLS_DIR" --target-dir "$TOOLS_DIR/build" wasm_split_cli_support \
    --version "=$WASM_SPLIT_VERSION" --locked --features build-binary
fi
rm -rf "$TOOLS_DIR/build"

if ! wait "$io_pid"; then
  cat "$io_log" >&2; rm -f "$io_log"
  say "set-up of npm, apt or pip packages failed (above)"; exit 1
fi
cat "$io_log" >&2; rm -f "$io_log"

say "tools ready"
