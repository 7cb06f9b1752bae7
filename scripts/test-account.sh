#!/usr/bin/env bash
# The unprivileged accounts the tests run the local backend as, to test it
# without root (backend/local TestRootlessSuite, make test's rootless e2e
# stage). Made once (needs root). `test-account.sh` is vmservice-test, with a
# subordinate uid and gid range of its own so each sandbox gets a uid of its
# own, as a user's would from `useradd` (far from the uids root mode hands
# out); `test-account.sh --no-subids` is vmservice-test-nosub, with none.
# Prints the name.
set -euo pipefail
name=vmservice-test
range=420000000-420065535
if [ "${1:-}" = --no-subids ]; then
  name=vmservice-test-nosub
  range=
fi
if ! id -u "$name" >/dev/null 2>&1; then
  # -K: no subordinate ids from login.defs (the range below is explicit)
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 --comment "vmservice tests without root" "$name" >&2
fi
if [ -n "$range" ]; then
  grep -q "^$name:" /etc/subuid || usermod --add-subuids "$range" "$name" >&2
  grep -q "^$name:" /etc/subgid || usermod --add-subgids "$range" "$name" >&2
fi
echo "$name"
