#!/usr/bin/env bash
# compare under a real Slurm scheduler: installs Debian's slurm-wlm and munge when missing, starts
# munged, slurmctld and slurmd as a one-node cluster on this machine (its own configuration, state
# and ports, in a temporary directory), submits a small AxBench run as a 2-task array plus its merge
# through scripts/slurm/submit-compare.sh, and checks that the merged results.json equals an
# unsharded run's (same seed) in every score. Stops the daemons it started and removes its files.
# Run after the build (needs .build/release/compare and the default model).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
need=()
command -v slurmctld >/dev/null || need+=(slurm-wlm)
command -v munged >/dev/null || need+=(munge)
if [ ${#need[@]} -gt 0 ]; then
  echo "check-slurm: installing ${need[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${need[@]}" >/dev/null
fi
work=$(mktemp -d /tmp/psr-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# munge: a key of our own and a socket of our own, so that no system munged is touched.
mkdir -p "$work/munge" && chmod 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
socket="$work/munge/munge.socket"
munged --force --key-file="$work/munge/munge.key" --socket="$socket" --pid-file="$work/munge/munged.pid" \
  --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"
for _ in $(seq 50); do [ -s "$work/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munge/munged.pid")")

host=$(hostname -s)
cpus=$(nproc)
port=$((20000 + RANDOM % 20000))
mkdir -p "$work/state" "$work/spool" "$work/log"
cat > "$work/slurm.conf" <<CONF
ClusterName=psrcheck
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -i
for _ in $(seq 50); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmctld.pid")")
slurmd
for _ in $(seq 50); do [ -s "$work/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmd.pid")")
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.2; done
sinfo -h -o %T | grep -q idle || { echo "check-slurm: the node never became idle" >&2; cat "$work/log/"*.log >&2; exit 1; }
echo "check-slurm: one-node cluster up ($host, $cpus CPUs, slurmctld port $port)"

arguments=(--bench axbench --concepts 2 --methods diffmean,none --no-utility --seed 7)
scripts/slurm/submit-compare.sh "$work/run" 2 --cpus-per-task=1 -- "${arguments[@]}"
for _ in $(seq 600); do
  [ -z "$(squeue -h -o %i)" ] && break
  sleep 1
done
[ -z "$(squeue -h -o %i)" ] || { echo "check-slurm: jobs still queued after 10 minutes" >&2; squeue >&2; exit 1; }
for log in "$work"/run/shard-*/slurm-*.log "$work"/run/merge-*.log; do echo "--- $(basename "$log")"; tail -n 3 "$log"; done
[ -f "$work/run/merged/results.json" ] || { echo "check-slurm: the merge wrote no results.json" >&2; exit 1; }

# A resubmission (what a user does after a failed task) resumes: every unit is already done, so each
# shard skips it, and the merge runs again on the same units.
rm -rf "$work/run/merged"
scripts/slurm/submit-compare.sh "$work/run" 2 --cpus-per-task=1 -- "${arguments[@]}"
for _ in $(seq 300); do
  [ -z "$(squeue -h -o %i)" ] && break
  sleep 1
done
grep -q "already done" "$work"/run/shard-0/slurm-*.log && grep -q "already done" "$work"/run/shard-1/slurm-*.log \
  || { echo "check-slurm: a resubmitted shard did not resume" >&2; tail -n 5 "$work"/run/shard-*/slurm-*.log >&2; exit 1; }
[ -f "$work/run/merged/results.json" ] || { echo "check-slurm: the second merge wrote no results.json" >&2; exit 1; }
echo "check-slurm: a resubmission resumed every shard (each unit already done) and merged again"

.build/release/compare "${arguments[@]}" --out "$work/whole" > "$work/whole.log" 2>&1
python3 - "$work/run/merged/results.json" "$work/whole/results.json" <<'PY'
import json, sys
merged, whole = (json.load(open(p)) for p in sys.argv[1:3])
differences = []
def walk(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            walk(a.get(key), b.get(key), f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]")
    elif a != b:
        differences.append(f"{path}: merged {a!r}, unsharded {b!r}")
walk(merged, whole, "results")
units = len(whole.get("units", whole.get("results", [])))
if differences:
    print("check-slurm: the merged results differ from the unsharded run's:\n  " + "\n  ".join(differences[:20]))
    sys.exit(1)
print(f"check-slurm: the merged results.json equals the unsharded run's in every field")
PY
echo "check-slurm: passed"
