#!/usr/bin/env bash
# The MCP App (mcpapp/: the live desktop inside an MCP host) in a real
# browser: first checks that the committed mcpapp/desktop.html is what its
# sources build to, then runs app.mjs (Debian chromium + playwright-core, a
# host page on ext-apps' AppBridge) against the built vmservice over
# streamable HTTP, with the stream behind a reverse proxy
# (--stream-public-url). Screenshots go to $MCPAPP_E2E_OUT (default a temp dir).
set -euo pipefail
name=mcpapp
source "$(dirname "$0")/../lib.sh"
e2e_setup playwright-core esbuild @modelcontextprotocol/ext-apps @novnc/novnc @modelcontextprotocol/sdk

say "checking mcpapp/desktop.html against its sources"
node "$root/mcpapp/build.mjs" --check

out=${MCPAPP_E2E_OUT:-$work/out}
sport=$(free_port)
pport=$(free_port)
start_vmservice --stream-listen "127.0.0.1:$sport" --stream-public-url "http://127.0.0.1:$pport/desk"
status=0
(cd "$e2e" && node "$here/app.mjs" "$url/mcp" "$token" "$out" "$sport" "$pport") || status=$?
[ $status -eq 0 ] || server_log
[ -z "${MCPAPP_E2E_OUT:-}" ] || say "screenshots in $out"
exit $status
