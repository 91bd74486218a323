#!/bin/bash
# systemd-box.sh — run a real systemd (PID 1) in private pid/mount/cgroup/uts/ipc
# namespaces over an overlay of the host root, for tests on hosts whose PID 1 is
# not systemd (see ../shared/notes/systemd-box.md).
#
#   systemd-box.sh up NAME          boot box NAME; prints the leader pid on stdout
#   systemd-box.sh exec NAME CMD... run CMD inside box NAME (all its namespaces)
#   systemd-box.sh down NAME        halt box NAME and remove every trace of it
#   systemd-box.sh status NAME      prints "up" (exit 0) or "down" (exit 1)
#   systemd-box.sh host-is-systemd  exit 0 iff the host's PID 1 is systemd
#
# Box state lives in /var/tmp/containerd-ts-box/NAME:
#   upper/ work/ root/  overlay (lowerdir=/) and its mount point
#   state/lib/          real ext4 dir, mounted on /var/lib/containerd-ts inside
#   logs/boot.log       the box's /dev/console (a pty logged by script(1))
#   leader              host pid of the box's systemd; launcher: pid of script(1)
#   cgroups             every host cgroup dir the box created (one per hierarchy)
# Inside the box: the project (git top level of this script) and $BOX_SHARE (if
# set) are bind-mounted read-write at the same absolute paths; /run, /tmp and
# /dev are fresh (the host's /tmp, /run and /dev are never touched); /sys is a
# fresh read-only sysfs with writable cgroup hierarchies mounted through the
# box's cgroup namespace. The network namespace is the host's.
#
# Environment:
#   BOX_SHARE         (up, exec) absolute path of an existing host dir to bind
#                     inside at the same path; given to exec, it is bound then
#                     (and stays) unless already there; must then be on the
#                     host's root filesystem
#   BOX_PASS_ENV      (exec) space-separated names of variables to pass inside
#   BOX_BOOT_TIMEOUT  (up)   seconds to wait for the boot (default 60)
#   BOX_STOP_TIMEOUT  (down) seconds to wait for systemd to halt (default 20)
set -euo pipefail

readonly BOX_ROOT=/var/tmp/containerd-ts-box
readonly CG_PREFIX=containerd-ts-box-
readonly BOX_TARGET=containerd-ts-box.target
readonly BOX_STATE_DIR=/var/lib/containerd-ts
readonly DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
readonly HOST_ROOT_WINDOW=/run/containerd-ts-box/host-root
SELF=$(readlink -f "${BASH_SOURCE[0]}")
readonly SELF

die() { echo "systemd-box: error: $*" >&2; exit 1; }
info() { echo "systemd-box: $*" >&2; }

project_dir() {
  local d; d=$(dirname "$SELF")
  git -C "$d" rev-parse --show-toplevel 2>/dev/null || (cd "$d/.." && pwd -P)
}

