#!/usr/bin/env bash
# Runs every go test -fuzz target of the project for a while each.
#   bash securitytest/fuzz.sh          # 10 s each (what CI runs)
#   bash securitytest/fuzz.sh 10m      # a longer hunt
# A crasher is written to the package's testdata/fuzz/<Target>/ and fails the
# run: commit that file, it becomes a regression test run by `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-10s}"
targets=(
  "./tools FuzzToolArguments"
  "./sandbox/local FuzzResolvePath"
  "./sandbox/local FuzzAgentMessages"
  "./stream FuzzStreamAuth"
  "./sandbox/x11 FuzzParseKey"
  "./sandbox/imgenc FuzzAdler32"
)
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "fuzz $pkg $name ($time)" >&2
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" -parallel 2 "$pkg" >&2
done
