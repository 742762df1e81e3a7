#!/usr/bin/env bash
# Tessera under mpirun / mpiexec: one command starts every task (ps and
# workers) on the nodes of a node file. The daemons do not use MPI; mpirun
# only starts them, and each finds its task from its rank.
#
#   scripts/mpirun_launch.sh NODEFILE
#   TESSERA_NUM_PS=2 TESSERA_WORKER_FLAGS="--max_steps=2000" scripts/mpirun_launch.sh hosts.txt
#
# NODEFILE: one host per line (repeats are collapsed; a PBS nodefile works)
# or a Slurm host list such as "nid[0001-0004]". The cluster file is
# tessera_ctl make-cluster --layout=cyclic: ps on the first TESSERA_NUM_PS
# nodes, one worker per node (or TESSERA_NUM_WORKERS spread round robin).
# mpirun deals ranks to the nodes round robin (Open MPI: --map-by node;
# MPICH / Intel MPI: -ppn 1), so rank r lands on node r mod N, where the
# cluster file puts task r.
#
# Output: tessera-runs/<key>/ (cluster.json, logs/, checkpoints/, summaries/)
# under TESSERA_WORKDIR (default: the current directory); <key> is
# TESSERA_JOB_KEY (default: mpirun-<date>-<pid>).
# Other settings: see scripts/tessera_job_common.sh; TESSERA_MPIRUN (default:
# mpirun), TESSERA_MPIRUN_FLAGS (extra flags, e.g. "--oversubscribe";
# as root, Open MPI also wants --allow-run-as-root).
# Exit status: mpirun's (0 when every task exited 0).
set -uo pipefail

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
nodefile="$1"
TESSERA_HOME="${TESSERA_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
JOB_KEY="${TESSERA_JOB_KEY:-mpirun-$(date -u +%Y%m%d-%H%M%S)-$$}"
# shellcheck source=scripts/tessera_job_common.sh
source "$TESSERA_HOME/scripts/tessera_job_common.sh"

cluster="$JOB_DIR/cluster.json"
"$CTL" make-cluster --nodes="$nodefile" "${MAKE_CLUSTER_FLAGS[@]}" > "$cluster" ||
  fail "make-cluster failed for $nodefile"

secure_job "$cluster"

# The hosts in use, in node order, with how many tasks each runs.
hostfile="$JOB_DIR/mpi_hosts.txt"
"$CTL" tasks --cluster="$cluster" |
  awk '{ host = $3; sub(/:[0-9]+$/, "", host);
         if (!(host in n)) order[++count] = host; n[host]++ }
       END { for (i = 1; i <= count; i++) print order[i], n[order[i]] }' > "$hostfile.counts"
num_tasks="$(awk '{ s += $2 } END { print s }' "$hostfile.counts")"

mpirun="${TESSERA_MPIRUN:-mpirun}"
read -r -a extra <<< "${TESSERA_MPIRUN_FLAGS:-}"
if "$mpirun" --version 2>&1 | grep -q "Open MPI"; then
  awk '{ print $1 " slots=" $2 }' "$hostfile.counts" > "$hostfile"
  placement=(--hostfile "$hostfile" --map-by node)
else  # MPICH / Intel MPI (Hydra)
  awk '{ print $1 }' "$hostfile.counts" > "$hostfile"
  placement=(-f "$hostfile" -ppn 1)
fi
echo "tessera: $num_tasks tasks on $(wc -l < "$hostfile") node(s); cluster $cluster; logs $JOB_DIR/logs"
echo "tessera: watch with: $CTL status --cluster=$cluster $CTL_SECURITY"
"$mpirun" -np "$num_tasks" "${placement[@]}" "${extra[@]}" \
  "$LAUNCH" "$cluster" "$CONFIG" "${WORKER_FLAGS[@]}"
rc=$?
echo "tessera: $mpirun exited with status $rc; logs in $JOB_DIR/logs"
exit "$rc"
