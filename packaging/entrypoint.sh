#!/bin/sh
# The container's entry point: makes the container's own cgroup tree
# writable for the local backend (it puts every sandbox in a cgroup of its
# own), then runs the server with the container's arguments.
#
# Container runtimes mount /sys/fs/cgroup read-only. With CAP_SYS_ADMIN and
# a private cgroup namespace (README "Container") the mount shows only this
# container's subtree, so remounting it read-write gives nothing above the
# container. Without the capability the remount fails quietly and the server
# answers every call with BACKEND_UNAVAILABLE naming the missing privilege.
set -u
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  # cgroup v2: one mount. Its root may not hold processes and delegate
  # controllers at once, so this shell and the server move to a leaf first
  # (as Docker's own docker-in-docker entry point does).
  mount -o remount,bind,rw /sys/fs/cgroup 2>/dev/null
  if mkdir -p /sys/fs/cgroup/vmservice-server 2>/dev/null; then
    echo $$ >/sys/fs/cgroup/vmservice-server/cgroup.procs 2>/dev/null
  fi
else
  # cgroup v1: one mount per controller.
  for d in /sys/fs/cgroup/*; do
    grep -q " $d cgroup ro," /proc/mounts 2>/dev/null && mount -o remount,bind,rw "$d" 2>/dev/null
  done
fi
# Sandbox uids are host uids (a container shares the host's uid space). A
# vmservice on the host, or in another container, using the same uids would
# take this container's sandboxes for leftovers of its own and kill them,
# and two sandboxes would share a uid. Unless told otherwise, use 1000 uids
# at a random place between 1,000,000 and 1,001,000,000 (README "Container").
if [ -z "${VMSERVICE_LOCAL_UID_BASE:-}" ]; then
  VMSERVICE_LOCAL_UID_BASE=$((($(od -An -N4 -tu4 /dev/urandom) % 1000000 + 1000) * 1000))
  export VMSERVICE_LOCAL_UID_BASE
fi
exec /usr/local/bin/vmservice "$@"
