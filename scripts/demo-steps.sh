#!/bin/bash
# The demo's steps, run where systemd is PID 1 (the host or the box).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top"
id=demo
scope=containerd-$id.scope
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "install and start containerd-ts.service"
bash scripts/install.sh
systemctl start containerd-ts
systemctl --no-pager --lines=0 status containerd-ts | sed -n '1,4p'

step "import the busybox image (built locally from Debian's busybox-static)"
ctr-ts images import test/fixtures/out/busybox.oci.tar
ctr-ts images ls

step "run: ctr-ts run --rm --memory 64M --cpus 0.5 --pids 32 busybox $id ..."
ctr-ts run --rm --memory 64M --cpus 0.5 --pids 32 busybox $id \
  sh -c 'echo "hello from $(hostname), in $(grep memory /proc/self/cgroup)"; sleep 3; echo "exiting with 7"; exit 7' &
run=$!
for _ in $(seq 50); do systemctl is-active --quiet "$scope" && break; sleep 0.1; done
sleep 0.5

step "systemctl show $scope -p MemoryMax -p CPUQuotaPerSecUSec -p TasksMax"
systemctl show "$scope" -p MemoryMax -p CPUQuotaPerSecUSec -p TasksMax

step "the cgroup files agree"
cg=$(systemctl show "$scope" -p ControlGroup --value)
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  for f in memory.max cpu.max pids.max; do echo "$f: $(cat /sys/fs/cgroup$cg/$f)"; done
else
  echo "memory.limit_in_bytes: $(cat /sys/fs/cgroup/memory$cg/memory.limit_in_bytes)"
  echo "cpu.cfs_quota_us: $(cat /sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us) / cpu.cfs_period_us: $(cat /sys/fs/cgroup/cpu$cg/cpu.cfs_period_us)"
  echo "pids.max: $(cat /sys/fs/cgroup/pids$cg/pids.max)"
fi

step "machinectl list"
machinectl list
step "machinectl status $id (first lines)"
machinectl status "$id" --no-pager | sed -n '1,8p'

step "systemd-cgls -u $scope"
systemd-cgls --no-pager -u "$scope"

step "the container's exit code"
rc=0; wait $run || rc=$?
echo "ctr-ts run exited with $rc (the container's own exit code)"

step "after --rm: no scope, no machine, no container record"
systemctl is-active "$scope" || true
machinectl list --no-legend | grep -c "^$id " || true
ctr-ts containers ls
