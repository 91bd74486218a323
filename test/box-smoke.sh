#!/bin/bash
# Smoke test of scripts/systemd-box.sh: boots a box, checks systemd, D-Bus,
# machined, cgroup limits (v1 paths), OOM kill, runc --systemd-cgroup and the
# exec/share plumbing inside it, then takes it down and checks that nothing
# leaked (mounts, cgroup dirs, box dir) and that the host's /tmp was not touched.
#   test/box-smoke.sh [NAME]      (default NAME: smoke-$$); exit 0 iff all PASS
# shellcheck disable=SC2015,SC2016,SC2001,SC2317  # pass/fail idiom, in-box scripts, trap
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
BOX_SH=$HERE/../scripts/systemd-box.sh
PROJECT=$(cd "$HERE/.." && pwd -P)
NAME=${1:-smoke-$$}
BOX_DIR=/var/tmp/containerd-ts-box/$NAME
CG_NAME=containerd-ts-box-$NAME

fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
note() { echo "      $*"; }
bx() { "$BOX_SH" exec "$NAME" "$@"; }

if "$BOX_SH" host-is-systemd; then
  echo "SKIP: host PID 1 is systemd; tests use it directly, no box needed"
  exit 0
fi

marker=$(mktemp /tmp/box-smoke-marker.XXXXXX)
errf=$(mktemp /tmp/box-smoke-up.XXXXXX)
share_up=$(mktemp -d /tmp/box-smoke-share.XXXXXX)       # given to up; under /tmp on purpose
share_exec=$(mktemp -d /var/tmp/box-smoke-share.XXXXXX) # given to exec only
echo keep >"$share_up/before"
cleanup() {
  if [ "$("$BOX_SH" status "$NAME" 2>/dev/null)" = up ] || [ -e "$BOX_DIR" ]; then
    "$BOX_SH" down "$NAME" >/dev/null 2>&1 || true
  fi
  rm -rf "$marker" "$errf" "$share_up" "$share_exec"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== box $NAME"
t0=$(date +%s%N)
if leader=$(BOX_SHARE=$share_up "$BOX_SH" up "$NAME" 2>"$errf"); then
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if [[ $leader =~ ^[0-9]+$ ]] && [ "$(cat "$BOX_DIR/leader" 2>/dev/null)" = "$leader" ]; then
    pass "up: leader $leader (written to $BOX_DIR/leader), ${ms} ms"
  else
    fail "up: printed leader '$leader', $BOX_DIR/leader has '$(cat "$BOX_DIR/leader" 2>/dev/null)'"
  fi
else
  fail "up failed:"; sed 's/^/      /' "$errf"
  echo "RESULT: $fails failure(s)"; exit 1
fi

[ "$("$BOX_SH" status "$NAME")" = up ] && pass "status: up" || fail "status: not up"

# --- systemd and D-Bus
st=$(bx systemctl is-system-running 2>&1)
if [ "$st" = running ]; then pass "systemctl is-system-running: running"
else fail "systemctl is-system-running: $st"; bx systemctl --failed --no-pager | sed 's/^/      /'; fi

bx busctl status org.freedesktop.systemd1 >/dev/null 2>&1 &&
  pass "busctl status org.freedesktop.systemd1" || fail "busctl status org.freedesktop.systemd1"

# --- transient scope with limits
out=$(bx systemd-run --quiet --scope -p MemoryMax=64M -p TasksMax=20 --unit=smoke-scope \
        sh -c 'cat /proc/self/cgroup; sleep 0' 2>&1); rc=$?
if [ $rc = 0 ] && grep -q '^[0-9]*:memory:/system.slice/smoke-scope.scope$' <<<"$out"; then
  pass "systemd-run --scope -p MemoryMax=64M -p TasksMax=20: ran in memory:/system.slice/smoke-scope.scope"
else
  fail "systemd-run --scope (rc=$rc):"; sed 's/^/      /' <<<"$out"
fi

# the same unit name again, kept alive by a sleep, to read its v1 limits
for _ in $(seq 50); do bx systemctl is-active --quiet smoke-scope.scope || break; sleep 0.1; done
bx systemd-run --quiet --scope -p MemoryMax=64M -p TasksMax=20 --unit=smoke-scope sleep 5 </dev/null >/dev/null 2>&1 &
bg=$!
S=/sys/fs/cgroup/memory/system.slice/smoke-scope.scope
mem=; pids=
for _ in $(seq 50); do
  mem=$(bx cat $S/memory.limit_in_bytes 2>/dev/null) && break; sleep 0.1
done
pids=$(bx cat /sys/fs/cgroup/pids/system.slice/smoke-scope.scope/pids.max 2>/dev/null)
[ "$mem" = 67108864 ] && pass "$S/memory.limit_in_bytes = 67108864" ||
  fail "$S/memory.limit_in_bytes = '${mem}' (want 67108864)"
[ "$pids" = 20 ] && pass "pids.max of smoke-scope.scope = 20" || fail "pids.max of smoke-scope.scope = '$pids' (want 20)"
note "host view: $(find /sys/fs/cgroup/memory -path "*/$CG_NAME/system.slice/smoke-scope.scope" -prune 2>/dev/null | head -1)"
bx systemctl stop smoke-scope.scope >/dev/null 2>&1
wait $bg 2>/dev/null

# --- machined (bus-activated)
out=$(bx machinectl list --no-pager 2>&1) && pass "machinectl list: $(tail -n1 <<<"$out")" ||
  { fail "machinectl list:"; sed 's/^/      /' <<<"$out"; }
out=$(bx busctl call org.freedesktop.machine1 /org/freedesktop/machine1 \
        org.freedesktop.machine1.Manager ListMachines 2>&1) && pass "busctl ListMachines: $out" ||
  { fail "busctl ListMachines:"; sed 's/^/      /' <<<"$out"; }

# --- memory limit enforced: 100M allocation under MemoryMax=64M is OOM-killed
bx busybox dd if=/dev/zero of=/dev/null bs=100M count=1 >/dev/null 2>&1 &&
  pass "baseline: 100M allocation without a limit succeeds" || fail "baseline: 100M allocation without a limit failed"
bx systemd-run --quiet --scope -p MemoryMax=64M busybox dd if=/dev/zero of=/dev/null bs=100M count=1 >/dev/null 2>&1
rc=$?
[ $rc = 137 ] && pass "100M allocation in a MemoryMax=64M scope killed (exit 137)" ||
  fail "100M allocation in a MemoryMax=64M scope: exit $rc (want 137)"

# --- runc --systemd-cgroup with a minimal busybox bundle on the real-fs state dir
out=$(bx sh -c '
  set -e
  b=/var/lib/containerd-ts/smoke-bundle
  rm -rf "$b"; mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys"
  cp /bin/busybox "$b/rootfs/bin/busybox"
  for a in sh cat true; do ln -s busybox "$b/rootfs/bin/$a"; done
  cd "$b"; runc spec
  setargs() {
    if command -v jq >/dev/null; then
      jq --arg a "$1" ".process.terminal=false | .process.args=(\$a|split(\" \")) | .linux.cgroupsPath=\"system.slice:containerd:smoke\"" \
        config.json >config.new
    else
      node -e "const f=require(\"fs\"),c=JSON.parse(f.readFileSync(\"config.json\"));c.process.terminal=false;
        c.process.args=process.argv[1].split(\" \");c.linux.cgroupsPath=\"system.slice:containerd:smoke\";
        f.writeFileSync(\"config.new\",JSON.stringify(c))" "$1"
    fi
    mv config.new config.json
  }
  setargs true
  rc=0; runc --systemd-cgroup run smoke </dev/null || rc=$?; echo "rc-true=$rc"
  setargs "cat /proc/self/cgroup"
  rc=0; runc --systemd-cgroup run smoke </dev/null || rc=$?; echo "rc-cat=$rc"
  echo "after=$(systemctl is-active containerd-smoke.scope 2>/dev/null)"
  echo "left=$(runc list -q | wc -l)"
  rm -rf "$b"
' 2>&1)
if grep -qx 'rc-true=0' <<<"$out"; then pass "runc --systemd-cgroup run (args true): exit 0"
else fail "runc --systemd-cgroup run (args true):"; sed 's/^/      /' <<<"$out"; fi
if grep -qx 'rc-cat=0' <<<"$out" && grep -q '^[0-9]*:memory:/system.slice/containerd-smoke.scope$' <<<"$out" &&
   grep -q '^0::/system.slice/containerd-smoke.scope$' <<<"$out"; then
  pass "runc --systemd-cgroup: container ran in unit containerd-smoke.scope"
else fail "runc --systemd-cgroup (args cat /proc/self/cgroup):"; sed 's/^/      /' <<<"$out"; fi
grep -qx 'left=0' <<<"$out" && ! grep -qx 'after=active' <<<"$out" &&
  pass "runc: no container and no containerd-smoke.scope left" || fail "runc left state: $(grep -E '^(after|left)=' <<<"$out" | tr '\n' ' ')"

# --- exec plumbing
[ "$(cd "$PROJECT" && bx pwd)" = "$PROJECT" ] && pass "exec: project at the same path, cwd kept" ||
  fail "exec: cwd in project is '$(cd "$PROJECT" && bx pwd)'"
bx sh -c 'exit 42' </dev/null; rc=$?
[ $rc = 42 ] && pass "exec: exit code passed through (42)" || fail "exec: exit code $rc (want 42)"
bx true <&- && pass "exec: works with stdin closed" || fail "exec: fails with stdin closed"
[ "$(echo hello | bx cat)" = hello ] && pass "exec: stdin passed through" || fail "exec: stdin not passed through"
out=$(SMOKE_VAR=yes NODE_EXTRA_CA_CERTS=/nope BOX_PASS_ENV=SMOKE_VAR bx sh -c 'echo "${SMOKE_VAR-unset} ${NODE_EXTRA_CA_CERTS-unset} $HOME $LANG"')
[ "$out" = "yes unset /root C.UTF-8" ] && pass "exec: clean env + BOX_PASS_ENV" || fail "exec env: '$out'"
out=$(bx cat /proc/1/environ | tr '\0' ' ')
[ "$out" = "container=containerd-ts-box PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin " ] &&
  pass "systemd's environment is clean" || fail "systemd's environment: $out"
out=$(bx sh -c "cat '$share_up/before' && echo up-share >'$share_up/from-box'" 2>&1)
[ "$out" = keep ] && [ "$(cat "$share_up/from-box" 2>/dev/null)" = up-share ] &&
  pass "BOX_SHARE given to up (under /tmp): contents kept, writes reach the host" || fail "BOX_SHARE given to up: '$out'"
BOX_SHARE=$share_exec bx sh -c "echo exec-share >'$share_exec/from-box'" &&
  [ "$(cat "$share_exec/from-box" 2>/dev/null)" = exec-share ] &&
  pass "BOX_SHARE given to exec: writes reach the host" || fail "BOX_SHARE given to exec"
bx test ! -e "$marker" && pass "box /tmp is private (host marker not visible inside)" || fail "host /tmp visible inside the box"
out=$(bx findmnt -n -o FSTYPE /var/lib/containerd-ts)
[ "$out" = ext4 ] && pass "/var/lib/containerd-ts is ext4 inside" || fail "/var/lib/containerd-ts is '$out' inside"
if "$BOX_SH" up "$NAME" >/dev/null 2>&1; then fail "second up of $NAME was not refused"
elif [ "$("$BOX_SH" status "$NAME")" = up ]; then pass "second up of $NAME refused, box still up"
else fail "second up of $NAME broke the box"; fi

[ -e "$marker" ] && pass "host /tmp marker survives the boot" || fail "host /tmp marker GONE: host /tmp was wiped"

# --- down and leaks
t0=$(date +%s%N)
"$BOX_SH" down "$NAME" 2>/dev/null && pass "down ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" || fail "down exited non-zero"
m=$(grep -F "$BOX_DIR" /proc/mounts)
[ -z "$m" ] && pass "no mounts mention $BOX_DIR" || { fail "mounts left:"; sed 's/^/      /' <<<"$m"; }
c=$(find /sys/fs/cgroup -type d -name "$CG_NAME" 2>/dev/null)
[ -z "$c" ] && pass "no cgroup dirs named $CG_NAME left" || { fail "cgroup dirs left:"; sed 's/^/      /' <<<"$c"; }
[ ! -e "$BOX_DIR" ] && pass "box dir removed" || fail "box dir $BOX_DIR left"
[ "$("$BOX_SH" status "$NAME")" = down ] && pass "status: down" || fail "status after down: not down"
"$BOX_SH" down "$NAME" 2>/dev/null && pass "down again (idempotent)" || fail "second down exited non-zero"
[ -e "$marker" ] && pass "host /tmp marker survives" || fail "host /tmp marker GONE"

if [ $fails = 0 ]; then echo "RESULT: all PASS"; exit 0; fi
echo "RESULT: $fails failure(s)"; exit 1
