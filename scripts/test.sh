#!/usr/bin/env bash
# The whole test suite (what `make test` and CI run): installs what is
# missing, checks format and vet, runs every Go test on real desktops, then
# every end-to-end script under e2e/*/run.sh (external MCP clients, browsers,
# the official E2B SDKs). Exits non-zero on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."

e2e_only=false
[ "${1:-}" = "--e2e-only" ] && e2e_only=true

stage() { printf '\n=== %s ===\n' "$*" >&2; }

stage "deps"
bash scripts/deps.sh
if [ -f e2e/package.json ]; then
  (cd e2e && { [ -f package-lock.json ] && npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; })
fi

# The e2b helper the binary embeds (internal/helperbin): generated, not committed.
go generate ./internal/helperbin

if ! $e2e_only; then
  stage "gofmt + vet"
  unformatted=$(gofmt -l $(git ls-files '*.go'))
  if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted" >&2; exit 1; fi
  go vet ./...

  stage "go test"
  go test -count=1 -timeout 45m ./... 2>&1 | tee /tmp/vmservice-go-test.log

  # --- hardening (securitytest/, SECURITY.md): short fuzz runs --------------
  stage "fuzz (10 s per target)"
  bash securitytest/fuzz.sh 10s
  stage "soak (60 s: principals, random calls, faults; 0 leaks)"
  bash cmd/soak/soak.sh 60s
  # --- end hardening ----------------------------------------------------------
fi

stage "build"
make -s build

shopt -s nullglob
e2e=0
for script in e2e/*/run.sh; do
  stage "e2e: $script"
  bash "$script"
  e2e=$((e2e + 1))
done

# The local backend without root: the MCP clients again, as an unprivileged
# account (backend/local TestRootlessSuite runs the behavioural suite so).
# The account sees the checkout through a bind mount in a mount namespace of
# this stage's own, at a path anyone may traverse (a checkout in root's home
# is not).
acct=$(bash scripts/test-account.sh)
stage "e2e: e2e/mcp/run.sh without root (as $acct)"
view=$(mktemp -d /tmp/vmservice-e2e-XXXXXX)
chmod 755 "$view"
unshare --mount --propagation private -- sh -c 'mount --bind "$1" "$2" &&
  exec setpriv --reuid="$3" --regid="$3" --clear-groups -- env -i PATH="$4" LANG=C.UTF-8 \
    VMSERVICE_E2E_BIN="$2/vmservice" bash "$2/e2e/mcp/run.sh"' sh "$PWD" "$view" "$acct" "$PATH"
rmdir "$view"
e2e=$((e2e + 1))

# Anything of a sandbox still running is a leak. A process that is exiting
# (or a zombie its parent has yet to reap) gets up to a minute first.
stage "leak check"
end=$((SECONDS + 60))
while :; do
  leaks=$(for p in Xvfb bwrap x11vnc openbox slirp4netns xfce4-session xfwm4; do pgrep -a -x "$p"; done || true)
  [ -z "$leaks" ] || ((SECONDS >= end)) && break
  sleep 0.5
done
if [ -n "$leaks" ]; then echo "processes left behind by the tests:" >&2; echo "$leaks" >&2; exit 1; fi

# One closing line: Go test packages and end-to-end scripts that passed
# (any failure stopped the script above with a non-zero status).
pkgs=0
$e2e_only || pkgs=$(grep -c '^ok ' /tmp/vmservice-go-test.log || true)
echo "make test: $((pkgs + e2e)) passed, 0 failed"
