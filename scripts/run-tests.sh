#!/usr/bin/env bash
# Runs the suite. pytest's "no tests collected" (5) is a failure here, never a silent pass.
# Two processes (CAMCHECK_TEST_WORKERS; 0 = one process), a file per process at a time: most daemon
# tests wait on timers and peers, so two halve the wall time on a 2-core machine. Every test listens
# on its own port and PostgreSQL tests get their own database, so files never see each other.
set -uo pipefail
PY="${1:-.venv/bin/python}"
# Tests marked `alone` (they measure live encoders' output, which a busy machine changes) run
# afterwards in one process.
"$PY" -m pytest -n "${CAMCHECK_TEST_WORKERS:-2}" --dist loadfile -m "not alone" "${@:2}"
rc=$?
"$PY" -m pytest -m alone "${@:2}"
rc2=$?
if [ $rc -eq 5 ] && [ $rc2 -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
for r in $rc $rc2; do
    if [ "$r" -ne 0 ] && [ "$r" -ne 5 ]; then exit "$r"; fi
done
exit 0
