# Sourced by the shell tests of tools/' programs. Set `cli` to the program
# first. Then, besides fail and finish (test/check_lib.sh):
#   expect CODE SUBSTRING ARGS...  runs "$cli" ARGS, checks the exit code and
#                                  that stdout+stderr contain SUBSTRING
# shellcheck shell=bash
# shellcheck source=test/check_lib.sh
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/test/check_lib.sh"

expect() {
  local code="$1" want="$2"
  shift 2
  local output rc
  output=$("$cli" "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$code" ] || [[ "$output" != *"$want"* ]]; then
    fail "$(basename "$cli") $*: exit $rc (want $code), output:
$output
  (wanted it to contain: $want)"
  fi
}
