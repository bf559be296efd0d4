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
exec sh "$(dirname "$0")/apt-ensure.sh" \
    pcscd libpcsclite-dev swig vsmartcard-vpcd pcsc-tools gcc python3-dev
