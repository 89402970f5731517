#!/usr/bin/env bash
# Install Debian packages that some tests need (Chromium, PostgreSQL, HAProxy), when they are
# missing and apt can be used; otherwise say which tests will be skipped and carry on.
#
#   scripts/apt-install.sh "what skips without them" PACKAGE...
#
# Never fails: a missing package only skips its tests. apt needs root; as another user, or
# on a system without apt, nothing is installed and nothing is asked for (no sudo prompt).
set -uo pipefail

WHAT=${1:?usage: apt-install.sh "what skips without them" PACKAGE...}
shift
missing=()
for pkg in "$@"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-install: no apt-get here; ${missing[*]} not installed: $WHAT" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "apt-install: not root, so not running apt-get install ${missing[*]}: $WHAT" \
    "(install them as root to run those tests)" >&2
  exit 0
fi
echo "apt-install: apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
  # A fresh machine has no package lists yet.
  apt-get update -qq >/dev/null 2>&1
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    echo "apt-install: apt-get install ${missing[*]} failed: $WHAT" >&2
fi
exit 0
