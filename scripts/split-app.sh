#!/usr/bin/env bash
# Trunk's hook for the app's wasm (Trunk.toml: `[[hooks]]`), in two stages:
#   pre_build   builds the app crate, splits it into the main module and the chunks of its lazily
#               loaded screens, binds and optimises them, and stages them in a folder named by
#               their content's hash, so that a page never mixes a main module and chunks of two
#               builds (a chunk of a build that is gone fails to load, which the app says, with
#               Retry, instead of running code that does not fit);
#   post_build  points the staged index.html at that folder.
# Trunk runs it with TRUNK_STAGING_DIR and TRUNK_PROFILE set. The steps are those cargo-leptos
# uses for a split build: the crate linked with `--emit-relocs`, `wasm-split-cli`
# (wasm_split_cli_support), `wasm-bindgen --target web --keep-lld-exports --no-demangle` on the
# main module, and `wasm-opt -Oz` on the main module and on every chunk.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

stage=${1:?usage: split-app.sh pre_build|post_build}
staging=${TRUNK_STAGING_DIR:?run by Trunk (TRUNK_STAGING_DIR is not set)}
profile=${TRUNK_PROFILE:-release}

# The app's own target folder: its flags must not invalidate the worker's build.
# `erase_components` makes Leptos type-erase component views (about 10 % less wasm, gzip);
# RUSTFLAGS replaces .cargo/config.toml's target rustflags, hence the getrandom cfg repeated here.
export CARGO_TARGET_DIR="$REPO_ROOT/target/frontend"
export RUSTFLAGS='--cfg erase_components --cfg getrandom_backend="wasm_js"'
work="$CARGO_TARGET_DIR/split"
say() { printf 'split-app: %s\n' "$*" >&2; }

case "$stage" in
pre_build)
  if [ "$profile" = release ]; then cargo_profile=release; out=release; else cargo_profile=dev; out=debug; fi
  say "building the app ($cargo_profile, linked with relocations for the splitter)"
  # `cargo rustc` passes the link argument to the app's binary only: its dependencies keep their
  # fingerprints and stay cached.
  cargo rustc --locked --offline -q -p frontend --bin frontend --features split --target wasm32-unknown-unknown \
    --profile "$cargo_profile" -- -Clink-arg=--emit-relocs
  rm -rf "$work"
  mkdir -p "$work/split" "$work/app"
  say "splitting the module"
  wasm-split-cli "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$out/frontend.wasm" "$work/split" --out-name frontend
  say "binding the main module"
  wasm-bindgen --target web --keep-lld-exports --no-demangle --out-dir "$work/app" --out-name frontend \
    "$work/split/frontend.wasm"
  for f in "$work"/split/*; do
    case "$(basename "$f")" in frontend.wasm) ;; *) cp "$f" "$work/app/" ;; esac
  done
  if [ "$profile" = release ]; then
    say "optimising the main module and every chunk (wasm-opt -Oz)"
    for f in "$work"/app/*.wasm; do
      wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-reference-types --enable-multivalue "$f" -o "$f"
    done
    # esbuild (installed with wrangler) minifies the glue and the chunk loader. wasm-bindgen's glue
    # names the chunk loader's module once per chunk in one import object (the same module each
    # time), which esbuild would report as duplicate keys on every build.
    for f in "$work"/app/*.js; do
      esbuild "$f" --minify --format=esm --outfile="$f" --allow-overwrite --log-level=warning \
        --log-override:duplicate-object-key=silent
    done
  fi
  rm -f "$work"/app/*.d.ts
  # The other languages' catalogues, fetched when a portal asks for one. English is compiled in;
  # its file is served too, because its keys, sorted, give the order the app numbers them in.
  mkdir -p "$work/app/locales"
  cp frontend/locales/*.json "$work/app/locales/"
  hash=$(cd "$work/app" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
  cp -r "$work/app" "$staging/app-$hash"
  echo "app-$hash" >"$work/folder"
  say "staged app-$hash: $(cd "$work/app" && ls | tr '\n' ' ')"
  ;;
post_build)
  folder=$(cat "$work/folder")
  # index.html names the folder `app/`; this build's is `app-<hash>/`.
  sed -i "s#\./app/#./$folder/#g" "$staging/index.html"
  grep -q "$folder" "$staging/index.html" || { say "index.html does not load ./app/"; exit 1; }
  ;;
*)
  say "unknown stage $stage"; exit 2 ;;
esac
