#!/usr/bin/env bash
# Stop the single-node SLURM cluster started by tests/cluster/start_slurm.sh:
# cancel its jobs, stop slurmd and slurmctld, and munged if that script started
# it, and remove the /etc/slurm/slurm.conf link it made (with a config but no
# controller, SLURM clients and every `snakemake` start wait ~9 s for it).
# Safe to run twice, or when nothing was started. Keeps $FER_SLURM_DIR
# (config, state and logs) for a look afterwards; FER_SLURM_PURGE=1 removes it.
set -uo pipefail

DIR=${FER_SLURM_DIR:-/var/tmp/fer-slurm}
export SLURM_CONF=$DIR/slurm.conf

say() { echo "stop_slurm: $*"; }

# Stop the process in pidfile $2 (named $1): TERM, wait up to 10 s, then KILL.
stop() {
    local name=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name ($pid) did not stop in 10 s: killing it"
            kill -KILL "$pid" 2>/dev/null
        fi
        say "stopped $name ($pid)"
    fi
    rm -f "$pidfile"
}

# Cancel remaining jobs first, so that no job step outlives the cluster.
if [ -s "$DIR/run/slurmctld.pid" ] && kill -0 "$(cat "$DIR/run/slurmctld.pid")" 2>/dev/null; then
    jobs=$(squeue -h -t PENDING,RUNNING,SUSPENDED,COMPLETING -o %i 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
        say "cancelling jobs $jobs"
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null
        for _ in $(seq 50); do
            [ -z "$(squeue -h -t RUNNING,COMPLETING -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
fi

stop slurmd "$DIR/run/slurmd.pid"
stop slurmctld "$DIR/run/slurmctld.pid"
if [ -e "$DIR/run/munged.ours" ]; then
    stop munged /run/munge/munged.pid
    rm -f "$DIR/run/munged.ours"
fi
if [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$DIR/slurm.conf" ]; then
    rm -f /etc/slurm/slurm.conf
    say "removed the link /etc/slurm/slurm.conf"
fi
if [ "${FER_SLURM_PURGE:-0}" = 1 ]; then
    rm -rf "$DIR"
    say "removed $DIR"
fi
exit 0
