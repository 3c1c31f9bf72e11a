#!/usr/bin/env bash
# Installs missing Debian packages, builds the extension and installs it into
# the system PostgreSQL 15; shared first step of the demo and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/install-deps.sh
export PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
make -s -j2
$SUDO make -s install
