#!/usr/bin/env bash
# Installs (idempotently) every Debian package the local backend and the tests use.
# Safe to run repeatedly: it only calls apt-get when something is missing.
set -euo pipefail

# The desktop the server needs at run time: packaging/desktop.packages, the
# list the container image is built from too. Below it, what only the tests,
# benchmarks and release checks use.
mapfile -t DESKTOP < <(bash "$(dirname "$0")/../packaging/list.sh" desktop)
PKGS=(
  "${DESKTOP[@]}"
  x11-utils x11-xserver-utils xdotool scrot imagemagick
  chromium chromium-driver
  xfce4-session xfwm4 xfdesktop4 net-tools
  psmisc iproute2 coreutils bash
  curl jq file
  x11proto-dev
  podman runc mmdebstrap
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present" >&2
  exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
