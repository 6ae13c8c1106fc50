#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (loopback only), as root on
# Debian, for trying and testing `snakemake --profile profiles/slurm`.
#
#   sudo tests/cluster/start_slurm.sh
#   sinfo; snakemake --profile profiles/slurm ...
#   sudo tests/cluster/stop_slurm.sh
#
# What it does (idempotent; rerunning on a running cluster only waits for it):
#   1. installs Debian's slurm-wlm and munge if missing (apt-get);
#   2. writes $FER_SLURM_DIR/slurm.conf: one node named `hostname -s` at
#      127.0.0.1 with this machine's cores (nproc) and memory (a little under
#      `free -m`), one default partition, no accounting, MinJobAge=3600 so that
#      finished jobs stay visible to `squeue` (the plugin's status command);
#   3. starts munged (as the munge user), slurmctld and slurmd;
#   4. waits (at most FER_SLURM_WAIT seconds, default 60) until `sinfo` shows
#      the node idle, and prints how long each step took.
#
# Config, state and logs live in $FER_SLURM_DIR (default /var/tmp/fer-slurm);
# /etc/slurm/slurm.conf becomes a link to its slurm.conf, because `srun` inside
# a job reads the default path: the plugin's job step drops SLURM_CONF from the
# environment. The script refuses to touch an /etc/slurm/slurm.conf that is not
# such a link (a real site's). stop_slurm.sh removes the link again: with a
# config but no controller, every SLURM client (and every `snakemake` start, as
# the SLURM plugin runs `scontrol show config` when it is imported) would wait
# about 9 s for the missing controller.
#
# Settings known to work with Debian 12's slurm-wlm 22.05 inside containers and
# VMs without systemd or writable cgroups: ProctrackType=proctrack/linuxproc,
# TaskPlugin=task/none, SelectType=select/cons_tres, SlurmUser=root.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin # the daemons live in /usr/sbin

DIR=${FER_SLURM_DIR:-/var/tmp/fer-slurm}
WAIT=${FER_SLURM_WAIT:-60}
CONF=$DIR/slurm.conf
T0=$(date +%s.%N)

say() { echo "start_slurm: $*"; }
die() { echo "start_slurm: error: $*" >&2; exit 1; }
since() { echo "$(date +%s.%N) $1" | awk '{printf "%.1f", $1 - $2}'; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"
command -v apt-get >/dev/null || die "needs Debian's apt-get to install slurm-wlm and munge"

# 1. Packages. --no-install-recommends keeps it to 9 small packages (~15 s).
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
    ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # Another apt may be running (for example a test installing chromium):
    # wait for its lock instead of failing.
    apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
    # Try without `apt-get update` first (fast when the lists are fresh).
    # Exit status 3 means "cannot install" (no network, no such package): the
    # test skips then instead of failing.
    if ! apt_get install -y -q --no-install-recommends slurm-wlm munge; then
        apt_get update -q || { echo "start_slurm: apt-get update failed" >&2; exit 3; }
        apt_get install -y -q --no-install-recommends slurm-wlm munge ||
            { echo "start_slurm: apt-get cannot install slurm-wlm munge" >&2; exit 3; }
    fi
fi
T_INSTALL=$(since "$T0")

# 2. Config. The node name must be what slurmd thinks its host is.
NODE=$(hostname -s)
CPUS=$(nproc)
MEM_TOTAL=$(free -m | awk '/^Mem:/ {print $2}')
# Leave 5% for the system: a node whose real memory is below RealMemory is
# drained by slurmctld ("Low RealMemory").
REAL_MEM=$((MEM_TOTAL * 95 / 100))
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run"
cat >"$CONF.new" <<EOF
# Written by tests/cluster/start_slurm.sh: one node on loopback, no accounting.
ClusterName=fer-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Keep finished jobs in slurmctld for an hour: with accounting off, squeue is
# the only way to learn that a job finished, and only while it is remembered.
MinJobAge=3600
ReturnToService=2
# The node's real hardware may differ in detail (sockets, threads): use ours.
SlurmdParameters=config_overrides
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$CPUS RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=main Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
mv "$CONF.new" "$CONF"
ETC=/etc/slurm/slurm.conf
if [ -e "$ETC" ] || [ -L "$ETC" ]; then
    [ "$(readlink "$ETC")" = "$CONF" ] ||
        die "$ETC exists and is not ours (a link to $CONF): not touching a real site's config"
else
    mkdir -p /etc/slurm
    ln -s "$CONF" "$ETC"
fi

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# 3. Daemons. munge first: slurmctld and slurmd authenticate with it.
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged already running"
else
    [ -s /etc/munge/munge.key ] || {
        # The munge package normally creates the key; make one if it did not.
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 0400 /etc/munge/munge.key
    }
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    touch "$DIR/run/munged.ours" # stop_slurm.sh stops only a munged we started
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
    munge -n | unmunge >/dev/null || die "munged does not answer"
fi
alive "$DIR/run/slurmctld.pid" || slurmctld -f "$CONF"
alive "$DIR/run/slurmd.pid" || slurmd -f "$CONF"
T_DAEMONS=$(since "$T0")

# 4. Wait for the node to be idle (or mixed/allocated, if jobs already run).
state=""
for _ in $(seq $((WAIT * 2))); do
    state=$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null || true)
    case "$state" in
        idle | mixed | allocated) break ;;
        down* | drain*) scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
done
case "$state" in
    idle | mixed | allocated) ;;
    *)
        tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
        die "node $NODE not idle after ${WAIT}s (state: '${state:-no answer}'); logs in $DIR/log"
        ;;
esac
say "$(sinfo -V): node $NODE ($CPUS CPUs, ${REAL_MEM} MB) is $state"
say "timing: packages ${T_INSTALL}s, daemons started at ${T_DAEMONS}s, node ready at $(since "$T0")s"
say "config: $ETC -> $CONF; logs: $DIR/log/slurmctld.log $DIR/log/slurmd.log"
