#!/bin/bash
# Integration tests, run where systemd is PID 1 (the host or the test box):
# install containerd-ts, start it as containerd-ts.service, run the suite
# against it, stop it, and check that nothing was left behind.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top"
bash scripts/install.sh >/dev/null
systemctl start containerd-ts
rc=0
npx mocha --reporter ./test/reporter.cjs --timeout 120000 'dist/test/integration/**/*.test.js' || rc=$?
systemctl stop containerd-ts
systemctl reset-failed containerd-ts 2>/dev/null || true
exit $rc
