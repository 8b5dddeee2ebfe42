"""Keep freed memory in the process, for a process that checks streams over and over.

Every check decodes its pictures in a fresh decoder, whose frame buffers FFmpeg zero-fills when it
allocates them (3 MB each at 1080p). glibc hands blocks that large back to the kernel when they are
freed (mmap threshold, heap trimming), so the next check's decoder takes fresh pages and page-faults
every one of them in again: ~2,300 faults per 1080p check, ~15 % of its decoding CPU on this
project's 2-core VM (measured with getrusage; 0 faults with the settings below). Keeping freed
memory lets the next check reuse it. The price is that the process keeps its high-water mark of
memory instead of shrinking after a burst of concurrent checks.

``keep_freed_memory()`` is called by long-running processes (the daemon, its workers, the demo),
not by a one-shot ``camcheck probe``, which has nothing to reuse.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's maximum on 64-bit: blocks below it come from the heap
TRIM_THRESHOLD = 256 * 1024 * 1024  # free memory at the heap's top kept before trimming


def keep_freed_memory() -> bool:
    """Tell glibc to keep freed blocks for reuse. False (and nothing changed) without glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    if not ok:
        log.debug("mallopt refused the thresholds; freed memory goes back to the kernel as usual")
    return ok
