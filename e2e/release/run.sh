#!/usr/bin/env bash
# `make release` end to end: every target builds; SHA256SUMS matches; each
# Claude Desktop bundle passes the official mcpb CLI (validate, info) and
# carries its platform's binary; server.json is valid against the MCP
# registry's schema (validate.mjs); the Linux binary runs: --version names
# the commit, and over stdio it answers tools/list (time printed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
say() { printf 'e2e/release: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
cd "$root"
[ -x e2e/node_modules/.bin/mcpb ] || (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
mcpb=$root/e2e/node_modules/.bin/mcpb

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dist="$work/dist"
version="0.0.0-e2e.$$"
commit=$(git rev-parse HEAD)
make -s release DIST="$dist" VERSION="$version" COMMIT="$commit"

(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match"
for f in vmservice-linux-amd64 vmservice-linux-arm64 vmservice-darwin-amd64 vmservice-darwin-arm64 vmservice-windows-amd64.exe; do
  [ -s "$dist/$f" ] || fail "$f missing"
  file -b "$dist/$f" | grep -q "statically linked\|Mach-O\|PE32+" || fail "$f: $(file -b "$dist/$f")"
done
file -b "$dist/vmservice-linux-arm64" | grep -q "ARM aarch64" || fail "linux-arm64 is not an arm64 binary"

for t in linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64; do
  b="$dist/vmservice-$t.mcpb"
  "$mcpb" info "$b" >"$work/info.txt" 2>&1 || { cat "$work/info.txt" >&2; fail "mcpb info $b"; }
  rm -rf "$work/unpacked" && "$mcpb" unpack "$b" "$work/unpacked" >/dev/null
  "$mcpb" validate "$work/unpacked/manifest.json" >"$work/validate.txt" 2>&1 || { cat "$work/validate.txt" >&2; fail "mcpb validate $t"; }
  entry=$(jq -r .server.entry_point "$work/unpacked/manifest.json")
  exe=""; [ "${t%%-*}" = windows ] && exe=.exe
  cmp -s "$work/unpacked/$entry" "$dist/vmservice-$t$exe" || fail "$t bundle: $entry is not vmservice-$t$exe"
  [ "$(jq -r .version "$work/unpacked/manifest.json")" = "$version" ] || fail "$t bundle: version"
done
say "5 bundles pass mcpb validate and carry their binary"

(cd e2e && node release/validate.mjs "$dist" "$version")

bin="$dist/vmservice-linux-amd64"
v=$("$bin" --version)
grep -q "$version" <<<"$v" && grep -q "$commit" <<<"$v" || fail "--version: $v"
# Start-up: the first tools/list answer over stdio, with the binary's
# default (local) backend.
start=$(date +%s%N)
n=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' | "$bin" --no-stream --log-level error | head -n 1 | jq '.result.tools | length')
ms=$((($(date +%s%N) - start) / 1000000))
[ "$n" -ge 20 ] || fail "tools/list: $n tools (the default toolsets)"
say "$v; first tools/list ($n tools) answered in $ms ms"
echo "e2e/release: 1 passed, 0 failed"
