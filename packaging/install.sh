#!/usr/bin/env bash
# Installs the desktop packages into the root filesystem of the container
# image; runs inside it, as the Dockerfile's RUN step and as rootfs.sh's
# mmdebstrap hook, so both builds make the same image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DEBIAN_FRONTEND=noninteractive
cp "$here/dpkg-slim.cfg" /etc/dpkg/dpkg.cfg.d/vmservice-slim
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(bash "$here/list.sh" desktop install) >/dev/null
# NAME=DIR: only DIR of the package, unpacked without its dependencies.
work=$(mktemp -d)
chown _apt "$work" 2>/dev/null || true # apt-get download writes as _apt
for entry in $(bash "$here/list.sh" desktop files); do
  name=${entry%%=*} dir=${entry#*=}
  (cd "$work" && apt-get download -qq "$name" && dpkg-deb -x "$name"_*.deb "$work/$name")
  mkdir -p "$(dirname "$dir")"
  cp -a "$work/$name$dir" "$dir"
done
rm -rf "$work"
install -m 0755 "$here/entrypoint.sh" /usr/local/bin/vmservice-entrypoint
# A file for the server to bind each sandbox's own machine id over (one
# the image lacks cannot be bound over inside a sandbox).
if [ ! -f /etc/machine-id ] || [ -L /etc/machine-id ]; then
  rm -f /etc/machine-id
  : >/etc/machine-id
fi
# rootfs.sh keeps the downloaded .debs for its next build, then removes them.
[ -n "${KEEP_DEBS:-}" ] || apt-get clean
rm -rf /var/lib/apt/lists/*
