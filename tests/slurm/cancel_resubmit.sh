#!/usr/bin/env bash
# Inside tests/slurm/cluster.sh: submit a job's array one task at a time,
# scancel it while a task is half way (its .partial folder exists, after
# task 0 finished), record what was left, then resubmit the whole array and
# wait for it.
#
#   cancel_resubmit.sh JOB_DIR LEFT_FILE
set -euo pipefail
JOB="$1"
LEFT="$2"
n="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["tasks"]))' "$JOB/tasks.json")"
jid="$(sbatch --parsable --array="0-$((n - 1))%1" "$JOB/slurm.sbatch")"
for _ in $(seq 1 1200); do
  if [[ -f "$JOB/tasks/000000/done.json" ]] && compgen -G "$JOB/tasks/.000001.partial-*" >/dev/null; then
    break
  fi
  sleep 0.05
done
scancel "$jid"
for _ in $(seq 1 200); do
  [[ -z "$(squeue -h -j "$jid" 2>/dev/null)" ]] && break
  sleep 0.1
done
ls -a "$JOB/tasks" >"$LEFT"
sbatch --wait --output="$JOB/logs/resubmit-%a.log" "$JOB/slurm.sbatch"
