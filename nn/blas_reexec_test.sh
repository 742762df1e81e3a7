#!/usr/bin/env bash
# EnsureBlasKernel (nn/blas_kernel.h) in a real program (layer_timing, which
# calls it first and then stops at its usage error): with
# OPENBLAS_THREAD_TIMEOUT unset it re-executes itself once with the variable
# set; a value the user set is kept (a re-execution, if any, only fixes a
# generic core).
set -uo pipefail
bin="${TEST_SRCDIR}/${TEST_WORKSPACE}/nn/layer_timing"
# shellcheck source=test/check_lib.sh
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/check_lib.sh"

out=$(env -u OPENBLAS_THREAD_TIMEOUT -u TESSERA_BLAS_REEXEC "$bin" model.pbtxt 0 1 2>&1)
grep -q "re-executing with .*OPENBLAS_THREAD_TIMEOUT=4" <<<"$out" ||
  fail "no re-execution with OPENBLAS_THREAD_TIMEOUT=4: $out"
[ "$(grep -c "re-executing" <<<"$out")" -eq 1 ] || fail "not exactly one re-execution: $out"
grep -q "threads, OPENBLAS_THREAD_TIMEOUT=4 (already re-executed once" <<<"$out" ||
  fail "the re-executed program does not log the timeout it runs with: $out"
grep -q "usage: layer_timing" <<<"$out" || fail "the re-executed program did not go on: $out"

# A set timeout is kept. The program still re-executes once where OpenBLAS
# fell back to a generic core and OPENBLAS_CORETYPE is unset (OpenBLAS 0.3.21
# on a recent Xeon), but only to set the core.
out=$(OPENBLAS_THREAD_TIMEOUT=9 env -u TESSERA_BLAS_REEXEC "$bin" model.pbtxt 0 1 2>&1)
if grep -q "re-executing" <<<"$out"; then
  [ -z "${OPENBLAS_CORETYPE+set}" ] && grep -q "chose generic core" <<<"$out" ||
    fail "re-executed although the user set the timeout and the core needs no fix: $out"
  grep -q "re-executing with .*OPENBLAS_THREAD_TIMEOUT" <<<"$out" &&
    fail "the re-execution replaced the user's timeout: $out"
  [ "$(grep -c "re-executing" <<<"$out")" -eq 1 ] || fail "not exactly one re-execution: $out"
fi
grep -q "OPENBLAS_THREAD_TIMEOUT=9 set by the user" <<<"$out" ||
  fail "the user's timeout is not the one logged: $out"
grep -q "threads, OPENBLAS_THREAD_TIMEOUT=9 (" <<<"$out" ||
  fail "the program does not run with the user's timeout: $out"
finish
