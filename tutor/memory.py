"""Give freed memory back to the operating system after a lab closes.

numpy's large arrays are returned to the system when freed, but the many small blocks a
model leaves behind stay in the C allocator's heap; glibc's ``malloc_trim`` releases
them. Elsewhere (macOS, musl) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


def trim() -> bool:
    """Ask the C allocator to release free heap pages; returns whether it could."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False
