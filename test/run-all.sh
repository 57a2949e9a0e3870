#!/bin/sh
# `npm test`: vitest and the training subproject's pytest at once (they share nothing; pytest waits on the CPU
# little), pytest's output held back and printed after vitest's so the two never interleave. Fails if either does.
set -u
pytest_out=$(mktemp)
trap 'rm -f "$pytest_out"' EXIT
npm run --silent test:training >"$pytest_out" 2>&1 &
pytest_pid=$!
vitest run --config test/vitest.config.ts "$@"
vitest_status=$?
wait "$pytest_pid"
pytest_status=$?
echo
echo "== pytest (training/tests) =="
cat "$pytest_out"
[ "$vitest_status" -eq 0 ] && [ "$pytest_status" -eq 0 ]
