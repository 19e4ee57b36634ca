#!/usr/bin/env bash
# `make dev`: set up, build, apply the D1 migrations locally and serve the app and the API from
# one `wrangler dev` on http://127.0.0.1:${PORT:-8787}. Runs in the foreground; Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

PORT="${PORT:-8787}"
STATE="$REPO_ROOT/.state/wrangler"     # local D1 and Durable Objects; survives restarts
mkdir -p "$STATE" "$XDG_CONFIG_HOME"

scripts/setup.sh
scripts/build.sh

echo "dev: applying D1 migrations to $STATE" >&2
wrangler d1 migrations apply DB --local --config edge/wrangler.toml --persist-to "$STATE" </dev/null >&2

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

# Each service runs in its own process group so that stopping it also stops its children (workerd).
setsid wrangler dev --config edge/wrangler.toml --local --ip 127.0.0.1 --port "$PORT" \
  --persist-to "$STATE" --show-interactive-dev-session=false </dev/null &
pids+=($!)

for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "dev: wrangler dev exited" >&2; exit 1; }
  sleep 0.2
done

cat >&2 <<MSG

  The app is running. Open:  http://127.0.0.1:$PORT/
  Stop with Ctrl-C.

MSG
wait "${pids[0]}"
