#!/bin/bash
# The main job, end to end: install what is missing, build, start
# containerd-ts under systemd, import a locally built busybox image and run
# a container as containerd-<id>.scope with memory, CPU and task limits,
# showing the proof from systemd, machined and the cgroup files.
# Where PID 1 is systemd this uses the host's systemd (the daemon stays
# installed and running; `systemctl stop containerd-ts` stops it). Elsewhere
# it boots the project's systemd box and removes it again afterwards.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top"
box=scripts/systemd-box.sh

bash scripts/setup.sh
bash scripts/make-busybox-image.sh test/fixtures/out >/dev/null

if bash $box host-is-systemd; then
  bash scripts/demo-steps.sh
  echo
  echo "containerd-ts is still running as containerd-ts.service; stop it with: systemctl stop containerd-ts"
else
  name=ctrts-demo-$$
  trap 'bash $box down "$name" >/dev/null 2>&1 || true' EXIT
  echo "== PID 1 is not systemd here: booting the project's systemd box ($name)"
  bash $box up "$name" >/dev/null
  bash $box exec "$name" bash "$top/scripts/demo-steps.sh"
  echo
  echo "== taking the box down (nothing is left behind)"
fi
