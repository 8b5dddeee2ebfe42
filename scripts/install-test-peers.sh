#!/usr/bin/env bash
# Installs PyPI test peers that cannot go into pyproject.toml's extras.
#   ipycam: an ONVIF camera we did not write (tests/onvif/test_onvif_ipycam.py). Installed with --no-deps
#   because it requires opencv-python, which clashes with camcheck's opencv-python-headless; the rest of
#   what it imports (numpy, cv2) camcheck already has.
set -euo pipefail
PY="${1:-.venv/bin/python}"
if ! "$PY" -c "import ipycam" 2>/dev/null; then
  "$PY" -m pip install -q --no-deps "ipycam==1.3.0"
fi
"$PY" -c "import ipycam, ipycam.http, ipycam.onvif" # fails loudly if an import it needs is missing
