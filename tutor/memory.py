"""Give freed memory back to the operating system after a lab closes.

Two kinds of memory stay resident after a lab has released its model:

* **Heap.** numpy's large arrays are returned to the system when freed, but the many
  small blocks a model leaves behind stay in the C allocator's heap; glibc's
  ``malloc_trim`` releases them (:func:`trim`).
* **The JIT's code pages.** Loading the engine's cached numba kernels runs LLVM, and
  LLVM touches ~60 MiB of ``libllvmlite.so``'s machine code while it does. Those pages
  are a clean, read-only view of the file on disk, so the kernel can drop them at any
  time and read them back on the next access: ``madvise(MADV_DONTNEED)`` does exactly
  that (:func:`release_code`). The compiled kernels themselves live elsewhere (LLVM's
  own anonymous memory) and keep working; if LLVM runs again (a new kernel), the pages
  it needs fault back in from the file.

  Only mappings that are, when we look, wholly clean and file-backed are advised: no
  write permission, no dirty, anonymous (copy-on-write) or swapped pages. Dropping a
  relocated page (the RELRO segment, for instance) would replace patched pointers with
  the file's unpatched bytes, which is why that check is strict.

A third keeps the heap from growing in the first place (:func:`large_blocks_to_system`).
glibc serves blocks above a threshold with their own ``mmap`` and returns them on free,
but it *raises* that threshold (up to 32 MiB) each time such a block is freed, so after
a lab's first big temporary array the next ones of that size come from the heap, where
they are interleaved with small long-lived blocks and cannot be trimmed afterwards.
Measured: the denoising lab left 35 MiB free-but-resident in the heap after it closed;
with the threshold fixed at 1 MiB it left 3. Blocks that size are not allocated in a
lab's inner loops (their buffers are reused), so the extra ``mmap`` calls are rare.

All three are no-ops outside Linux (macOS, and musl has no ``malloc_trim``) and never raise.

One more keeps a closed screen from staying alive at all (:func:`forget_worker`).
Textual runs a thread worker by setting its ``active_worker`` context variable in the
executor thread's own context and never resets it, so each pool thread keeps the last
worker it ran, and through the worker its screen, the screen's model and every buffer,
until the thread runs something else. Measured: after leaving the CLIP lab its screen
(and ~40 MiB) stayed reachable only that way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

JIT_LIBRARIES = ("libllvmlite",)
"""Shared libraries whose clean pages :func:`release_code` returns by default."""

M_MMAP_THRESHOLD = -3  # <malloc.h>: mallopt's parameter
MMAP_THRESHOLD = 1 << 20
"""Blocks of at least this many bytes get their own mapping and go back on free."""

MADV_DONTNEED = 4  # <sys/mman.h> on Linux, every architecture

SMAPS = Path("/proc/self/smaps")

_DIRTY_FIELDS = ("Private_Dirty", "Shared_Dirty", "Anonymous", "Swap", "LazyFree")
"""smaps fields that must all read 0 kB for a mapping to be safe to drop."""


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def trim() -> bool:
    """Ask the C allocator to release free heap pages; returns whether it could."""
    libc = _libc()
    if libc is None:
        return False
    try:
        return bool(libc.malloc_trim(0))
    except AttributeError:  # a libc without malloc_trim (musl)
        return False


def large_blocks_to_system(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold (no dynamic raising); returns whether it was set."""
    libc = _libc()
    if libc is None:
        return False
    try:
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except AttributeError:  # a libc without mallopt
        return False


def clean_code_mappings(text: str, names: Iterable[str] = JIT_LIBRARIES) -> Iterator[tuple[int, int]]:
    """The (start, end) of every mapping in an smaps ``text`` that is safe to drop.

    Safe means: backed by a file whose name contains one of ``names``, not writable,
    and with every field in `_DIRTY_FIELDS` at 0 kB (present or not, a field that is
    missing from an old kernel's smaps cannot vouch for the mapping, so the mapping
    must report Private_Dirty, Shared_Dirty and Anonymous at least).
    """
    wanted = tuple(names)
    current: dict | None = None

    def verdict(m: dict | None) -> tuple[int, int] | None:
        if m is None or not m["ok"]:
            return None
        if not {"Private_Dirty", "Shared_Dirty", "Anonymous"} <= m["seen"]:
            return None
        return m["start"], m["end"]

    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:  # a mapping header
            found = verdict(current)
            if found:
                yield found
            perms = fields[1]
            path = " ".join(fields[5:]) if len(fields) >= 6 else ""
            start, end = (int(x, 16) for x in fields[0].split("-"))
            current = {
                "start": start,
                "end": end,
                "seen": set(),
                "ok": (
                    path.startswith("/")
                    and "w" not in perms
                    and not path.endswith("(deleted)")
                    and any(name in Path(path).name for name in wanted)
                ),
            }
        elif current is not None and fields[0].endswith(":"):
            key = fields[0][:-1]
            if key in _DIRTY_FIELDS:
                current["seen"].add(key)
                if len(fields) < 2 or fields[1] != "0":
                    current["ok"] = False
    found = verdict(current)
    if found:
        yield found


def release_code(names: Iterable[str] = JIT_LIBRARIES) -> int:
    """Drop the resident, clean pages of the JIT's libraries; returns bytes advised.

    Reads /proc/self/smaps at call time and advises only the mappings
    :func:`clean_code_mappings` vouches for. Returns 0 when nothing could be done.
    """
    libc = _libc()
    if libc is None:
        return 0
    try:
        text = SMAPS.read_text()
        madvise = libc.madvise
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        madvise.restype = ctypes.c_int
        released = 0
        for start, end in list(clean_code_mappings(text, names)):
            if madvise(start, end - start, MADV_DONTNEED) == 0:
                released += end - start
        return released
    except (OSError, AttributeError, ValueError):
        return 0


STATUS = Path("/proc/self/status")
FILE_GROWTH = 8 << 20
"""release() reads smaps (~70 ms in a process with numba loaded) only when the
process's file-backed resident memory grew by this much since it last did."""

_file_rss_after_release: list[int] = []


def _file_rss() -> int | None:
    """RssFile in bytes (cheap: /proc/self/status), or None where unknown."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("RssFile:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def forget_worker() -> None:
    """Call at the very end of a thread worker's function, in its thread: the executor
    thread stops referring to the worker (see the module's docstring). Never raises."""
    try:
        from textual.worker import active_worker
    except ImportError:  # pragma: no cover - Textual is a dependency
        return
    active_worker.set(None)  # type: ignore[arg-type]  # "no worker", as before the first one


def release() -> None:
    """Everything above: heap first, then the JIT's code pages when LLVM may have
    touched them again (file-backed memory grew). Never raises."""
    trim()
    now = _file_rss()
    if now is not None and _file_rss_after_release and now < _file_rss_after_release[0] + FILE_GROWTH:
        return
    release_code()
    after = _file_rss()
    if after is not None:
        _file_rss_after_release[:] = [after]
