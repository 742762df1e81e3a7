#!/usr/bin/env bash
# The short version of the overload run (test/overload.py; the full one is
# 16 workers, docs/reliability.md "Overload"): 1 ps + 8 workers of
# mnist_small in ASYNC while `tessera_ctl status` is timed every second. Every
# task must exit 0, the job must reach max_steps, every status run must answer
# within 1 s (the figure, the only timing checked), and every RPC
# failure in the workers' logs must be DEADLINE_EXCEEDED naming the RPC and
# its deadline. The figures are in the test log.
set -uo pipefail
runfiles="${TEST_SRCDIR}/${TEST_WORKSPACE}"
/usr/bin/python3 "$runfiles/test/overload.py" --workers=8 --max_steps=800 \
  --job_timeout=600 --end_timeout=120 --out="$TEST_TMPDIR/overload"