check_name() {
  [[ ${1:-} =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] ||
    die "invalid box name '${1:-}' (letters, digits, _ . -; at most 64 characters)"
}

need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

# ---------------------------------------------------------------- host cgroups
# One line per host cgroup hierarchy mounted under /sys/fs/cgroup:
#   <dir name inside /sys/fs/cgroup> TAB <fstype> TAB <mount options> TAB <box cgroup dir on the host>
# The box dir is a child of this process's own cgroup in that hierarchy (the
# caller may sit in a nested cgroup, e.g. memory:/process_api/<hash>).
host_hierarchies() {
  local name=$1 subsys line pre post root mp fstype superopts o key opts rel ctl cgpath
  local -A seen=() cur=()
  subsys=" $(awk 'NR>1 {printf "%s ", $1}' /proc/cgroups)"
  while IFS= read -r line; do
    IFS=: read -r _ ctl cgpath <<<"$line"
    if [ -z "$ctl" ]; then key=0; else key=$(tr , '\n' <<<"$ctl" | sort | paste -sd,); fi
    cur[$key]=$cgpath
  done </proc/self/cgroup
  while IFS= read -r line; do
    pre=${line%% - *}; post=${line#* - }
    read -r _ _ _ root mp _ <<<"$pre"
    read -r fstype _ superopts <<<"$post"
    case $fstype in cgroup|cgroup2) ;; *) continue ;; esac
    case $mp in /sys/fs/cgroup|/sys/fs/cgroup/*) ;; *) continue ;; esac
    if [ "$fstype" = cgroup2 ]; then
      key=0; opts=
    else
      key=; opts=
      for o in ${superopts//,/ }; do
        case $o in name=*) key+=",$o" ;; *) [[ $subsys == *" $o "* ]] && key+=",$o" ;; esac
      done
      key=${key#,}; opts=$key
      [[ $opts == name=* ]] && opts="none,$opts"
      key=$(tr , '\n' <<<"$key" | sort | paste -sd,)
    fi
    [ -n "$key" ] && [ -z "${seen[$key]:-}" ] || continue
    [ -n "${cur[$key]+x}" ] || continue
    seen[$key]=1
    rel=${cur[$key]}
    if [ "$root" != / ]; then
      [[ $rel == "$root" || $rel == "$root"/* ]] || die "cannot place the box in cgroup hierarchy $mp (mounted root $root, ours $rel)"
      rel=${rel#"$root"}
    fi
    rel=${rel%/}
    printf '%s\t%s\t%s\t%s\n' "${mp#/sys/fs/cgroup}" "$fstype" "${opts:--}" "$mp$rel/$CG_PREFIX$name"
  done </proc/self/mountinfo
}

# Box cgroup dirs: the ones recorded at `up`, plus any found by name (a crash
# may have happened before the record was written, or the record was lost).
box_cgroup_dirs() {
  local name=$1 B=$BOX_ROOT/$1 mp
  { [ -f "$B/cgroups" ] && cat "$B/cgroups"
    awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts | grep '^/sys/fs/cgroup' | sort -u |
      while read -r mp; do
        find "$mp" -maxdepth 8 -type d -name "$CG_PREFIX$name" -prune -print 2>/dev/null || true
      done
  } | awk 'NF && !seen[$0]++'
}

# ------------------------------------------------------------------ liveness
# A zombie counts as dead (orphans are reparented to the host's PID 1, which
# may reap them late).
pid_alive() {
  local st
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${st%% *} != [ZX] ]]
}

# Host pid of box NAME's systemd if it is running, else nothing (exit 1).
# Guards against pid reuse: the process must be systemd, in another pid
# namespace, and in the box's cgroup.
leader_of() {
  local name=$1 B=$BOX_ROOT/$1 l
  l=$(cat "$B/leader" 2>/dev/null) || return 1
  [[ $l =~ ^[0-9]+$ ]] && pid_alive "$l" || return 1
  [ "$(cat "/proc/$l/comm" 2>/dev/null)" = systemd ] || return 1
  [ "$(readlink "/proc/$l/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] || return 1
  grep -q "/$CG_PREFIX$name\(/\|\$\)" "/proc/$l/cgroup" 2>/dev/null || return 1
  echo "$l"
}

launcher_of() {
  local B=$BOX_ROOT/$1 p
  p=$(cat "$B/launcher" 2>/dev/null) || return 1
  [[ $p =~ ^[0-9]+$ ]] && pid_alive "$p" || return 1
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -e "__launch $1 " -e "__inner $1 " || return 1
  echo "$p"
}

# Run a command in the box with a clean environment (for the script's own use).
in_box() {
  local l=$1; shift
  env -i PATH=$DEFAULT_PATH LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 \
    nsenter -t "$l" -a -- "$@" </dev/null
}

# Serialises up/down of one box: flock on $BOX_ROOT/.locks/NAME.lock (fd 9).
# down removes the file while holding it, so a waiter may end up holding a
# deleted file: it then retries on the current one.
lock_box() {
  local f=$BOX_ROOT/.locks/$1.lock deadline=$((SECONDS + 120))
  mkdir -p "$BOX_ROOT/.locks"
  while :; do
    exec 9>>"$f"
    flock -w 120 9 || die "timed out waiting for another up/down of box $1"
    [ "$(stat -L -c %d:%i /dev/fd/9)" = "$(stat -c %d:%i "$f" 2>/dev/null)" ] && return
    [ $SECONDS -lt $deadline ] || die "could not lock box $1"
  done
}
unlock_remove_box() { rm -f "$BOX_ROOT/.locks/$1.lock"; exec 9>&-; }

# --------------------------------------------------------------------- down
# Live processes of cgroup dir $1 (not its children) in pid namespace $2.
box_root_pids() {
  local p out=
  for p in $(cat "$1/cgroup.procs" 2>/dev/null); do
    [ "$(readlink "/proc/$p/ns/pid" 2>/dev/null)" = "$2" ] && pid_alive "$p" && out+="$p "
  done
  echo "$out"
}

do_down() {
  local name=$1 B=$BOX_ROOT/$1 l u deadline t dirs d mp pids left pidns sig killed
  t=${BOX_STOP_TIMEOUT:-20}
  l=$(leader_of "$name") || l=
  u=$(launcher_of "$name") || u=
  if [ -n "$l" ]; then
    # First end what `exec` started and systemd does not manage: the processes
    # left in the root of the box's systemd hierarchy. Those in the box's pid
    # namespace go first, so that their host-side nsenter parents reap them and
    # exit; otherwise (i) an nsenter that dies first hands its child to the
    # host's PID 1, whose late reaping makes the halt wait out its timeouts
    # for the zombie, and (ii) systemd's SIGSTOP broadcast at shutdown leaves
    # nsenter stopped (it mirrors its child's stop), its child unreaped.
    d=$(awk -F'\t' '$3 ~ /name=systemd/ {print $4; f=1; exit} END {if (!f) exit 1}' "$B/hierarchies" 2>/dev/null ||
        awk -F'\t' '$2 == "cgroup2" {print $4; exit}' "$B/hierarchies" 2>/dev/null) || d=
    if [ -n "$d" ] && [ -f "$d/cgroup.procs" ]; then
      pidns=$(readlink "/proc/$l/ns/pid")
      killed=
      for sig in TERM KILL; do
        pids=$(box_root_pids "$d" "$pidns") || pids=
        [ -n "$pids" ] || break
        kill -"$sig" $pids 2>/dev/null || true
        killed=1
        deadline=$((SECONDS + 3))
        while [ -n "$(box_root_pids "$d" "$pidns")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
      done
      if [ -n "$killed" ]; then   # their nsenters now reap them and exit
        deadline=$((SECONDS + 2))
        while [ -n "$(grep -vx "$l" "$d/cgroup.procs")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
      fi
    fi
    kill -s SIGRTMIN+4 "$l" 2>/dev/null || true   # poweroff: systemd exits in a container
    deadline=$((SECONDS + t))
    while pid_alive "$l" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if pid_alive "$l"; then
      info "box $name: systemd did not halt within ${t}s, killing its pid namespace"
      kill -KILL "$l" 2>/dev/null || true
    fi
  fi
  [ -n "$u" ] && kill -KILL "$u" 2>/dev/null || true   # unshare --kill-child takes the leader along

  mapfile -t dirs < <(box_cgroup_dirs "$name")
  # Anything still in the box's cgroups (e.g. an `exec` in flight) dies now.
  deadline=$((SECONDS + 10))
  while :; do
    pids=
    for d in "${dirs[@]}"; do
      [ -d "$d" ] && pids+=" $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')"
    done
    [ -n "${pids// /}" ] || break
    [ $SECONDS -lt $deadline ] || { info "box $name: processes survive in its cgroups:$pids"; break; }
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done

  # Mounts of the box live in its own mount namespace and die with it; any in
  # ours (from older tools, or a crash) are detached here, deepest first.
  for t in 1 2 3; do
    mapfile -t left < <(awk -v b="$B" '$2 == b || index($2, b "/") == 1 {print $2}' /proc/self/mounts | sort -r)
    [ ${#left[@]} -gt 0 ] || break
    for mp in "${left[@]}"; do umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true; done
  done

  # Cgroup dirs, depth first; removal can lag behind the death of the last task.
  deadline=$((SECONDS + 10))
  while :; do
    left=()
    for d in "${dirs[@]}"; do
      [ -d "$d" ] || continue
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [ -d "$d" ] && left+=("$d")
    done
    [ ${#left[@]} -gt 0 ] || break
    if [ $SECONDS -ge $deadline ]; then info "box $name: could not remove cgroup dirs: ${left[*]}"; break; fi
    sleep 0.1
  done

  if [ -d "$B" ]; then
    if awk -v b="$B" '$2 == b || index($2, b "/") == 1 {f=1} END {exit !f}' /proc/self/mounts; then
      die "box $name: mounts remain under $B; not removing it"
    fi
    rm -rf --one-file-system "$B"
  fi
  [ ${#left[@]} -eq 0 ] || return 1
}

cmd_down() {
  local name=${1:-}; check_name "$name"; need_root
  lock_box "$name"
  do_down "$name"
  unlock_remove_box "$name"
  info "box $name down"
}

# ----------------------------------------------------------------------- up
UP_OK=0 UP_NAME=
# shellcheck disable=SC2317  # invoked by the EXIT trap
up_exit() {
  local rc=$? l
  [ "$UP_OK" = 1 ] || [ -z "$UP_NAME" ] && return
  trap - EXIT INT TERM
  set +e
  local B=$BOX_ROOT/$UP_NAME
  {
    echo "systemd-box: error: box $UP_NAME failed to come up; boot log follows"
    echo "----- $B/logs/launch.log"; cat "$B/logs/launch.log" 2>/dev/null
    echo "----- $B/logs/boot.log (console)"; sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[A-Za-z]//g; s/\r//g' "$B/logs/boot.log" 2>/dev/null | tail -n 150
    if l=$(leader_of "$UP_NAME"); then
      echo "----- systemctl is-system-running: $(in_box "$l" systemctl is-system-running 2>&1)"
      echo "----- systemctl --failed"; in_box "$l" systemctl --failed --no-pager 2>&1
      echo "----- systemctl list-jobs"; in_box "$l" systemctl list-jobs --no-pager 2>&1
      echo "----- journal (last 80 lines)"; in_box "$l" journalctl -b --no-pager -n 80 2>&1
    fi
    echo "----- cleaning up"
  } >&2
  do_down "$UP_NAME" >&2 && unlock_remove_box "$UP_NAME"
  exit $(( rc == 0 ? 1 : rc ))
}

cmd_up() {
  local name=${1:-}; check_name "$name"; need_root
  local B=$BOX_ROOT/$name proj share=${BOX_SHARE:-} t=${BOX_BOOT_TIMEOUT:-60}
  local start l='' u us p st d base fstype opts dir deadline elapsed
  for c in unshare nsenter setsid flock mount pgrep script; do command -v $c >/dev/null || die "missing command: $c"; done
  proj=$(project_dir)
  if [ -n "$share" ]; then
    [[ $share == /* ]] || die "BOX_SHARE must be an absolute path: $share"
    [ -d "$share" ] || die "BOX_SHARE is not a directory: $share"
    share=$(readlink -f "$share")
  fi
  lock_box "$name"
  if leader_of "$name" >/dev/null; then die "box $name is already up (leader $(cat "$B/leader")); run: $0 down $name"; fi
  if [ -e "$B" ] || [ -n "$(box_cgroup_dirs "$name")" ]; then
    info "box $name: cleaning leftovers of an earlier run"
    do_down "$name" || die "box $name: could not clean leftovers"
  fi

  UP_NAME=$name
  trap up_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start=$(date +%s%N)
  mkdir -p "$B"/{upper,work,root,state/lib,logs}
  : >"$B/cgroups"
  printf 'PROJECT=%q\nSHARE=%q\n' "$proj" "$share" >"$B/config"
  host_hierarchies "$name" >"$B/hierarchies"
  [ -s "$B/hierarchies" ] || die "no cgroup hierarchies found under /sys/fs/cgroup"
  cut -f4 "$B/hierarchies" >"$B/cgroups"   # recorded before any is created
  find /sys/fs/cgroup -maxdepth 1 -type l -printf '%f\t%l\n' >"$B/cgroup-links"
  while IFS=$'\t' read -r base fstype opts dir; do
    mkdir -p "$dir"
    if [ "$fstype" = cgroup ] && [ -f "$dir/cpuset.cpus" ]; then
      cat "$(dirname "$dir")/cpuset.cpus" >"$dir/cpuset.cpus"
      cat "$(dirname "$dir")/cpuset.mems" >"$dir/cpuset.mems"
    fi
  done <"$B/hierarchies"

  # New session, no inherited lock fd, no terminal; logs go to boot.log.
  setsid "$SELF" __launch "$name" </dev/null >/dev/null 2>>"$B/logs/launch.log" 9>&- &
  u=$!; disown "$u"
  echo "$u" >"$B/launcher"
  deadline=$((SECONDS + t))
  # script -> unshare -> inner (pid 1 of the box; waits for "go", then execs systemd).
  # Once the namespaces exist, script and unshare leave the box's cgroups for
  # the caller's, so that systemd finds no foreign processes in its root cgroup.
  until us=$(pgrep -P "$u" 2>/dev/null) && [ -n "$us" ] && [ -n "$(pgrep -P "$us" 2>/dev/null)" ]; do
    pid_alive "$u" || die "box $name: launcher exited early"
    [ $SECONDS -lt $deadline ] || die "box $name: namespaces not created within ${t}s"
    sleep 0.02
  done
  while read -r d; do
    for p in "$u" "$us"; do echo "$p" >"$(dirname "$d")/cgroup.procs"; done
  done <"$B/cgroups"
  : >"$B/go"
  while :; do
    l=$(pgrep -P "$us" 2>/dev/null) || l=
    [ -n "$l" ] && [ "$(cat "/proc/$l/comm" 2>/dev/null)" = systemd ] && break
    pid_alive "$u" || die "box $name: launcher exited before systemd started"
    [ $SECONDS -lt $deadline ] || die "box $name: systemd did not start within ${t}s"
    sleep 0.02
  done
  echo "$l" >"$B/leader"
  while :; do
    st=$(in_box "$l" systemctl is-system-running 2>/dev/null) || true
    case $st in running|degraded) break ;; esac
    pid_alive "$l" || die "box $name: systemd exited during boot"
    [ $SECONDS -lt $deadline ] || die "box $name: not booted within ${t}s (is-system-running: ${st:-no answer})"
    sleep 0.1
  done
  until in_box "$l" busctl status org.freedesktop.systemd1 >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "box $name: 'busctl status org.freedesktop.systemd1' fails after ${t}s"
    sleep 0.1
  done
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  UP_OK=1
  if [ "$st" = degraded ]; then
    info "box $name: WARNING: degraded; failed units:"
    in_box "$l" systemctl --failed --no-pager --plain --no-legend >&2 || true
  fi
  info "box $name up: leader $l, booted in $((elapsed / 1000)).$(printf %03d $((elapsed % 1000)))s ($st)"
  echo "$l"
}

# Runs (setsid, new session) on the host: joins the box cgroups, then forks
# the namespaces under `script`, whose pty becomes the box's /dev/console (as
# with nspawn) and is logged to logs/boot.log. --kill-child: if unshare dies
# (e.g. SIGHUP when the pty goes away), the box's PID 1 dies with it.
cmd_launch() {
  local name=$1 B=$BOX_ROOT/$1 d
  while read -r d; do echo $$ >"$d/cgroup.procs"; done <"$B/cgroups"
  SHELL=/bin/sh exec script -qfec "$(printf 'exec unshare --fork --pid --mount --cgroup --uts --ipc --propagation private --kill-child %q __inner %q' "$SELF" "$name")" "$B/logs/boot.log"
}

# Masked in the box: units that would touch the shared kernel/host state
# (sysctl, modules, binfmt, clock, /sys), need real hardware or a console
# (udev, getty, fsck, pstore, random seed), manage the network (the box shares
# the host's network namespace), or only cost boot time (periodic timers,
# first-boot and update helpers, utmp).
readonly MASKED_UNITS="
  getty.target getty@.service serial-getty@.service console-getty.service container-getty@.service getty-static.service
  systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket systemd-udev-trigger.service systemd-udev-settle.service
  systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service systemd-resolved.service
  networking.service ifup@.service ifupdown-pre.service NetworkManager.service NetworkManager-wait-online.service wpa_supplicant.service
  systemd-timesyncd.service systemd-time-wait-sync.service
  systemd-sysctl.service systemd-modules-load.service kmod-static-nodes.service systemd-binfmt.service
  proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount dev-hugepages.mount
  systemd-pstore.service systemd-random-seed.service systemd-firstboot.service systemd-machine-id-commit.service
  systemd-repart.service systemd-pcrphase.service systemd-pcrphase-sysinit.service systemd-pcrphase-initrd.service
  systemd-hwdb-update.service systemd-journal-catalog-update.service systemd-update-done.service ldconfig.service
  systemd-update-utmp.service systemd-update-utmp-runlevel.service systemd-journal-flush.service
  systemd-remount-fs.service systemd-fsck-root.service systemd-fsck@.service systemd-quotacheck.service quotaon.service
  systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer systemd-tmpfiles-clean.service
  systemd-ask-password-console.path systemd-ask-password-wall.path
  apt-daily.timer apt-daily.service apt-daily-upgrade.timer apt-daily-upgrade.service dpkg-db-backup.timer dpkg-db-backup.service
  e2scrub_all.timer e2scrub_all.service e2scrub_reap.service fstrim.timer fstrim.service man-db.timer man-db.service
  logrotate.timer logrotate.service cron.service anacron.service anacron.timer rsyslog.service ssh.service ssh.socket
"

unit_escape() { local s=${1//%/%%}; printf '"%s"' "${s//\"/\\\"}"; }

# Runs as PID 1 of the new pid namespace, in the new mount namespace.
cmd_inner() {
  local name=$1 B=$BOX_ROOT/$1 R=$BOX_ROOT/$1/root PROJECT SHARE base fstype opts dir n link tgt u g e
  # shellcheck disable=SC1091
  source "$B/config"
  mount --make-rprivate /
  mount -t overlay overlay -o "lowerdir=/,upperdir=$B/upper,workdir=$B/work" "$R"

  mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
  mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
  if grep -q "^	cgroup2	" "$B/hierarchies"; then
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"     # pure cgroup v2 host
  else
    mount -t tmpfs -o mode=755,nosuid,nodev,noexec,size=1m cgroup "$R/sys/fs/cgroup"
    while IFS=$'\t' read -r base fstype opts dir; do
      mkdir -p "$R/sys/fs/cgroup$base"
      if [ "$fstype" = cgroup2 ]; then mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup$base"
      else mount -t cgroup -o "nosuid,nodev,noexec,$opts" cgroup "$R/sys/fs/cgroup$base"; fi
    done <"$B/hierarchies"
    while IFS=$'\t' read -r link tgt; do ln -sfn "$tgt" "$R/sys/fs/cgroup/$link"; done <"$B/cgroup-links"
    mount -o remount,ro,nosuid,nodev,noexec,mode=755,size=1m "$R/sys/fs/cgroup"
  fi

  # private /dev: the basic nodes bound from the host, own devpts/shm/mqueue
  mount -t tmpfs -o mode=755,nosuid,size=4m dev "$R/dev"
  for n in null zero full random urandom tty fuse net/tun; do
    [ -c "/dev/$n" ] || continue
    mkdir -p "$(dirname "$R/dev/$n")"; touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"
  done
  mkdir -p "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$R/dev/pts"
  ln -s pts/ptmx "$R/dev/ptmx"
  mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"
  mount -t mqueue -o nosuid,nodev,noexec mqueue "$R/dev/mqueue"
  ln -s /proc/self/fd "$R/dev/fd"
  ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"
  touch "$R/dev/console"
  if [ -t 0 ]; then mount --bind "$(readlink /proc/self/fd/0)" "$R/dev/console"    # script's pty
  else mount --bind /dev/null "$R/dev/console"; fi

  mount -t tmpfs -o mode=755,nosuid,nodev "run" "$R/run"
  mount -t tmpfs -o mode=1777,nosuid,nodev "tmp" "$R/tmp"
  # read-only window on the host's root filesystem (not its submounts), from
  # which `exec` binds a BOX_SHARE given only then
  mkdir -p "$R$HOST_ROOT_WINDOW"; chmod 700 "$(dirname "$R$HOST_ROOT_WINDOW")"
  mount --bind / "$R$HOST_ROOT_WINDOW"
  mount -o remount,bind,ro,nosuid,nodev "$R$HOST_ROOT_WINDOW"
  # hide the boxes' own dirs (incl. this overlay's upper) from the box
  mount -t tmpfs -o mode=700,size=64k,nosuid,nodev,noexec boxes "$R$BOX_ROOT"
  mkdir -p "$R$BOX_STATE_DIR"; mount --bind "$B/state/lib" "$R$BOX_STATE_DIR"
  mkdir -p "$R$PROJECT"; mount --bind "$PROJECT" "$R$PROJECT"
  if [ -n "$SHARE" ]; then mkdir -p "$R$SHARE"; mount --bind "$SHARE" "$R$SHARE"; fi

  # systemd configuration, written into the overlay (never the host's /etc)
  local E=$R/etc/systemd
  mkdir -p "$E/system" "$E/system-generators" "$E/system.conf.d" "$E/journald.conf.d" \
    "$E/system/systemd-tmpfiles-setup.service.d"
  cat >"$E/system/$BOX_TARGET" <<EOF
[Unit]
Description=containerd-ts test box
Wants=dbus.socket dbus.service systemd-journald.socket systemd-journald.service
After=dbus.socket dbus.service systemd-journald.socket
AllowIsolate=yes
EOF
  for u in $MASKED_UNITS; do ln -sfn /dev/null "$E/system/$u"; done
  # no generators: fstab/getty/sysv/rc-local/... would pull host units into the box
  for g in /lib/systemd/system-generators/* /usr/lib/systemd/system-generators/* \
           /usr/local/lib/systemd/system-generators/* /etc/systemd/system-generators/*; do
    [ -e "$g" ] && [ "$(readlink "$g")" != /dev/null ] && ln -sfn /dev/null "$E/system-generators/${g##*/}"
  done
  # tmpfiles at boot: create only, never remove (the host's /tmp was once wiped
  # that way) and never touch the bind-mounted host directories
  e="--exclude-prefix=/dev --exclude-prefix=/tmp --exclude-prefix=/var/tmp --exclude-prefix=$BOX_STATE_DIR"
  {
    echo "[Service]"; echo "ExecStart="
    printf 'ExecStart=systemd-tmpfiles --create --boot %s %s' "$e" "$(unit_escape "--exclude-prefix=$PROJECT")"
    [ -n "$SHARE" ] && printf ' %s' "$(unit_escape "--exclude-prefix=$SHARE")"
    echo
  } >"$E/system/systemd-tmpfiles-setup.service.d/containerd-ts-box.conf"
  printf '[Manager]\nDefaultTimeoutStartSec=30s\nDefaultTimeoutStopSec=10s\n' >"$E/system.conf.d/containerd-ts-box.conf"
  printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=32M\nForwardToConsole=no\n' >"$E/journald.conf.d/containerd-ts-box.conf"

  # wait until `up` has moved script and unshare out of the box's cgroups
  for n in $(seq 1500); do [ -e "$B/go" ] && break; sleep 0.02; done
  [ -e "$B/go" ] || { echo "systemd-box: no go from up" >&2; exit 1; }
  cd "$R"
  mkdir -p .containerd-ts-box-oldroot
  pivot_root . .containerd-ts-box-oldroot
  cd /
  umount -l /.containerd-ts-box-oldroot
  rmdir /.containerd-ts-box-oldroot
  exec env -i container=containerd-ts-box PATH="$DEFAULT_PATH" \
    /lib/systemd/systemd --unit="$BOX_TARGET" --show-status=yes
}

