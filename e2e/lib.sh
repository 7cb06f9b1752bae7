# Shared by e2e/*/run.sh (source it after setting name): npm packages, a
# work directory cleaned up on exit, the built binary, free ports, and the
# server over streamable HTTP with a fresh bearer token.
#   name=stream; source "$(dirname "$0")/../lib.sh"
#   e2e_setup playwright-core @modelcontextprotocol/sdk   # npm ci unless these are there; builds $bin
#   start_vmservice --stream-listen 127.0.0.1:0           # sets $url and $token
# Processes started with start_vmservice (and any pid added to $pids) are
# ended on exit, and $work removed.
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/../.." && pwd)
e2e="$root/e2e"
say() { printf 'e2e/%s: %s\n' "$name" "$*" >&2; }
pids=()
work=""

e2e_cleanup() {
  set +e
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  [ -z "$work" ] || rm -rf "$work"
}

# e2e_setup MODULE...: npm packages under e2e/ (npm ci when one of MODULE is
# missing), chromium present, $work, and the binary built as $bin.
e2e_setup() {
  local m missing=false
  for m in "$@"; do [ -e "$e2e/node_modules/$m" ] || missing=true; done
  if $missing; then
    say "installing npm packages under e2e/"
    (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  [ -x /usr/bin/chromium ] || { say "chromium missing: run scripts/deps.sh"; exit 1; }
  work=$(mktemp -d)
  trap e2e_cleanup EXIT
  say "building vmservice"
  (cd "$root" && go build -o "$work/vmservice" .)
  bin="$work/vmservice"
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# start_vmservice FLAGS...: the binary over streamable HTTP on a free port
# with a fresh token (principal e2e-user); sets $url and $token; its log is
# $work/server.log (shown by server_log).
start_vmservice() {
  local port
  port=$(free_port)
  token="e2e-$name-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  (umask 077; printf '%s e2e-user\n' "$token" >"$work/tokens")
  "$bin" --transport http --listen "127.0.0.1:$port" --tokens-file "$work/tokens" \
    --log-format json --log-file "$work/server.log" "$@" &
  pids+=($!)
  url="http://127.0.0.1:$port"
  for _ in $(seq 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  say "server did not come up"
  cat "$work/server.log" >&2
  exit 1
}

server_log() {
  say "server log (tail):"
  tail -n 40 "$work/server.log" >&2
}
