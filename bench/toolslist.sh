#!/usr/bin/env bash
# What tools/list costs a client, vmservice against Playwright MCP, asked by
# the same client (the MCP Inspector CLI), counted as the compact JSON of
# the result (what a client keeps and hands to the model):
#
#   bench/toolslist.sh                 # default surfaces
#   bench/toolslist.sh --toolsets all  # flags go to vmservice
#
# Prints one row per server: tools, bytes, bytes per tool.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d e2e/node_modules/@playwright/mcp ]] || (cd e2e && npm ci --no-audit --no-fund >&2)
mkdir -p bench/out
go build -o bench/out/vmservice . >&2
inspector() { (cd e2e && npx --no-install @modelcontextprotocol/inspector --cli "$@" --method tools/list); }
row() {
	local name=$1; shift
	local json
	json=$(inspector "$@" | jq -c .)
	local n bytes
	n=$(jq '.tools | length' <<<"$json")
	bytes=$(printf '%s' "$json" | wc -c)
	printf '| %s | %d | %d | %d |\n' "$name" "$n" "$bytes" $((bytes / n))
}
echo "| server | tools | bytes | bytes/tool |"
echo "|---|---|---|---|"
row "vmservice $*" "$PWD/bench/out/vmservice" "$@"
row "@playwright/mcp $(jq -r .version e2e/node_modules/@playwright/mcp/package.json) (default)" npx --no-install @playwright/mcp
