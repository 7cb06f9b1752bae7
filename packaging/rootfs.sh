#!/usr/bin/env bash
# Builds the container image's root filesystem from Debian packages with
# mmdebstrap, for machines that reach Debian's mirrors but no image registry
# (CI): Debian's minbase (what debian:bookworm-slim is), then the same
# packaging/install.sh the Dockerfile runs, then the binary at
# /usr/local/bin/vmservice. Import the tarball with `podman import`
# (e2e/container/run.sh does).
#
#   packaging/rootfs.sh BINARY OUT.tar
#
# .debs already in /var/cache/apt/archives are used rather than downloaded;
# everything downloaded is kept in $VMSERVICE_DEB_CACHE (default
# /var/cache/vmservice/debs) for the next build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "$1")
out=$2
cache=${VMSERVICE_DEB_CACHE:-/var/cache/vmservice/debs}
[ -x "$bin" ] || { echo "rootfs.sh: $bin is not an executable" >&2; exit 2; }
mkdir -p "$cache"

mmdebstrap --quiet --variant=minbase --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt="$here/dpkg-slim.cfg" --skip=essential/unlink \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook='sync-in /var/cache/apt/archives/ /var/cache/apt/archives/' \
  --setup-hook="sync-in $cache/ /var/cache/apt/archives/" \
  --customize-hook="copy-in $here /tmp" \
  --customize-hook='chroot "$1" env KEEP_DEBS=1 bash /tmp/packaging/install.sh' \
  --customize-hook="sync-out /var/cache/apt/archives/ $cache/" \
  --customize-hook='chroot "$1" apt-get clean' \
  --customize-hook='rm -rf "$1"/tmp/packaging "$1"/etc/dpkg/dpkg.cfg.d/99mmdebstrap' \
  --customize-hook="upload $bin /usr/local/bin/vmservice" \
  --customize-hook='chmod 0755 "$1"/usr/local/bin/vmservice' \
  bookworm "$out"
