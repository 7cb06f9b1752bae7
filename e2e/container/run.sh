#!/usr/bin/env bash
# The container image, built and run the way CI can: no image registry is
# reachable, so packaging/rootfs.sh builds the image's root filesystem from
# Debian packages with mmdebstrap (the Dockerfile's package list and install
# script), podman imports it with the Dockerfile's ENTRYPOINT, and the
# official MCP TypeScript SDK client launches `podman run -i --rm ...` as its
# stdio server (container.mjs): create a sandbox, click, screenshot, the live
# stream from outside the container, Firefox, destroy; then once without the
# privileges: the server answers and names the missing flag.
# Runs with the least privilege README "Container" documents; prints the
# image size and build and start-up times.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
say() { printf 'e2e/container: %s\n' "$*" >&2; }
cd "$root"
[ -d e2e/node_modules/@modelcontextprotocol/sdk ] || (cd e2e && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
image="localhost/vmservice-e2e:$$"
name="vmservice-e2e-$$"
cleanup() {
  set +e
  podman rm -f -t 5 "$name" >/dev/null 2>&1
  podman rmi -f "$image" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

make -s build BIN="$work/vmservice"
t0=$(date +%s%N)
bash packaging/rootfs.sh "$work/vmservice" "$work/rootfs.tar"
t1=$(date +%s%N)
podman import -q --change "$(grep '^ENTRYPOINT' Dockerfile)" "$work/rootfs.tar" "$image" >/dev/null
t2=$(date +%s%N)
rm -f "$work/rootfs.tar"
size=$(podman image inspect --format '{{.Size}}' "$image")
say "image: $((size / 1000000)) MB; root filesystem built in $(((t1 - t0) / 1000000000)) s, imported in $(((t2 - t1) / 1000000000)) s"

# The least privilege the local backend needs in a container (README
# "Container"): CAP_SYS_ADMIN to make its own cgroup subtree writable;
# CAP_SYS_PTRACE to open a sandbox's namespaces (/proc/PID/ns/*) as root,
# for MIT-SHM screenshots and the stream's x11vnc; a private cgroup
# namespace so that subtree is all it sees; /proc without the runtime's masks
# so bubblewrap can mount a /proc in each sandbox's pid namespace (podman:
# unmask=/proc/*; docker: systempaths=unconfined). Seccomp stays on.
least=(--cap-add SYS_ADMIN --cap-add SYS_PTRACE --cgroupns private --security-opt 'unmask=/proc/*')
# This machine's own quirks, not the image's needs: crun refuses hosts with
# cgroup v1 next to a cgroup v2 mount that has controllers (runc does not),
# and root here lacks CAP_SYS_RESOURCE, so no limit may exceed its own.
quirks=(--ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --ulimit "nproc=16384:16384")
if grep -qs . /sys/fs/cgroup/unified/cgroup.controllers && command -v runc >/dev/null; then quirks+=(--runtime runc); fi

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
stream=(-p "127.0.0.1:$port:6080" -e VMSERVICE_STREAM_LISTEN=0.0.0.0:6080 -e "VMSERVICE_STREAM_PUBLIC_URL=http://127.0.0.1:$port")
(cd e2e && node container/container.mjs "http://127.0.0.1:$port" -- \
  podman run -i --rm --name "$name" "${quirks[@]}" "${least[@]}" "${stream[@]}" "$image" --log-level warn)
# Without them the server must still answer, and say which flag is missing.
(cd e2e && node container/container.mjs --unprivileged -- podman run -i --rm --name "$name" "${quirks[@]}" "$image" --log-level error)
echo "e2e/container: 1 passed, 0 failed"
