#!/bin/bash
# Installs containerd-ts on this machine (or inside the test box): the three
# executables linked into /usr/local/bin, the unit, a default config dir.
# Needs a built tree (scripts/setup.sh). Idempotent.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
[ -f "$top/dist/src/daemon/main.js" ] || { echo "install: build first (npm run build)" >&2; exit 1; }
for b in containerd-ts ctr-ts containerd-ts-shim; do ln -sfn "$top/bin/$b" "/usr/local/bin/$b"; done
install -D -m 0644 "$top/units/containerd-ts.service" /etc/systemd/system/containerd-ts.service
mkdir -p /etc/containerd-ts
if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "installed: /usr/local/bin/{containerd-ts,ctr-ts,containerd-ts-shim}, /etc/systemd/system/containerd-ts.service"
