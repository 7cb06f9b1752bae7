# Shared by e2e/*/run.sh (source it after setting name): npm packages, a
# work directory cleaned up on exit, the built binary, free ports, and the
# server over streamable HTTP with a fresh bearer token.
#   name=stream; source "$(dirname "$0")/../lib.sh"
#   e2e_setup playwright-core @modelcontextprotocol/sdk   # npm ci unless these are there; builds $bin
#   start_vmservice --stream-listen 127.0.0.1:0           # sets $url and $token
#   wait_for 60 some_check                                # polls with a deadline
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
# missing), chromium present, $work, and the binary built as $bin (or
# $VMSERVICE_E2E_BIN).
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
  if [ -n "${VMSERVICE_E2E_BIN:-}" ]; then # a built binary (e.g. run by an account without Go's caches)
    bin=$VMSERVICE_E2E_BIN
  else
    say "building vmservice"
    (cd "$root" && go build -o "$work/vmservice" .)
    bin="$work/vmservice"
  fi
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# wait_for SECONDS CMD...: runs CMD until it succeeds (status 0) or SECONDS
# have passed (status 1). Deadlines are generous: a slow, busy machine only
# takes longer, a broken one fails here instead of much later.
wait_for() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 0.1
  done
}

# serve_http LOG FLAGS...: the binary over streamable HTTP on a free port,
# logging to LOG; sets $url once /healthz answers.
serve_http() {
  local log=$1 port pid
  shift
  port=$(free_port)
  "$bin" --transport http --listen "127.0.0.1:$port" --log-format json --log-file "$log" "$@" &
  pid=$!
  pids+=($pid)
  url="http://127.0.0.1:$port"
  # Up, or gone: a server that exited at start is not waited for.
  up_or_gone() { curl -fsS "$url/healthz" >/dev/null 2>&1 || ! kill -0 "$pid" 2>/dev/null; }
  if ! wait_for 120 up_or_gone || ! curl -fsS "$url/healthz" >/dev/null 2>&1; then
    say "server did not come up ($(basename "$log"))"
    cat "$log" >&2
    exit 1
  fi
}

# start_vmservice FLAGS...: serve_http with a fresh token (principal
# e2e-user); sets $url and $token; its log is $work/server.log (shown by
# server_log).
start_vmservice() {
  token="e2e-$name-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  (umask 077; printf '%s e2e-user\n' "$token" >"$work/tokens")
  serve_http "$work/server.log" --tokens-file "$work/tokens" "$@"
}

server_log() {
  say "server log (tail):"
  tail -n 40 "$work/server.log" >&2
}