# --------------------------------------------------------------------- exec
# Make host dir $2 visible read-write at the same path in the box with leader
# $1, if it is not yet (it is when BOX_SHARE was given to `up`).
share_into_box() {
  local l=$1 s=$2 B=$BOX_ROOT/$3 id
  [[ $s == /* ]] && [ -d "$s" ] || die "BOX_SHARE is not an absolute path of a directory: $s"
  s=$(readlink -f "$s")
  id=$(stat -c %d:%i "$s")
  exec 8>>"$B/share.lock"; flock 8
  if [ "$(in_box "$l" stat -c %d:%i "$s" 2>/dev/null)" != "$id" ]; then
    [ "$(findmnt -n -o TARGET --target "$s")" = / ] ||
      die "BOX_SHARE $s is not on the host's root filesystem: give it to 'up' instead"
    in_box "$l" sh -c 'mkdir -p "$2" && mount --bind "$1$2" "$2" && mount -o remount,bind,rw "$2"' \
      sh "$HOST_ROOT_WINDOW" "$s" >&2 || die "could not bind BOX_SHARE $s into box $3"
    [ "$(in_box "$l" stat -c %d:%i "$s" 2>/dev/null)" = "$id" ] || die "BOX_SHARE $s: bind into box $3 failed"
  fi
  exec 8>&-
}

cmd_exec() {
  local name=${1:-}; check_name "$name"; shift
  [ $# -gt 0 ] || die "usage: $0 exec NAME CMD..."
  local B=$BOX_ROOT/$name l v d cwd
  local -a envs
  l=$(leader_of "$name") || die "box $name is not up"
  { : <&0; } 2>/dev/null || exec </dev/null        # stdin may be closed (CI)
  [ -z "${BOX_SHARE:-}" ] || share_into_box "$l" "$BOX_SHARE" "$name"
  envs=(PATH="${PATH:-$DEFAULT_PATH}" HOME=/root LANG=C.UTF-8)
  [ -n "${TERM+x}" ] && envs+=(TERM="$TERM")
  for v in ${BOX_PASS_ENV:-}; do
    [[ $v =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "BOX_PASS_ENV: invalid variable name '$v'"
    [ -n "${!v+x}" ] && envs+=("$v=${!v}")
  done
  cwd=$PWD
  # join the box's cgroups (its root in every hierarchy): the command is then
  # accounted to the box and seen inside at "/" rather than "/../.."
  while read -r d; do [ -d "$d" ] && echo $$ >"$d/cgroup.procs" 2>/dev/null || true; done <"$B/cgroups"
  # pdeathsig: the command gets SIGTERM if nsenter dies (e.g. the caller is
  # killed by a timeout) instead of running on, orphaned, inside the box.
  exec env -i "${envs[@]}" nsenter -t "$l" -a -- setpriv --pdeathsig TERM -- \
    /bin/sh -c 'cd -- "$1" 2>/dev/null || cd /; shift; exec "$@"' box-exec "$cwd" "$@"
}

cmd_status() {
  local name=${1:-}; check_name "$name"
  if leader_of "$name" >/dev/null; then echo up; else echo down; return 1; fi
}

host_is_systemd() { [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; }

usage() { sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; }

main() {
  local cmd=${1:-}; shift || true
  case $cmd in
    up) cmd_up "$@" ;;
    exec) cmd_exec "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    host-is-systemd) host_is_systemd ;;
    __launch) cmd_launch "$@" ;;
    __inner) cmd_inner "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"; exit $?
