#!/bin/sh
# Install the PC/SC stack the reader agent and its tests need on Debian/Ubuntu:
#   pcscd            the PC/SC daemon (tests run it in the foreground, no systemd)
#   libpcsclite-dev  headers pyscard builds against on Linux
#   swig             pyscard's build-time binding generator
#   vsmartcard-vpcd  the virtual reader driver the tests plug a virtual Thai ID card into
#   pcsc-tools       pcsc_scan, handy to check a real reader on a clinic PC
#   gcc, python3-dev the C compiler and Python headers pyscard's extension needs
#
# Idempotent: installs only what is missing. As root on Debian/Ubuntu it installs;
# otherwise it lists what is missing and exits non-zero.
set -eu

PACKAGES="pcscd libpcsclite-dev swig vsmartcard-vpcd pcsc-tools gcc python3-dev"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "install-pcsc: all present ($PACKAGES)"
    exit 0
fi

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-pcsc: missing packages:$missing" >&2
    echo "install-pcsc: run as root on Debian/Ubuntu: apt-get install$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# The package lists may be empty on a fresh machine; update once, then install.
apt-get update -qq
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing
echo "install-pcsc: installed:$missing"
