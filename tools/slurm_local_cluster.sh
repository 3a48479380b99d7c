#!/usr/bin/env bash
# A single-node SLURM cluster on localhost, for testing `glia sweep --slurm` (docs/sweeps.md):
# munged, slurmctld and slurmd started directly (no systemd), everything (config, state, spool,
# logs, munge key and socket) under one directory, nothing system-wide touched.
#
#   bash tools/slurm_local_cluster.sh install     # apt-get install slurm-wlm munge if missing
#   bash tools/slurm_local_cluster.sh start DIR   # writes DIR/slurm.conf, starts the daemons,
#                                                 # waits until the node is idle
#   export SLURM_CONF=DIR/slurm.conf              # then sbatch, squeue, sinfo use this cluster
#   bash tools/slurm_local_cluster.sh stop DIR    # stops the daemons started by `start DIR`
#
# Ports: GLIA_SLURM_PORT (default 16817) for slurmctld and the next one for slurmd, away from
# SLURM's defaults (6817/6818) so that a real cluster on the same machine is not disturbed.
# GLIA_SLURM_OWNER=PID: a watchdog stops the cluster once that process has gone, so that a test
# that crashes (or is killed by a timeout) leaves no daemons behind.
# The daemons run as the calling user, which must be root (SlurmUser=root, SlurmdUser=root:
# slurmd must start jobs as the submitting user).
set -euo pipefail

die() { echo "slurm_local_cluster: $*" >&2; exit 1; }

install_slurm() {
    local missing=()
    for cmd in slurmctld slurmd sbatch munged; do
        command -v "$cmd" > /dev/null || missing+=("$cmd")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] ||
        die "missing ${missing[*]}; install with: sudo apt-get install slurm-wlm munge"
    # One installer at a time (tests start clusters concurrently); the others wait, then find
    # everything installed.
    (
        flock 9
        command -v slurmctld > /dev/null && command -v slurmd > /dev/null &&
            command -v sbatch > /dev/null && command -v munged > /dev/null && exit 0
        echo "slurm_local_cluster: installing slurm-wlm munge (missing: ${missing[*]})"
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -o DPkg::Lock::Timeout=300 slurm-wlm munge
    ) 9> /tmp/glia_slurm_install.lock
}

stop_cluster() {
    local dir=$1
    # Jobs first, so that no job step outlives the daemons.
    if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2> /dev/null; then
        SLURM_CONF=$dir/slurm.conf scancel --user="$(id -un)" 2> /dev/null || true
        for _ in $(seq 50); do
            [ -z "$(SLURM_CONF=$dir/slurm.conf squeue -h 2> /dev/null)" ] && break
            sleep 0.2
        done
    fi
    local names="slurmd slurmctld munged"
    [ "${2:-}" = "--from-watchdog" ] || names="watchdog $names"
    for name in $names; do
        local f="$dir/$name.pid"
        [ -f "$f" ] || continue
        local pid
        pid=$(cat "$f")
        if kill -0 "$pid" 2> /dev/null; then
            kill "$pid" 2> /dev/null || true
            for _ in $(seq 100); do
                kill -0 "$pid" 2> /dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2> /dev/null || true
        fi
        rm -f "$f"
    done
}

start_cluster() {
    local dir=$1
    [ "$(id -u)" -eq 0 ] || die "start needs root (SlurmdUser=root)"
    install_slurm
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    stop_cluster "$dir"
    rm -rf "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
    mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/munge"
    chmod 755 "$dir" "$dir/munge"  # munged wants its socket directory reachable by all

    local socket=$dir/munge/munge.socket
    [ ${#socket} -lt 100 ] ||
        die "'$dir' is too long: munged's socket path ($socket) must fit in 100 bytes"

    local port=${GLIA_SLURM_PORT:-16817}
    local cpus
    cpus=$(nproc)
    cat > "$dir/slurm.conf" << EOF
# Written by tools/slurm_local_cluster.sh: one node (the local host) named localhost.
ClusterName=glia-test
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/log/slurmctld.pidfile
SlurmdPidFile=$dir/log/slurmd.pidfile
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=10
Waittime=0
NodeName=localhost CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

    # munge: a fresh key, a private socket; -F keeps it in the foreground so that $! is its pid.
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 600 "$dir/munge/munge.key"
    munged -F --force --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
        --log-file="$dir/log/munged.log" --pid-file="$dir/munge/munged.pid" \
        --seed-file="$dir/munge/munged.seed" > /dev/null 2>&1 < /dev/null &
    echo $! > "$dir/munged.pid"
    for _ in $(seq 50); do
        [ -S "$dir/munge/munge.socket" ] && break
        sleep 0.1
    done
    [ -S "$dir/munge/munge.socket" ] || die "munged did not start; see $dir/log/munged.log"

    export SLURM_CONF=$dir/slurm.conf
    slurmctld -D -i -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 < /dev/null &
    echo $! > "$dir/slurmctld.pid"
    slurmd -D -N localhost -f "$SLURM_CONF" > "$dir/log/slurmd.out" 2>&1 < /dev/null &
    echo $! > "$dir/slurmd.pid"

    local state=""
    for _ in $(seq 120); do
        state=$(sinfo -h -N -o %T 2> /dev/null | head -1 || true)
        [ "$state" = "idle" ] && break
        sleep 0.5
    done
    if [ "$state" != "idle" ]; then
        tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
        stop_cluster "$dir"
        die "the node did not become idle (state '$state'); logs in $dir/log"
    fi
    if [ -n "${GLIA_SLURM_OWNER:-}" ]; then
        local owner=$GLIA_SLURM_OWNER
        (
            while kill -0 "$owner" 2> /dev/null; do sleep 1; done
            stop_cluster "$dir" --from-watchdog
            rm -f "$dir/watchdog.pid"
        ) > /dev/null 2>&1 < /dev/null &
        echo $! > "$dir/watchdog.pid"
    fi
    echo "slurm_local_cluster: node localhost idle; export SLURM_CONF=$SLURM_CONF"
}

case "${1:-}" in
install) install_slurm ;;
start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start_cluster "$2" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop_cluster "$(cd "$2" && pwd)" ;;
*) die "usage: $0 install | start DIR | stop DIR" ;;
esac
