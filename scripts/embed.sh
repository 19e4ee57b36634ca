#!/usr/bin/env bash
# The embed library (embed/, TypeScript): built with esbuild, checked with tsc, tested with Node.
#   stage    Trunk's hook (Trunk.toml): the script portals load, minified, at embed/v1.js in the
#            staged frontend/dist, which the Worker serves as a static asset (frontend/web/_headers
#            gives it its cache and CORS headers).
#   script OUT  the same script, written to OUT (the documentation check hashes it).
#   check    type-checks the library and its tests (tsc), and runs the tests (node --test).
#   package  the npm package's files in embed/dist/: the ES module, the same script as
#            /embed/v1.js, and the type declarations.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

# One bundle of the library; esbuild flags shared by every output.
bundle() { esbuild embed/src/index.ts --bundle --target=es2020 --log-level=warning "$@"; }
# The script at /embed/v1.js: `M365Onboarding` on window, minified.
script() {
  bundle --format=iife --global-name=M365Onboarding --minify --legal-comments=none \
    --banner:js='/*! M365Onboarding embed v1 | Apache-2.0 */' --outfile="$1"
}

case "${1:-}" in
stage)
  staging=${TRUNK_STAGING_DIR:?run by Trunk (TRUNK_STAGING_DIR is not set)}
  mkdir -p "$staging/embed"
  script "$staging/embed/v1.js"
  ;;
script)
  script "${2:?usage: embed.sh script OUT}"
  ;;
check)
  tsc -p embed
  tsc -p embed/test
  out="$REPO_ROOT/target/embed-tests"
  rm -rf "$out" && mkdir -p "$out"
  for t in embed/test/*.test.ts; do
    esbuild "$t" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
      --outfile="$out/$(basename "${t%.ts}").mjs"
  done
  cp embed/test/*.json "$out/"
  node --test --test-reporter=spec "$out"/*.test.mjs
  ;;
package)
  rm -rf embed/dist
  bundle --format=esm --outfile=embed/dist/index.js
  script embed/dist/m365-onboarding.min.js
  tsc -p embed --noEmit false --declaration --emitDeclarationOnly --outDir embed/dist
  ;;
*)
  echo "usage: embed.sh stage|script OUT|check|package" >&2; exit 2 ;;
esac
