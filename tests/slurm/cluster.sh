#!/usr/bin/env bash
# A real single-node Slurm (Debian slurm-wlm + munge) for the scale-out
# tests, private to one test: run it as root inside a new network namespace,
#
#   unshare --net --fork bash tests/slurm/cluster.sh STATE_DIR COMMAND...
#
# It brings up loopback, starts munged, slurmctld and slurmd with their state
# in STATE_DIR, waits until the node takes jobs, runs COMMAND (with
# SLURM_CONF set, so sbatch/squeue/scancel talk to this cluster), and stops
# the daemons however COMMAND ends. Its exit status is COMMAND's.
set -euo pipefail
D="$(realpath "${1:?usage: cluster.sh STATE_DIR COMMAND...}")"
shift
mkdir -p "$D/state" "$D/spool" "$D/munge"
chown munge:munge "$D/munge"
chmod 700 "$D/munge"

ip link set lo up
ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true

cat >"$D/slurm.conf" <<CONF
ClusterName=arco-test
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
SchedulerParameters=sched_interval=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=16000 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$D/slurm.conf"

stop() {
  for p in slurmd slurmctld; do
    [[ -f "$D/$p.pid" ]] && kill "$(cat "$D/$p.pid")" 2>/dev/null || true
  done
  [[ -f "$D/munge/munged.pid" ]] && kill "$(cat "$D/munge/munged.pid")" 2>/dev/null || true
}
trap stop EXIT

runuser -u munge -- /usr/sbin/munged --force \
  --socket="$D/munge/munge.socket" \
  --pid-file="$D/munge/munged.pid" \
  --log-file="$D/munge/munged.log" \
  --seed-file="$D/munge/munged.seed"
/usr/sbin/slurmctld -i
/usr/sbin/slurmd -N localhost

for _ in $(seq 1 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qx 'idle'; then
    "$@"
    exit $?
  fi
  sleep 0.5
done
echo "cluster.sh: the Slurm node did not come up; logs follow" >&2
tail -n 20 "$D/slurmctld.log" "$D/slurmd.log" "$D/munge/munged.log" >&2 || true
exit 3
