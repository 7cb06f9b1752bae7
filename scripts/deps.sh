#!/usr/bin/env bash
# Installs (idempotently) every Debian package the local backend and the tests use.
# Safe to run repeatedly: it only calls apt-get when something is missing.
set -euo pipefail

PKGS=(
  xvfb xauth x11-utils x11-xserver-utils xdotool scrot imagemagick
  openbox bubblewrap slirp4netns x11vnc novnc
  xdg-utils desktop-file-utils shared-mime-info
  fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji
  firefox-esr chromium chromium-driver
  xterm mousepad pcmanfm xclip
  xfce4-session xfwm4 xfdesktop4 dbus-x11 net-tools
  procps psmisc iproute2 util-linux coreutils bash
  curl jq ffmpeg
  x11proto-dev
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
