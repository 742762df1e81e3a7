#!/usr/bin/env bash
# tessera_ctl as a program: exit codes (0 ok, 1 failure, 2 usage) and messages
# for bad input, and the `tasks` listing. Needs no running daemon.
set -uo pipefail

cli="${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/tessera_ctl"
tmp="${TEST_TMPDIR}"
# shellcheck source=tools/cli_test_lib.sh
source "${TEST_SRCDIR}/${TEST_WORKSPACE}/tools/cli_test_lib.sh"

echo '{"cluster": {"ps": ["localhost:2222"], "worker": ["localhost:2223", "127.0.0.1:2224"]}}' \
  > "$tmp/good.json"
echo '{"cluster": {"ps": ["localhost:2222"], "worker": ["localhost:2222"]}}' > "$tmp/dup.json"

expect 0 "usage: tessera_ctl COMMAND" --help
expect 2 "no command given" --cluster="$tmp/good.json"
expect 2 "unknown command \"frobnicate\"" frobnicate --cluster="$tmp/good.json"
expect 2 "unknown flag --bogus" status --bogus --cluster="$tmp/good.json"
expect 2 "bad value \"abc\" for --timeout" status --timeout=abc --cluster="$tmp/good.json"
expect 2 "\"status\" needs --cluster=FILE" status
expect 2 "wait needs --for=ready or --for=done" wait --cluster="$tmp/good.json" --timeout=1
expect 2 "wait needs --timeout=SECONDS" wait --cluster="$tmp/good.json" --for=ready
expect 2 "--job=chief: want ps, worker or evaluator" status --job=chief --cluster="$tmp/good.json"
expect 1 "cannot read cluster file $tmp/missing.json" status --cluster="$tmp/missing.json"
expect 1 "is used twice" status --cluster="$tmp/dup.json"
expect 1 "job \"evaluator\" is not in the cluster" tasks --job=evaluator --cluster="$tmp/good.json"
expect 0 "ps 0 localhost:2222
worker 0 localhost:2223
worker 1 127.0.0.1:2224" tasks --cluster="$tmp/good.json"
expect 0 "worker 1 127.0.0.1:2224" tasks --job=worker --cluster="$tmp/good.json"
models="${TEST_SRCDIR}/${TEST_WORKSPACE}/examples/models"
expect 0 "parameters: 11689512 (11.7 M)
non-trainable (moving averages): 9600 (9.60 k)
multiply-adds per image: 1814073344 (1.81 G)" model summary "$models/resnet18.pbtxt"
expect 2 "usage: tessera_ctl model summary MODEL.pbtxt" model summary
expect 1 "cannot" model summary "$tmp/missing.pbtxt"

finish
