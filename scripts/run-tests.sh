#!/usr/bin/env bash
# Runs the suite. pytest's "no tests collected" (5) is a failure here, never a silent pass.
set -uo pipefail
PY="${1:-.venv/bin/python}"
"$PY" -m pytest "${@:2}"
rc=$?
if [ $rc -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit $rc
