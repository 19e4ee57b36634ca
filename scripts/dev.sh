#!/usr/bin/env bash
# `make dev`: set up, build, apply the D1 migrations locally, start the Microsoft emulator, and
# serve the app and the API from one `wrangler dev` on http://127.0.0.1:${PORT:-8787}.
# Runs in the foreground; Ctrl-C (or SIGTERM) stops everything it started.
#   PORT=9000            another port for the app
#   EMULATOR_PORT=8791   another port for the emulator (default 8790)
#   MICROSOFT=real       use Microsoft's clouds instead of the emulator (configure the public
#                        client IDs in edge/.dev.vars first; see README "Microsoft clouds")
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

PORT="${PORT:-8787}"
EMULATOR_PORT="${EMULATOR_PORT:-8790}"
PORTAL_PORT="${PORTAL_PORT:-8788}"
MICROSOFT="${MICROSOFT:-emulator}"
STATE="$REPO_ROOT/.state/wrangler"     # local D1 and Durable Objects; survives restarts
mkdir -p "$STATE" "$XDG_CONFIG_HOME"

scripts/setup.sh
scripts/build.sh

# A random portal session secret for local use, kept in the git-ignored edge/.dev.vars.
if ! grep -qs '^PORTAL_SESSION_SECRET=' edge/.dev.vars; then
  echo "PORTAL_SESSION_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')" >> edge/.dev.vars
  chmod 600 edge/.dev.vars
  echo "dev: wrote a new dev session secret to edge/.dev.vars" >&2
fi

# A random key for secrets at rest (AES-256-GCM), likewise local.
if ! grep -qs '^PORTAL_WEBHOOK_SECRET=' edge/.dev.vars; then
  echo "PORTAL_WEBHOOK_SECRET=whsec_$(python3 -c 'import secrets; print(secrets.token_hex(32))')" >> edge/.dev.vars
  chmod 600 edge/.dev.vars
  echo "dev: wrote a new dev webhook secret to edge/.dev.vars" >&2
fi

if ! grep -qs '^ENCRYPTION_KEYS=' edge/.dev.vars; then
  echo "ENCRYPTION_KEYS=dev1:$(python3 -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')" >> edge/.dev.vars
  echo "dev: wrote a new dev encryption key to edge/.dev.vars" >&2
fi

# The example backup engine's key (examples/engine-client): the private key stays in the git-ignored
# .state folder, its public half goes into ENGINE_KEYS for the dev account.
if ! grep -qs '^ENGINE_KEYS=' edge/.dev.vars || [ ! -f .state/engine-key.pk8 ]; then
  mkdir -p .state
  sed -i '/^ENGINE_KEYS=/d' edge/.dev.vars 2>/dev/null || true
  keys=$(cargo run -q -p engine-client -- keygen --kid engine-dev --account dev-account --out .state/engine-key.pk8)
  echo "ENGINE_KEYS=$keys" >> edge/.dev.vars
  echo "dev: wrote a new engine key (.state/engine-key.pk8) and its ENGINE_KEYS entry" >&2
fi

echo "dev: applying D1 migrations to $STATE" >&2
wrangler d1 migrations apply DB --local --config edge/wrangler.toml --persist-to "$STATE" </dev/null >&2

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

vars=()
if [ "$MICROSOFT" = "emulator" ]; then
  cargo build -q -p ms365-emulator
  setsid target/debug/ms365-emulator --listen "127.0.0.1:$EMULATOR_PORT" </dev/null &
  pids+=($!)
  vars+=(--var "DEV_MICROSOFT_BASE_URL:http://127.0.0.1:$EMULATOR_PORT")
  for c in GLOBAL:01 USGOV_GCC_HIGH:02 USGOV_DOD:03 CHINA:04; do
    vars+=(--var "PUBLIC_CLIENT_ID_${c%%:*}:5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d${c##*:}")
  done
elif [ "$MICROSOFT" != "real" ]; then
  echo "dev: MICROSOFT must be 'emulator' (default) or 'real'" >&2; exit 2
fi

# The app may take its session from `#token=` in the printed URL: local development only (the
# Worker honours it for loopback requests only; a deployed Worker never sets it).
vars+=(--var "DEV_SESSION_IN_URL:1")

# The demo portal on a second origin (localhost, not 127.0.0.1) embeds the app, and its backend
# receives the signed webhooks (the secret is edge/.dev.vars' PORTAL_WEBHOOK_SECRET).
vars+=(--var "PORTAL_ORIGINS:http://localhost:$PORTAL_PORT")
vars+=(--var "PORTAL_WEBHOOK_URL:http://127.0.0.1:$PORTAL_PORT/webhooks")
PORTAL_WEBHOOK_SECRET="$(sed -n 's/^PORTAL_WEBHOOK_SECRET=//p' edge/.dev.vars)" \
  setsid python3 scripts/demo-portal.py "$PORTAL_PORT" "http://127.0.0.1:$PORT/" </dev/null &
pids+=($!)

# Each service runs in its own process group so that stopping it also stops its children (workerd).
setsid wrangler dev --config edge/wrangler.toml --local --ip 127.0.0.1 --port "$PORT" \
  --persist-to "$STATE" --show-interactive-dev-session=false "${vars[@]}" </dev/null &
pids+=($!)

for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break
  kill -0 "${pids[-1]}" 2>/dev/null || { echo "dev: wrangler dev exited" >&2; exit 1; }
  sleep 0.2
done

token=$(scripts/dev-token.py dev-account 3600)
cat >&2 <<MSG

  The app is running. Open (the token after # never reaches the server or a Referer):
    http://127.0.0.1:$PORT/#token=$token
  Or inside the demo portal (another origin, session by postMessage, events logged):
    http://localhost:$PORTAL_PORT/
  Microsoft: $([ "$MICROSOFT" = emulator ] && echo "the local emulator, sign-in page http://127.0.0.1:$EMULATOR_PORT/devicelogin (admin@contoso.onmicrosoft.com / Passw0rd!)" || echo "the real clouds")
  A new token (valid one hour): scripts/dev-token.py [ACCOUNT]
  The example backup engine, once an organization is added:
    cargo run -q -p engine-client -- run --kid engine-dev --key .state/engine-key.pk8 --account dev-account --edge http://127.0.0.1:$PORT$([ "$MICROSOFT" = emulator ] && echo " --microsoft http://127.0.0.1:$EMULATOR_PORT")
  Stop with Ctrl-C.

MSG
wait "${pids[-1]}"
