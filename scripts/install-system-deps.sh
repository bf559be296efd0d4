#!/bin/sh
# Install the Debian/Ubuntu packages the test suite needs (idempotent):
#   postgresql       server binaries: the tests start a throwaway cluster with initdb/pg_ctl
#   the PC/SC stack  pcscd, the virtual reader and pyscard's build needs (install-pcsc.sh)
#   redis-server     the tests start a throwaway Redis (shared rate limits, and Redis down)
#   chromium         headless browser the page tests drive through Playwright (no download)
#   fonts-thai-tlwg  Thai fonts for rich menu images, QR labels and the printable posters
#   nodejs, npm      build the LIFF development bundle (only when npm is not already there)
#   wrk              the HTTP load generator of `make bench` (tests/bench/bench_http.py)
#   prometheus       its promtool checks and unit-tests deploy/prometheus/alerts.yml
#   nginx            `nginx -t` and a run of deploy/nginx/authencode.conf on test ports
#                    (the tests start their own; a daemon the packages start is not used)
#   systemd          `systemd-analyze verify` and `security` on deploy/systemd (no running
#                    systemd needed)
#   libreoffice-calc-nogui  `soffice --headless --convert-to` reads the report's XLSX export
#                    back as a spreadsheet would (tests/authencode/test_export_spreadsheets.py);
#                    the smallest package with Calc's import filters, no GUI, no Java
# As root with apt-get it installs what is missing. Otherwise it prints what is missing;
# that fails in CI (CI set) and only warns on a developer's machine (those tests then skip).
set -eu
here=$(dirname "$0")

steps="apt-ensure.sh@postgresql@redis-server@chromium@fonts-thai-tlwg@wrk
    apt-ensure.sh@prometheus@nginx@systemd apt-ensure.sh@libreoffice-calc-nogui install-pcsc.sh"
command -v npm >/dev/null 2>&1 || steps="$steps apt-ensure.sh@nodejs@npm"

for step in $steps; do
    step=$(echo "$step" | tr '@' ' ')
    # shellcheck disable=SC2086  # "script args" splits into words on purpose
    if ! sh "$here"/$step; then
        [ -z "${CI:-}" ] || exit 1
        echo "install-system-deps: some tests will skip without these packages" >&2
    fi
done
