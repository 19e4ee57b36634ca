#!/usr/bin/env bash
# Every test, in the order that fails fastest: set-up, lints, the documentation check, native unit
# tests, the release build, browser component tests, whole-system tests, and the offline deploy dry
# run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

step() { printf '\n=== test: %s ===\n' "$*" >&2; }

step "setup"
scripts/setup.sh

step "lint"
scripts/lint.sh

step "the embed library (tsc, node --test)"
scripts/embed.sh check

step "documentation check (links, anchors, paths, make targets, the operator's variables)"
cargo test --locked -p system-tests --test docs

step "native tests (shared, edge, frontend logic, the Microsoft emulator incl. MSAL for Python)"
cargo test --locked -p shared -p edge -p frontend -p ms365-emulator

step "shared builds for wasm32"
cargo build --locked --target wasm32-unknown-unknown -p shared

step "release build (worker and frontend)"
scripts/build.sh

step "browser component tests (wasm-bindgen-test, headless Chromium)"
scratch=$(mktemp -d -t m365-wasm-test-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cat >"$scratch/webdriver.json" <<JSON
{ "goog:chromeOptions": { "binary": "$(command -v chromium)", "args": [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage", "--user-data-dir=$scratch/profile" ] } }
JSON
CHROMEDRIVER="$(command -v chromedriver)" WASM_BINDGEN_TEST_WEBDRIVER_JSON="$scratch/webdriver.json" \
  WASM_BINDGEN_TEST_TIMEOUT=60 TMPDIR="$scratch" \
  timeout 600 cargo test --locked --target wasm32-unknown-unknown -p frontend

step "whole-system tests (wrangler dev, the emulator, headless Chromium)"
cargo build --locked -p ms365-emulator
timeout 3000 cargo test --locked -p system-tests -- --test-threads=2

step "the main browser paths again in Firefox ESR (geckodriver): Device Code, the Credential pop-up (also cut off by Microsoft's opener policy), Manual with a .pfx, the portal's embed library (forged messages, renewal, destroy), the split app's chunks, the partner flow, the app in German and Japanese and the pseudo-locale's layout"
SYSTEM_TESTS_BROWSER=firefox timeout 1200 cargo test --locked -p system-tests \
  --test wizard --test credential --test embedding --test chunks --test partner --test languages -- --test-threads=2 --exact \
  device_code_path_through_the_wizard_with_one_application \
  manual_with_a_certificate_then_edit_with_and_without_a_recheck \
  the_whole_credential_path_with_one_application \
  the_credential_path_completes_when_microsofts_pages_cut_the_window_off \
  a_phished_link_under_the_opener_policy_registers_nothing_and_its_state_claims_nothing \
  the_portal_mounts_the_app_with_the_library_and_receives_typed_events \
  messages_from_another_origin_or_another_window_never_reach_the_portal \
  a_token_that_lives_a_minute_is_renewed_without_the_admin_noticing \
  destroy_removes_the_iframe_and_every_listener_and_timer \
  the_list_loads_no_chunk_and_add_loads_the_wizards \
  a_chunk_that_cannot_be_loaded_is_said_and_retry_loads_the_screen \
  the_partner_flow_in_the_browser_from_the_list_to_the_batch_passes_the_axe_scan_in_light_and_dark \
  the_wizard_reads_in_german_and_japanese_with_the_edges_error_in_that_language \
  the_pseudo_locale_finds_no_clipped_overlapping_or_uncatalogued_text_at_360_and_1280_px

step "deploy dry run (wrangler deploy --dry-run, offline)"
wrangler deploy --dry-run --config edge/wrangler.toml --outdir "$scratch/deploy" >"$scratch/deploy.log" 2>&1 \
  || { cat "$scratch/deploy.log"; exit 1; }
grep -E 'Total Upload|dry-run' "$scratch/deploy.log" >&2 || true

printf '\nAll tests passed.\n' >&2
