#!/usr/bin/env bash
# Live streaming in a real browser (Debian chromium + playwright-core)
# against the built vmservice binary over MCP (streamable HTTP): key
# refusals, the desktop on the noVNC canvas, clicks with and without
# view_only, stop_stream, and first-frame / bandwidth per quality.
# Screenshots and metrics.json go to $STREAM_E2E_OUT (default a temp dir).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
e2e="$root/e2e"
say() { printf 'e2e/stream: %s\n' "$*" >&2; }

cd "$e2e"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/@modelcontextprotocol/sdk ]; then
  say "installing npm packages under e2e/"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
fi
[ -x /usr/bin/chromium ] || { say "chromium missing: run scripts/deps.sh"; exit 1; }

work=$(mktemp -d)
out=${STREAM_E2E_OUT:-$work/out}
pid=""
cleanup() {
  set +e
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "building vmservice"
(cd "$root" && go build -o "$work/vmservice" .)

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(free_port)
token="e2e-stream-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
(umask 077; printf '%s e2e-user\n' "$token" >"$work/tokens")
"$work/vmservice" --transport http --listen "127.0.0.1:$port" --stream-listen 127.0.0.1:0 --tokens-file "$work/tokens" \
  --log-format json --log-file "$work/server.log" &
pid=$!
url="http://127.0.0.1:$port"
up=false
for _ in $(seq 100); do
  if curl -fsS "$url/healthz" >/dev/null 2>&1; then up=true; break; fi
  sleep 0.1
done
$up || { say "server did not come up"; cat "$work/server.log" >&2; exit 1; }

status=0
node "$here/stream.mjs" "$url/mcp" "$token" "$out" || status=$?
if [ $status -ne 0 ]; then
  say "server log (tail):"
  tail -n 40 "$work/server.log" >&2
fi
[ -z "${STREAM_E2E_OUT:-}" ] || say "screenshots and metrics in $out"
exit $status
