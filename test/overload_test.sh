#!/usr/bin/env bash
# The short version of the overload run (test/overload.py; the full one is
# 16 workers, docs/reliability.md "Overload"): 1 ps + 8 workers of
# mnist_small in ASYNC while `tessera_ctl status` is timed every second. Every
# task must exit 0, the job must reach max_steps, every status run must answer
# (with a 30 s deadline), and every RPC failure in the workers' logs must be
# DEADLINE_EXCEEDED naming the RPC and its deadline. The status latencies are
# reported in the test log but not checked here: a timing threshold in the
# suite would fail whenever other work loads this shared machine. The 1 s
# figure is checked by the full run (test/overload.py; docs/reliability.md).
set -uo pipefail
runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
/usr/bin/python3 "$runfiles/test/overload.py" --workers=8 --max_steps=800 \
  --status_limit_secs=0 --status_timeout_secs=30 \
  --job_timeout=600 --end_timeout=120 --out="$TEST_TMPDIR/overload"
