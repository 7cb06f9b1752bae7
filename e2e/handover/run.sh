#!/usr/bin/env bash
# hand_over (a person asked to act on the desktop through URL-mode
# elicitation) with the official TypeScript SDK clients of both protocol
# eras answering, and headless chromium as the person (handover.mjs).
# Screenshots go to $HANDOVER_E2E_OUT (default a temp dir).
set -euo pipefail
name=handover
source "$(dirname "$0")/../lib.sh"
e2e_setup playwright-core @modelcontextprotocol/sdk @modelcontextprotocol/client

out=${HANDOVER_E2E_OUT:-$work/out}
start_vmservice --stream-listen 127.0.0.1:0 --toolsets default,human # hand_over is opt-in
status=0
(cd "$e2e" && node "$here/handover.mjs" "$url/mcp" "$token" "$out") || status=$?
[ $status -eq 0 ] || server_log
[ -z "${HANDOVER_E2E_OUT:-}" ] || say "screenshots in $out"
exit $status
