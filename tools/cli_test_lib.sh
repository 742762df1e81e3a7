# Sourced by the shell tests of tools/' programs. Set `cli` to the program
# first. Then:
#   expect CODE SUBSTRING ARGS...  runs "$cli" ARGS, checks the exit code and
#                                  that stdout+stderr contain SUBSTRING
#   check_failed MESSAGE           records a failed check
#   finish                         exits 1 if any check failed, else 0
failures=0

check_failed() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

expect() {
  local code="$1" want="$2"
  shift 2
  local output rc
  output=$("$cli" "$@" 2>&1)
  rc=$?
  if [ "$rc" -ne "$code" ] || [[ "$output" != *"$want"* ]]; then
    check_failed "$(basename "$cli") $*: exit $rc (want $code), output:
$output
  (wanted it to contain: $want)"
  fi
}

finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
