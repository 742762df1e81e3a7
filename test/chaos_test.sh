#!/usr/bin/env bash
# The short version of the chaos run (test/chaos.py; the full one is
# `test/chaos.py --chaos_minutes=10`, docs/reliability.md): 2 ps + 3 workers
# train mnist_deep in ASYNC while ps, workers and the chief (also in the middle
# of a checkpoint write) are killed with SIGKILL and started again; the job
# must complete with every task exiting 0, ps 0's global step may go back only
# to the latest checkpoint, and every checkpoint left must verify.
set -uo pipefail
runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
/usr/bin/python3 "$runfiles/test/chaos.py" --mode=async --max_steps=600 \
  --checkpoint_steps=50 --chaos_minutes=1 --min_gap=5 --max_gap=10 \
  --first_kill_min=1 --first_kill_max=3 --seed="${CHAOS_SEED:-7}" \
  --job_timeout=1200 \
  --out="$TEST_TMPDIR/chaos"
