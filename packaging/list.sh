#!/usr/bin/env bash
# Prints the entries of a packaging/*.packages list, one per line, comments
# and blank lines dropped:
#   list.sh desktop          every package name (what this machine installs)
#   list.sh desktop install  packages an image installs whole
#   list.sh desktop files    NAME=DIR entries: an image takes only DIR of NAME
set -euo pipefail
entries=$(sed -e 's/#.*//' "$(dirname "$0")/$1.packages" | tr -s ' \t' '\n' | sed '/^$/d')
case "${2:-all}" in
all) sed 's/=.*//' <<<"$entries" ;;
install) grep -v = <<<"$entries" || true ;;
files) grep = <<<"$entries" || true ;;
*) echo "list.sh: unknown selection $2" >&2; exit 2 ;;
esac
