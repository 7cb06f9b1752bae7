#!/usr/bin/env bash
# make release: into dist/,
#   vmservice-OS-ARCH[.exe]  static binaries: linux amd64/arm64 with both
#                            backends, darwin amd64/arm64 and windows amd64
#                            with the e2b backend (the local one is Linux's);
#                            each carries the e2b helper (internal/helperbin)
#   vmservice-OS-ARCH.mcpb   a Claude Desktop bundle per binary, packed by the
#                            official mcpb CLI (npm @anthropic-ai/mcpb)
#   server.json              the MCP registry entry: the container image and
#                            the bundles with their SHA-256
#   SHA256SUMS               of everything above
# VERSION, COMMIT and LDFLAGS come from the Makefile; TARGETS (OS/ARCH ...)
# narrows the build for a quick look.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VERSION:?run through make release}" "${COMMIT:?}" "${LDFLAGS:?}"
out=$(realpath -m "${DIST:-dist}")
read -ra targets <<<"${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}"
say() { printf 'release: %s\n' "$*" >&2; }

[ -x e2e/node_modules/.bin/mcpb ] || (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
mcpb=$PWD/e2e/node_modules/.bin/mcpb

rm -rf "$out"
mkdir -p "$out"
go generate ./internal/helperbin
for t in "${targets[@]}"; do
  os=${t%/*} arch=${t#*/} exe=""
  [ "$os" = windows ] && exe=.exe
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$LDFLAGS" -o "$out/vmservice-$os-$arch$exe" .
  say "built vmservice-$os-$arch$exe"
done

# One bundle per binary: Claude Desktop picks by platform, not architecture.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in "${targets[@]}"; do
  os=${t%/*} arch=${t#*/} exe="" platform=$os
  [ "$os" = windows ] && exe=.exe platform=win32
  stage="$work/$os-$arch"
  mkdir -p "$stage/server"
  cp "$out/vmservice-$os-$arch$exe" "$stage/server/vmservice$exe"
  # Linux may use the local backend (the server needs root) or E2B; the
  # other platforms have only E2B, so their key is required.
  jq --arg v "$VERSION" --arg p "$platform" --arg exe "$exe" '
    .version = $v | .compatibility.platforms = [$p]
    | .server.entry_point = "server/vmservice" + $exe
    | .server.mcp_config.command = "${__dirname}/server/vmservice" + $exe
    | if $p == "linux" then
        .user_config.e2b_api_key.required = false
        | .user_config.e2b_api_key.description = "For the e2b backend only: your key from e2b.dev."
        | .user_config.backend = {type: "string", title: "Backend", default: "local",
            description: "local (desktops on this machine; as root, or as a normal user with fewer protections) or e2b (E2B cloud)"}
        | .server.mcp_config.env.VMSERVICE_BACKEND = "${user_config.backend}"
      else .server.mcp_config.env.VMSERVICE_BACKEND = "e2b" end' \
    packaging/mcpb/manifest.json >"$stage/manifest.json"
  "$mcpb" validate "$stage/manifest.json" >/dev/null
  "$mcpb" pack "$stage" "$out/vmservice-$os-$arch.mcpb" >/dev/null
  say "packed vmservice-$os-$arch.mcpb"
done

# The registry entry: the image and every bundle, at the release's URLs.
base="https://github.com/vmservice/vmservice/releases/download/v$VERSION"
bundles='[]'
for t in "${targets[@]}"; do
  os=${t%/*} arch=${t#*/}
  f="vmservice-$os-$arch.mcpb"
  bundles=$(jq --arg id "$base/$f" --arg sha "$(sha256sum "$out/$f" | cut -d' ' -f1)" --arg v "$VERSION" \
    '. + [{registryType: "mcpb", identifier: $id, version: $v, fileSha256: $sha, transport: {type: "stdio"},
      environmentVariables: [{name: "E2B_API_KEY", description: "E2B API key (the e2b backend)", isSecret: true, isRequired: false}]}]' <<<"$bundles")
done
jq --arg v "$VERSION" --argjson bundles "$bundles" \
  '.version = $v | .packages[0].identifier = "ghcr.io/vmservice/vmservice:" + $v | .packages += $bundles' \
  packaging/server.json >"$out/server.json"

(cd "$out" && sha256sum vmservice-* server.json >SHA256SUMS)
say "$VERSION ($COMMIT): $(ls "$out" | wc -l) files in $out/"
