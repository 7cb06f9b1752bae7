#!/usr/bin/env bash
# Builds E2B's envd from the sources beside this script into $1 (default
# ./envd) and prints the path. Dependencies come from the Go module proxy.
set -euo pipefail
out=$(realpath -m "${1:-envd}")
cd "$(dirname "$0")/packages/envd"
CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -o "$out" .
echo "$out"
