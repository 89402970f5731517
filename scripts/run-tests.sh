#!/usr/bin/env bash
# The suite in two parts, so it takes about half the time on a two-core machine:
#   1. every test not marked `serial`, on FLOPCARDS_TEST_JOBS workers (pytest-xdist; default
#      2), each test file kept on one worker (a file's tests share its costly setup, e.g. the
#      fairness sweep's variants);
#   2. the tests marked `serial` (they bound wall-clock time: a deadline, /health under load),
#      alone, so a neighbour's work cannot make them fail.
# Usage: scripts/run-tests.sh PYTEST [ARGS...]; exits non-zero when either part fails.
set -uo pipefail
PYTEST=${1:?usage: run-tests.sh PYTEST [ARGS...]}
shift
JOBS=${FLOPCARDS_TEST_JOBS:-2}

"$PYTEST" -n "$JOBS" --dist loadfile -m "not serial" "$@"
parallel=$?
"$PYTEST" -m serial "$@"
alone=$?
# pytest's 5 means "no tests collected" (e.g. ARGS named only parallel tests): not a failure.
[ "$alone" = 5 ] && alone=0
[ "$parallel" = 5 ] && parallel=0
if [ "$parallel" != 0 ]; then exit "$parallel"; fi
exit "$alone"
