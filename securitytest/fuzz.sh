#!/usr/bin/env bash
# Runs every go test -fuzz target of the project for a while each.
#   bash securitytest/fuzz.sh          # 10 s each (what CI runs)
#   bash securitytest/fuzz.sh 10m      # a longer hunt
# A crasher is written to the package's testdata/fuzz/<Target>/ and fails the
# run: commit that file, it becomes a regression test run by `go test`.
#
# Go 1.26's fuzz coordinator can end a duration-bound run with a bare
# "context deadline exceeded" and no crasher (golang/go#75804, fixed in Go
# 1.27) when the machine is loaded. Such a run wrote no reproducer; it is
# reported, the target's corpus is replayed deterministically, and only a
# failure of that replay (or a written reproducer) fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-10s}"
targets=(
  "./tools FuzzToolArguments"
  "./backend/local FuzzResolvePath"
  "./backend/local FuzzAgentMessages"
  "./stream FuzzStreamAuth"
  "./driver/x11 FuzzParseKey"
  "./driver/imgenc FuzzAdler32"
)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  corpus="${pkg#./}/testdata/fuzz/$name"
  before=$( (ls "$corpus" 2>/dev/null || true) | wc -l)
  echo "fuzz $pkg $name ($time)" >&2
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" -parallel 2 "$pkg" >"$log" 2>&1; then
    cat "$log" >&2
    continue
  fi
  cat "$log" >&2
  after=$( (ls "$corpus" 2>/dev/null || true) | wc -l)
  if [ "$after" -gt "$before" ] || grep -q "Failing input written" "$log" || ! grep -q "context deadline exceeded" "$log"; then
    echo "fuzz: $name found a failing input (see above)" >&2
    exit 1
  fi
  echo "fuzz: $name stopped on Go's fuzztime deadline race (no reproducer written); replaying its corpus" >&2
  go test -count=1 -run "^${name}\$" "$pkg" >&2
done
