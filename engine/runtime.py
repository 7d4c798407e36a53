"""Threads, threading layer and BLAS threads: the one place that decides them.

Why this module exists (measured on a 2-core machine, see DESIGN.md):

* numba ``parallel=True`` kernels on the default OpenMP layer, running next to
  OpenBLAS's two threads, spin against each other and run 15-20x slower.
* A cached kernel that reads a dynamic global (``numba.get_num_threads()``) cannot be
  cached, and neither can its callers.

The decisions:

1. **Every engine kernel is serial** (no ``parallel=True``). The models are tiny; the
   heavy work is the matmuls, and those go to OpenBLAS, which owns the cores.
2. Belt and braces for anyone who adds a parallel kernel later: before numba is first
   imported we set ``NUMBA_THREADING_LAYER=workqueue`` (no OpenMP at all) and
   ``OMP_WAIT_POLICY=PASSIVE`` (idle OpenMP threads sleep instead of spinning).
   Values already in the environment are respected.
3. OpenBLAS runs ONE thread unless ``GENAI_TUTOR_BLAS_THREADS`` (or
   ``OPENBLAS_NUM_THREADS``) says otherwise; :func:`set_blas_threads` changes it at run
   time. Measured here: our matmuls are small (batch 32-512, width 128-800), and with
   two BLAS threads on two cores any other busy thread (the UI, a second test process)
   makes OpenBLAS's thread hand-off collapse: a 32x128 @ 128x128 product went from
   24 us to 470 us, and a whole train step ran 3-8x slower. One thread gives up the
   second core on large products of an idle machine but never collapses
   (``benchmarks/bench_mlp.py`` reports both settings as ``blas_threads_compare``).

How it is applied: this module calls :func:`configure` when imported and only then
imports numba. Every engine module that uses numba imports ``kernel`` from here, so
importing any of them applies the configuration first. Kernels are declared with
:func:`kernel` (``njit(cache=True, nogil=True, ...)``) and register a warm-up callable
with :func:`register_warmup`; :func:`warm_up` compiles (or loads from the on-disk
cache) all of them, reporting progress, and should run in a worker thread.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import importlib
import os
import pkgutil
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _use_user_cache() -> None:
    """numba's on-disk kernel cache goes to the user's cache folder (platformdirs
    user_cache_path), never the package's __pycache__: on a shared, group-writable
    install another user could plant a cache entry there. Set before numba is imported;
    a NUMBA_CACHE_DIR already in the environment is respected."""
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    import platformdirs

    folder = platformdirs.user_cache_path("genai-tutor") / "numba"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:  # no usable home: a private temporary folder, still not the package
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="genai-tutor-numba-"))
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    if "numba" in sys.modules:
        sys.modules["numba"].config.CACHE_DIR = str(folder)


_use_user_cache()

THREADING_LAYER = "workqueue"
WAIT_POLICY = "PASSIVE"

_configured = False


def configure() -> None:
    """Set the environment numba and OpenMP read at start-up (idempotent).

    Must run before ``import numba`` anywhere in the process; if numba was already
    imported by someone else, its config object is patched directly, which still works
    as long as no parallel kernel has launched the thread pool yet.
    """
    global _configured
    if _configured:
        return
    os.environ.setdefault("NUMBA_THREADING_LAYER", THREADING_LAYER)
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    if "numba" in sys.modules:
        sys.modules["numba"].config.THREADING_LAYER = os.environ["NUMBA_THREADING_LAYER"]
    _configured = True


configure()

import numba  # noqa: E402  (deliberately after configure())

# fastmath without 'nnan'/'ninf': NaN and inf must survive so divergence is detected.
FASTMATH = {"contract", "arcp", "nsz", "afn", "reassoc"}


def kernel(fn):
    """Decorator for engine kernels: serial, cached on disk, GIL released.

    ``error_model="numpy"``: a float division by zero gives inf/NaN instead of
    raising. Python's model puts a zero check on every division, which stops LLVM
    from vectorising the loop (measured: an Adam pass 8x slower).
    """
    return numba.njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")(fn)


# ----------------------------------------------------------------------------- BLAS

@functools.lru_cache(maxsize=1)
def _openblas():
    """The OpenBLAS library numpy uses, through ctypes, or None if not found."""
    import numpy as np

    candidates = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir,
                                        "numpy.libs", "*openblas*"))
    try:
        with open("/proc/self/maps") as maps:
            candidates += [line.split()[-1] for line in maps if "openblas" in line]
    except OSError:
        pass
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""),
                               ("openblas", "64_"), ("openblas", "")):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and put is not None:
                return get, put
    return None


def blas_threads() -> int | None:
    """OpenBLAS's current thread count, or None when it cannot be queried."""
    lib = _openblas()
    return int(lib[0]()) if lib else None


