#!/bin/sh
# Build the development/test LIFF bundle (LINE's @line/liff + @line/liff-mock, bundled by
# esbuild) into liff_web/static/vendor/liff-dev.js. Production pages load LINE's SDK from
# LINE and never this bundle.
#
# node_modules and the bundle are git-ignored caches: `npm ci` runs only when node_modules
# is missing or older than package-lock.json, and the bundle is rebuilt only when its inputs
# changed.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
FRONTEND="$ROOT/liff_web/frontend"
OUT="$ROOT/liff_web/static/vendor/liff-dev.js"
STAMP="$FRONTEND/node_modules/.installed-lock"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    # As root on Debian/Ubuntu, install them; otherwise say what to do.
    sh "$ROOT/scripts/apt-ensure.sh" nodejs npm >&2 || true
fi
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "build-liff-assets: npm and node are required to build the LIFF development bundle." >&2
    echo "  Install them (Debian: apt-get install nodejs npm), then run 'make assets'." >&2
    exit 1
fi

cd "$FRONTEND"
if [ ! -f "$STAMP" ] || ! cmp -s package-lock.json "$STAMP"; then
    echo "build-liff-assets: npm ci (node_modules missing or out of date)"
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json "$STAMP"
fi

needs_build=0
if [ ! -s "$OUT" ]; then
    needs_build=1
else
    for input in package-lock.json src/*.js; do
        if [ "$input" -nt "$OUT" ]; then needs_build=1; fi
    done
fi
if [ "$needs_build" -eq 1 ]; then
    mkdir -p "$(dirname "$OUT")"
    npm run --silent build
    echo "build-liff-assets: built $OUT"
fi
