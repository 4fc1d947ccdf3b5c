#!/usr/bin/env bash
# Bring up (or down) a real single-node SLURM cluster on this machine, for the tests and CI
# that run the workflow through snakemake's slurm executor.
#
#   scripts/slurm_cluster.sh start    install slurm + munge from Debian if missing, write
#                                     /etc/slurm/slurm.conf (only one this script manages),
#                                     start munged, slurmctld and slurmd as needed and wait
#                                     until the node is idle; a no-op when already up
#   scripts/slurm_cluster.sh stop     stop only the daemons that `start` started
#   scripts/slurm_cluster.sh status   print "up" (exit 0) or "down" (exit 1)
#
# Needs root and no systemd: the daemons are started directly and their PIDs recorded in
# $SLURM_CLUSTER_STATE_DIR (default /run/tcsummary-slurm): <daemon>.pid, `started` (the
# daemons this script started, the only ones `stop` ends) and `found` (already running).
# Quiet on success; on failure one line on stderr and a non-zero exit code.
# There is no accounting database: `sacct` does not work, `squeue` does (MinJobAge=300).
set -euo pipefail

STATE_DIR="${SLURM_CLUSTER_STATE_DIR:-/run/tcsummary-slurm}"
CONF=/etc/slurm/slurm.conf
MARKER="# managed by tcsummary scripts/slurm_cluster.sh"
MUNGE_KEY=/etc/munge/munge.key
MUNGED_PIDFILE=/run/munge/munged.pid
SLURMCTLD_PIDFILE=/run/slurmctld.pid
SLURMD_PIDFILE=/run/slurmd.pid
SLURM_LOG_DIR=/var/log/slurm
WAIT_SECONDS="${SLURM_CLUSTER_WAIT_SECONDS:-30}"
NODE="$(hostname -s)"

die() {
  echo "slurm_cluster: $*" >&2
  exit 1
}

# Whether a process exists and is not a zombie (PID 1 here reaps orphans only lazily).
alive() { # pid
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ]
}

# Whether a live process runs the named program.
running() { # name
  local pid
  for pid in $(pgrep -x "$1"); do
    alive "$pid" && return 0
  done
  return 1
}

# The PID in a pidfile, if that process is alive and is the named program.
live_pid() { # pidfile name
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  alive "$pid" || return 1
  echo "$pid"
}

started_by_us() { grep -qx "$1" "$STATE_DIR/started" 2>/dev/null; }

record() { # list name: add name to $STATE_DIR/<list> once
  grep -qx "$2" "$STATE_DIR/$1" 2>/dev/null || echo "$2" >>"$STATE_DIR/$1"
}

unrecord() { # list name
  local file="$STATE_DIR/$1"
  [ -f "$file" ] || return 0
  grep -vx "$2" "$file" >"$file.tmp" || true
  mv "$file.tmp" "$file"
}

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

# The node's state as sinfo reports it (idle, mixed, down*, drain, ...), empty if unknown.
node_state() {
  timeout 10 sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n1 || true
}

node_usable() {
  case "$(node_state)" in
    idle | mixed | allocated | completing) return 0 ;;
    *) return 1 ;;
  esac
}

cluster_up() {
  command -v sinfo >/dev/null 2>&1 || return 1
  running slurmctld || return 1
  running slurmd || return 1
  munge_ok || return 1
  node_usable
}

install_packages() {
  local missing=0 cmd log="$STATE_DIR/apt.log"
  for cmd in slurmctld slurmd sbatch munged; do
    command -v "$cmd" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" = 0 ] && return 0
  local pkgs=(slurmctld slurmd slurm-client munge)
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${pkgs[@]}" >"$log" 2>&1; then
    { apt-get update && apt-get install -y --no-install-recommends "${pkgs[@]}"; } >>"$log" 2>&1 ||
      die "apt-get install ${pkgs[*]} failed (see $log)"
  fi
}

setup_munge() {
  install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  install -d -o munge -g munge -m 0755 /run/munge
  if [ ! -s "$MUNGE_KEY" ]; then
    dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
  fi
  chown munge:munge "$MUNGE_KEY"
  chmod 0400 "$MUNGE_KEY"
}

start_munged() {
  local pid
  if munge_ok; then
    started_by_us munged || record found munged
    return 0
  fi
  # A munged that died uncleanly leaves its socket behind: --force lets a new one take it.
  runuser -u munge -- /usr/sbin/munged --force >/dev/null 2>&1 9>&- ||
    die "munged failed to start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do
    munge_ok && break
    sleep 0.1
  done
  munge_ok || die "munged started but munge -n | unmunge fails (see /var/log/munge/munged.log)"
  pid="$(live_pid "$MUNGED_PIDFILE" munged)" || die "munged is up but $MUNGED_PIDFILE is not"
  echo "$pid" >"$STATE_DIR/munged.pid"
  record started munged
  unrecord found munged
}

