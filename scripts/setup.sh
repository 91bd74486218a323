#!/bin/bash
# Makes a fresh Debian 12 machine ready: the Debian packages containerd-ts
# uses at run time and in tests, npm dependencies, the native addon and the
# TypeScript build. Idempotent and quiet when everything is there.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top"
pkgs=(runc crun systemd systemd-container dbus busybox-static containerd util-linux attr zstd docker-registry apache2-utils openssl skopeo)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: npm 11's ci rejects lock files that list other
  # platforms' optional packages (lmdb's msgpackr-extract), the lock is still honoured.
  echo "setup: npm install"
  npm install --no-audit --no-fund --loglevel=error
fi
echo "setup: building"
npm run --silent build
