"""keep_freed_memory(): a long-running checker reuses the memory of earlier checks' decoders.

Each case runs in a fresh interpreter (the setting is process-wide). The allocation pattern is a
1080p decoder's: six 3 MB frame buffers taken and given back, check after check.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CYCLES = """
import resource, sys
import numpy as np
from camcheck.probe.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def check():
    buffers = [np.ones(3 << 20, np.uint8) for _ in range(6)]
    del buffers
for _ in range(3):
    check()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    check()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def _faults_per_check(mode: str) -> float:
    r = subprocess.run([sys.executable, "-c", CYCLES, mode], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return float(r.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_decoder_buffers_are_reused_instead_of_faulted_in_again() -> None:
    default, kept = _faults_per_check("default"), _faults_per_check("keep")
    # glibc's defaults hand the 18 MB back to the kernel after each check: ~4,600 page faults (4 KiB
    # pages) to take it again, every check. Kept, the next check reuses it.
    assert default > 1000, default
    assert kept < 0.01 * default, (kept, default)
