#!/usr/bin/env bash
# Installs the Debian 12 packages triggerstock needs to build, test, benchmark
# and demo.  Idempotent: does nothing when every package is already there.
# Extra package names given as arguments are installed too (make start adds
# python3-matplotlib).
set -euo pipefail

PACKAGES=(
  build-essential clang llvm libclang-rt-14-dev
  postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-common
  libxgboost-dev libwebsockets-dev libcurl4-openssl-dev libcjson-dev libxml2-dev
  python3 python3-xgboost python3-websockets python3-psycopg2
  perl libipc-run-perl
  "$@"
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
