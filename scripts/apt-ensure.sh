#!/bin/sh
# apt-ensure.sh PACKAGE...: install the Debian/Ubuntu packages that are missing.
# As root with apt-get it installs them; otherwise it lists them and exits 1.
set -eu

missing=""
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "apt-ensure: all present ($*)"
    exit 0
fi

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-ensure: missing Debian packages:$missing" >&2
    echo "apt-ensure: as root on Debian/Ubuntu: apt-get install$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists may be empty on a fresh machine; update once, then install.
apt-get update -qq
# shellcheck disable=SC2086  # the package list is meant to split into words
apt-get install -y -qq --no-install-recommends $missing
echo "apt-ensure: installed:$missing"
