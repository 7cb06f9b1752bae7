#!/usr/bin/env bash
# Soak: several principals over streamable HTTP, many sandboxes, random tool
# calls and random faults for a bounded time; prints operations, errors by
# code, faults and what leaked after shutdown (must be 0). Needs root (the
# local backend). Exits non-zero on a leak or an isolation breach.
#   bash cmd/soak/soak.sh            # 60 s
#   bash cmd/soak/soak.sh 30m --principals 5 --sandboxes-per-principal 3 --max-sandboxes 16
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-60s}"
shift || true
bin=$(mktemp -d)/vmservice-soak
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/soak
"$bin" --duration "$duration" "$@"
