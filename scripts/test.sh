#!/bin/bash
# The whole test suite, as CI runs it: unit tests on the host, then the
# integration tests against a real systemd, D-Bus, machined and runc (the
# host's when PID 1 is systemd, otherwise the project's systemd box).
# Prints "N passed, N failed, N skipped" last; exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top"
box=scripts/systemd-box.sh

bash scripts/setup.sh
bash scripts/make-busybox-image.sh test/fixtures/out >/dev/null

share=$(mktemp -d /var/tmp/containerd-ts-test.XXXXXX)
counts=$share/counts
box_name=ctrts-test-$$
cleanup() {
  rm -rf "$share"
  if [ -n "${box_up:-}" ]; then bash $box down "$box_name" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
export TEST_COUNTS_FILE=$counts

echo "== unit tests"
unit_rc=0
npx mocha --reporter ./test/reporter.cjs 'dist/test/unit/**/*.test.js' || unit_rc=$?

echo "== integration tests (real systemd, D-Bus, machined, runc)"
int_rc=0
if bash $box host-is-systemd; then
  bash scripts/integration.sh || int_rc=$?
else
  box_up=1
  bash $box up "$box_name" >/dev/null
  BOX_PASS_ENV="TEST_COUNTS_FILE CI" BOX_SHARE=$share bash $box exec "$box_name" bash "$top/scripts/integration.sh" || int_rc=$?
  bash $box down "$box_name" >/dev/null
  box_up=
fi

# Add up the runs: the closing line is what CI reads.
read -r passed failed skipped < <(node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
  const sum = (k) => lines.reduce((a, l) => a + l[k], 0);
  console.log(sum("passed"), sum("failed"), sum("skipped"));' "$counts")
echo
echo "all suites: $passed passed, $failed failed, $skipped skipped"
if [ "$unit_rc" != 0 ] || [ "$int_rc" != 0 ]; then exit 1; fi
