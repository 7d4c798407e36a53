"""tutor.memory: the heap trim and the release of the JIT's clean code pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tutor import memory

ROOT = Path(__file__).resolve().parents[2]
LINUX = sys.platform.startswith("linux")

LLVM = "/usr/lib/python3/site-packages/llvmlite/binding/libllvmlite.so"


def _mapping(start: int, end: int, perms: str, path: str, **fields: int) -> str:
    """One smaps entry; every safety field defaults to 0 kB unless given."""
    values = {"Rss": 400, "Private_Dirty": 0, "Shared_Dirty": 0, "Anonymous": 0, "Swap": 0, "LazyFree": 0}
    values.update(fields)
    head = f"{start:x}-{end:x} {perms} 00000000 08:01 1234 {path}".rstrip()
    return "\n".join([head] + [f"{k}: {v:>8} kB" for k, v in values.items()])


def test_only_clean_readonly_file_mappings_of_the_named_library_are_chosen():
    smaps = "\n".join(
        [
            _mapping(0x1000, 0x2000, "r--p", LLVM),  # headers: clean
            _mapping(0x2000, 0x9000, "r-xp", LLVM),  # code: clean
            _mapping(0x9000, 0xA000, "r--p", LLVM, Anonymous=8, Private_Dirty=8),  # RELRO
            _mapping(0xA000, 0xB000, "rw-p", LLVM),  # .data, even if clean
            _mapping(0xB000, 0xC000, "r-xp", LLVM, Private_Dirty=4),  # patched code
            _mapping(0xC000, 0xD000, "r-xp", LLVM, Shared_Dirty=4),
            _mapping(0xD000, 0xE000, "r-xp", LLVM, Swap=4),
            _mapping(0xE000, 0xF000, "r-xp", "/usr/lib/libc.so.6"),  # another library
            _mapping(0xF000, 0x10000, "r-xp", ""),  # anonymous
            _mapping(0x10000, 0x11000, "r-xp", LLVM + " (deleted)"),  # replaced on disk
            _mapping(0x11000, 0x12000, "r-xp", "[vdso]"),
        ]
    )
    assert list(memory.clean_code_mappings(smaps)) == [(0x1000, 0x2000), (0x2000, 0x9000)]
    assert list(memory.clean_code_mappings(smaps, names=("libc",))) == [(0xE000, 0xF000)]


def test_a_mapping_that_cannot_vouch_for_itself_is_left_alone():
    """An smaps without the dirty/anonymous fields (very old kernels) proves nothing."""
    smaps = f"1000-2000 r-xp 00000000 08:01 1234 {LLVM}\nRss: 4 kB\nSize: 4 kB"
    assert list(memory.clean_code_mappings(smaps)) == []


def test_trim_and_release_never_raise():
    assert isinstance(memory.trim(), bool)
    assert memory.release_code(names=("no-such-library-anywhere",)) == 0
    memory.release()


@pytest.mark.skipif(not LINUX, reason="reads /proc/self/smaps")
def test_release_code_advises_only_clean_non_writable_mappings(monkeypatch):
    """Record what release_code would advise in this very process and check each range
    against the live smaps: never a writable, dirty or anonymous page."""
    import numba  # noqa: F401  (maps libllvmlite into this process)

    calls: list[tuple[int, int]] = []

    class FakeLibc:
        class madvise:  # mimics a ctypes function: argtypes, restype, call
            argtypes: list = []
            restype = None

            def __new__(cls, start, length, advice):
                assert advice == memory.MADV_DONTNEED
                calls.append((start, start + length))
                return 0

    monkeypatch.setattr(memory, "_libc", lambda: FakeLibc)
    released = memory.release_code()
    assert released == sum(end - start for start, end in calls) > 0

    live = {}
    current = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
            current = tuple(int(x, 16) for x in fields[0].split("-"))
            live[current] = {"perms": fields[1], "path": " ".join(fields[5:])}
        elif current is not None and fields[0].endswith(":") and len(fields) >= 2:
            live[current][fields[0][:-1]] = fields[1]
    for rng in calls:
        m = live[rng]
        assert "w" not in m["perms"]
        assert "libllvmlite" in m["path"]
        assert m["Private_Dirty"] == m["Shared_Dirty"] == m["Anonymous"] == "0"


@pytest.mark.skipif(not LINUX, reason="madvise and /proc are Linux")
def test_kernels_old_and_new_still_run_after_the_code_pages_are_dropped(tmp_path):
    """In a fresh process: make a kernel, drop LLVM's code pages, then run that kernel,
    load a cached one and compile a brand-new one; all give the right answers. Run twice:
    the first run compiles everything, the second loads from numba's cache after the drop."""
    script = tmp_path / "probe.py"
    script.write_text(
        textwrap.dedent(
            """
            import json
            import numpy as np
            import numba
            from tutor import memory

            def rss_file():
                for line in open("/proc/self/status"):
                    if line.startswith("RssFile:"):
                        return int(line.split()[1]) / 1024

            @numba.njit(cache=True)
            def old(x):
                s = 0.0
                for v in x:
                    s += v * v
                return s

            @numba.njit(cache=True)
            def cached_later(x):
                return x.max() - x.min()

            x = np.arange(10, dtype=np.float64)
            assert old(x) == float((x * x).sum())
            before = rss_file()
            released = memory.release_code()
            after = rss_file()
            assert old(x) == float((x * x).sum())  # the loaded kernel still runs
            assert cached_later(x) == 9.0           # LLVM runs again: pages fault back

            @numba.njit
            def new(a, b):
                return a * 3 + b

            assert new(4, 5) == 17 and new(1.5, 2.0) == 6.5
            print(json.dumps({"released": released, "before": before, "after": after,
                              "loaded": bool(cached_later.stats.cache_hits)}))
            """
        )
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    results = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr[-2000:]
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert [r["loaded"] for r in results] == [False, True]
    for result in results:
        assert result["released"] > 10 * 2**20  # LLVM's touched code is tens of MiB
        assert result["after"] < result["before"] - 10  # and it left the resident set


@pytest.mark.skipif(not LINUX, reason="glibc's mallopt")
def test_large_blocks_go_back_to_the_system_after_the_threshold_is_fixed():
    """Without the fixed threshold glibc serves a 4 MiB block from the heap once a block
    that size has been freed, and the heap keeps it; with it, freeing gives it back."""
    script = textwrap.dedent(
        """
        import ctypes, json, sys
        from tutor import memory
        fixed = sys.argv[1] == "fixed"
        if fixed:
            assert memory.large_blocks_to_system()
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        libc.free.argtypes = [ctypes.c_void_p]

        def anon():
            for line in open("/proc/self/status"):
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024

        size = 4 << 20
        libc.free(libc.malloc(size))            # glibc raises its threshold here
        base = anon()
        blocks = [libc.malloc(size) for _ in range(8)]
        pins = []
        for b in blocks:
            ctypes.memset(b, 1, size)           # touch every page
            pins.append(libc.malloc(100 << 10))  # a smaller live block after each big one
        for b in blocks:
            libc.free(b)
        print(json.dumps({"kept": anon() - base}))
        """
    )
    kept = {}
    for mode in ("dynamic", "fixed"):
        out = subprocess.run(
            [sys.executable, "-c", script, mode], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr[-2000:]
        kept[mode] = json.loads(out.stdout.strip().splitlines()[-1])["kept"]
    assert kept["fixed"] < 4, kept  # MiB: the 32 MiB went back
    assert kept["dynamic"] > 16, kept  # the glibc behaviour this guards against


def test_release_reads_smaps_only_when_file_backed_memory_grew(monkeypatch):
    """Reading smaps costs tens of ms; release() runs after every build, so it advises
    again only when LLVM may have touched its pages again (RssFile grew)."""
    calls = []
    readings = iter([100 << 20, 60 << 20, 62 << 20, 62 << 20, 90 << 20, 61 << 20])
    monkeypatch.setattr(memory, "release_code", lambda: calls.append(1) or 0)
    monkeypatch.setattr(memory, "_file_rss", lambda: next(readings))
    monkeypatch.setattr(memory, "_file_rss_after_release", [])
    memory.release()  # no baseline yet: 100 MiB -> advised, 60 MiB after
    memory.release()  # 62 MiB: grew by 2 MiB only, skipped
    assert len(calls) == 1
    memory.release()  # 62 again: skipped
    memory.release()  # 90 MiB: grew by 30 MiB -> advised again
    assert len(calls) == 2
