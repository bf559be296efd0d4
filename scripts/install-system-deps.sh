#!/bin/sh
# Install the Debian/Ubuntu packages the test suite needs (idempotent):
#   postgresql       server binaries: the tests start a throwaway cluster with initdb/pg_ctl
#   the PC/SC stack  pcscd, the virtual reader and pyscard's build needs (install-pcsc.sh)
# As root with apt-get it installs what is missing. Otherwise it prints what is missing;
# that fails in CI (CI set) and only warns on a developer's machine (those tests then skip).
set -eu
here=$(dirname "$0")

for step in "apt-ensure.sh postgresql" "install-pcsc.sh"; do
    # shellcheck disable=SC2086  # "script args" splits into words on purpose
    if ! sh "$here"/$step; then
        [ -z "${CI:-}" ] || exit 1
        echo "install-system-deps: some tests will skip without these packages" >&2
    fi
done
