#!/bin/sh
# Install the Debian/Ubuntu packages the test suite needs (idempotent):
#   postgresql       server binaries: the tests start a throwaway cluster with initdb/pg_ctl
#   pcscd, vsmartcard-vpcd, libpcsclite-dev, swig
#                    the PC/SC stack, the virtual reader and pyscard's build needs
#                    (see scripts/install-pcsc.sh)
# As root with apt-get it installs what is missing. Otherwise it prints what is missing;
# that fails in CI (CI set) and only warns on a developer's machine (those tests then skip).
set -eu
here=$(dirname "$0")

PACKAGES="postgresql"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done

if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # shellcheck disable=SC2086  # the package list is meant to split into words
        apt-get install -y -qq --no-install-recommends $missing
        echo "install-system-deps: installed:$missing"
    else
        echo "install-system-deps: missing Debian packages:$missing" >&2
        echo "install-system-deps: as root: apt-get install$missing" >&2
        [ -z "${CI:-}" ] || exit 1
    fi
fi

if [ -n "${CI:-}" ]; then
    sh "$here/install-pcsc.sh"
else
    sh "$here/install-pcsc.sh" || echo "install-system-deps: card-reader tests will skip" >&2
fi
