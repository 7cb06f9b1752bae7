#!/usr/bin/env bash
# Tokens of a UI snapshot against Playwright MCP's browser_snapshot and a
# screenshot, on the same pages (testdata/a11y). Prints a table.
#   bench/a11y/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ $(id -u) -ne 0 ]]; then
	echo "bench/a11y/run.sh: the local backend needs root" >&2
	exit 1
fi
bash scripts/deps.sh >&2
(cd e2e && { [ -d node_modules/@playwright/mcp ] && [ -d node_modules/@anthropic-ai/tokenizer ] || npm ci --no-audit --no-fund --loglevel=error; })
mkdir -p bench/out
go build -o bench/out/vmservice . >&2
cp bench/a11y/compare.mjs e2e/.a11y-compare.mjs # resolves its packages from e2e/node_modules
trap 'rm -f e2e/.a11y-compare.mjs' EXIT
node e2e/.a11y-compare.mjs "$PWD/bench/out/vmservice" "$PWD/testdata/a11y"