def set_blas_threads(n: int) -> bool:
    """Set OpenBLAS's thread count at run time. Returns False if not possible."""
    lib = _openblas()
    if lib is None:
        return False
    lib[1](ctypes.c_int(max(1, int(n))))
    return True


DEFAULT_BLAS_THREADS = 1
def blas_threads_from_env(environ: dict | None = None) -> tuple[int, str | None]:
    """(threads, problem): GENAI_TUTOR_BLAS_THREADS or OPENBLAS_NUM_THREADS if it is a
    whole number from 1 to 256, else the default and one sentence saying what was wrong."""
    env = os.environ if environ is None else environ
    for name in ("GENAI_TUTOR_BLAS_THREADS", "OPENBLAS_NUM_THREADS"):
        raw = (env.get(name) or "").strip()
        if not raw:
            continue
        if raw.isdigit() and 1 <= int(raw) <= 256:
            return int(raw), None
        return DEFAULT_BLAS_THREADS, (f"{name}={raw!r} is not a whole number from 1 to 256; "
                                      f"using {DEFAULT_BLAS_THREADS} BLAS thread")
    return DEFAULT_BLAS_THREADS, None


_blas, BLAS_ENV_PROBLEM = blas_threads_from_env()
if BLAS_ENV_PROBLEM:  # never a crash at import: one line on stderr, the default used
    print(f"genai-tutor: warning: {BLAS_ENV_PROBLEM}", file=sys.stderr)
set_blas_threads(_blas)


def configured() -> dict:
    """What this process runs with (for tests, benchmarks and the about screen)."""
    return {
        "threading_layer": numba.config.THREADING_LAYER,  # type: ignore[attr-defined]  # set at import
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "blas_threads": blas_threads(),
        "parallel_kernels": False,
        "cpu_count": os.cpu_count(),
        "numba_cache_dir": numba.config.CACHE_DIR or None,  # type: ignore[attr-defined]  # set at import
    }


# ---------------------------------------------------------------------- warm-up registry

_WARMUPS: dict[str, Callable[[], None]] = {}


def register_warmup(name: str, fn: Callable[[], None]) -> Callable[[], None]:
    """Register ``fn`` to compile-or-load kernels by calling them on tiny inputs.

    The inputs must have the same types as real calls (float32, C-contiguous arrays,
    Python int/float scalars), otherwise warm-up compiles a signature nobody uses.
    Registering the same name again replaces the earlier callable. Returns ``fn``.
    """
    _WARMUPS[name] = fn
    return fn


def registered() -> list[str]:
    return list(_WARMUPS)


def _import_engine_modules() -> None:
    """Import every engine submodule so that each registers its warm-ups."""
    package = importlib.import_module("engine")
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"engine.{info.name}")


def warm_up(progress: Callable[[int, int, str], None] | None = None,
            import_all: bool = True) -> float:
    """Compile (first run) or load from cache (later runs) every registered kernel.

    ``progress(done, total, name)`` is called before each warm-up (done = finished so
    far) and once at the end with done == total. Returns elapsed seconds. Run it in a
    worker thread: kernels release the GIL, but the first compile takes seconds.
    """
    start = time.perf_counter()
    if import_all:
        _import_engine_modules()
    items = list(_WARMUPS.items())
    for done, (name, fn) in enumerate(items):
        if progress is not None:
            progress(done, len(items), name)
        fn()
    if progress is not None:
        progress(len(items), len(items), "done")
    return time.perf_counter() - start