# The slurm.conf for this machine, from the hardware that `slurmd -C` sees.
render_conf() {
  local hw cpus boards sockets cores threads mem
  hw="$(slurmd -C 2>/dev/null | head -n1)" || die "slurmd -C failed"
  field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$hw"; }
  cpus="$(field CPUs)" boards="$(field Boards)" sockets="$(field SocketsPerBoard)"
  cores="$(field CoresPerSocket)" threads="$(field ThreadsPerCore)" mem="$(field RealMemory)"
  if [ -z "$cpus" ] || [ -z "$mem" ]; then die "cannot parse slurmd -C output: $hw"; fi
  mem=$((mem * 9 / 10))
  cat <<EOF
$MARKER
# Single-node test cluster; rewritten by that script, do not edit by hand.
ClusterName=tcsummary
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((mem / cpus))
ReturnToService=2
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
# Clients give up at once while the controller is down: snakemake's slurm plugin runs
# sinfo/squeue/scontrol when it is imported, i.e. on every snakemake start, and with the
# default (10 s) each start took 9 s longer whenever this cluster was stopped.
MessageTimeout=1
InactiveLimit=0
KillWait=5
SlurmctldPidFile=$SLURMCTLD_PIDFILE
SlurmdPidFile=$SLURMD_PIDFILE
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=$SLURM_LOG_DIR/slurmctld.log
SlurmdLogFile=$SLURM_LOG_DIR/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus Boards=${boards:-1} SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1} RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
}

write_conf() {
  if [ -e "$CONF" ] && ! grep -qxF "$MARKER" "$CONF"; then
    die "$CONF exists and is not managed by this script; refusing to overwrite it"
  fi
  install -d -m 0755 /etc/slurm /var/spool/slurmctld /var/spool/slurmd "$SLURM_LOG_DIR"
  render_conf >"$CONF.tmp"
  if cmp -s "$CONF.tmp" "$CONF"; then
    rm -f "$CONF.tmp"
  else
    chmod 0644 "$CONF.tmp"
    mv "$CONF.tmp" "$CONF"
    # Daemons already running read the old file: have them re-read it.
    if running slurmctld; then timeout 10 scontrol reconfigure >/dev/null 2>&1 || true; fi
  fi
}

start_slurm_daemon() { # name pidfile
  local name="$1" pidfile="$2" pid
  if running "$name"; then
    started_by_us "$name" || record found "$name"
    return 0
  fi
  "/usr/sbin/$name" >/dev/null 2>&1 9>&- ||
    die "$name failed to start: $(tail -n1 "$SLURM_LOG_DIR/$name.log" 2>/dev/null)"
  for _ in $(seq 50); do
    pid="$(live_pid "$pidfile" "$name")" && break
    sleep 0.1
  done
  [ -n "${pid:-}" ] ||
    die "$name did not come up: $(tail -n1 "$SLURM_LOG_DIR/$name.log" 2>/dev/null)"
  echo "$pid" >"$STATE_DIR/$name.pid"
  record started "$name"
  unrecord found "$name"
}

wait_node_idle() {
  local state deadline=$((SECONDS + WAIT_SECONDS))
  while [ "$SECONDS" -lt "$deadline" ]; do
    state="$(node_state)"
    case "$state" in
      idle | mixed | allocated | completing) return 0 ;;
      down* | drain* | fail*)
        timeout 10 scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
        ;;
    esac
    sleep 0.5
  done
  die "node $NODE not idle after ${WAIT_SECONDS}s (state: ${state:-none}; see $SLURM_LOG_DIR/)"
}

# End to end: a job step runs (skipped while jobs occupy the node: those show it works).
check_job_runs() {
  [ "$(node_state)" = idle ] || return 0
  timeout 30 srun -N1 -n1 -t 1 true >/dev/null 2>&1 || die "srun -N1 -n1 true failed on the new cluster"
}

# Serialise concurrent calls (pytest-xdist workers). The daemons must not inherit fd 9.
lock() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/lock"
  flock -w 120 9 || die "another slurm_cluster.sh holds $STATE_DIR/lock"
}

cmd_start() {
  [ "$(id -u)" = 0 ] || die "start needs root"
  lock
  cluster_up && return 0
  install_packages
  write_conf
  setup_munge
  start_munged
  start_slurm_daemon slurmctld "$SLURMCTLD_PIDFILE"
  start_slurm_daemon slurmd "$SLURMD_PIDFILE"
  wait_node_idle
  check_job_runs
}

# End the process recorded in $STATE_DIR/<name>.pid (if it is still that program).
stop_daemon() { # name
  local name="$1" pid
  if pid="$(live_pid "$STATE_DIR/$name.pid" "$name")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    alive "$pid" && die "$name (pid $pid) does not exit"
  fi
  rm -f "$STATE_DIR/$name.pid"
  unrecord started "$name"
}

# Our controller is going away: cancel its jobs so that no job step outlives it.
cancel_jobs() {
  local jobs
  jobs="$(timeout 10 squeue -h -o %A 2>/dev/null || true)"
  [ -n "$jobs" ] || return 0
  # shellcheck disable=SC2086 # one job id per word
  timeout 10 scancel $jobs >/dev/null 2>&1 || true
  for _ in $(seq 100); do
    [ -z "$(timeout 10 squeue -h -o %A 2>/dev/null || true)" ] && return 0
    sleep 0.1
  done
}

cmd_stop() {
  [ -f "$STATE_DIR/started" ] || return 0
  lock
  if started_by_us slurmctld && live_pid "$STATE_DIR/slurmctld.pid" slurmctld >/dev/null; then
    cancel_jobs
  fi
  local name
  for name in slurmd slurmctld munged; do
    started_by_us "$name" && stop_daemon "$name"
  done
  return 0
}

cmd_status() {
  if cluster_up; then
    echo up
  else
    echo down
    return 1
  fi
}

main() {
  case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
      echo "usage: $0 start|stop|status" >&2
      exit 2
      ;;
  esac
}

main "$@"
