#!/usr/bin/env bash
# Live streaming in a real browser (Debian chromium + playwright-core)
# against the built vmservice binary over MCP (streamable HTTP): key
# refusals, the desktop on the noVNC canvas, clicks with and without
# view_only, stop_stream, and first-frame / bandwidth per quality.
# Screenshots and metrics.json go to $STREAM_E2E_OUT (default a temp dir).
set -euo pipefail
name=stream
source "$(dirname "$0")/../lib.sh"
e2e_setup playwright-core @modelcontextprotocol/sdk

out=${STREAM_E2E_OUT:-$work/out}
start_vmservice --stream-listen 127.0.0.1:0
status=0
(cd "$e2e" && node "$here/stream.mjs" "$url/mcp" "$token" "$out") || status=$?
[ $status -eq 0 ] || server_log
[ -z "${STREAM_E2E_OUT:-}" ] || say "screenshots and metrics in $out"
exit $status
