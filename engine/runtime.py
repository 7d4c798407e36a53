"""Threads, threading layer and BLAS threads: the one place that decides them.

**The thread policy** (:func:`policy_threads`):

* headless commands and benchmarks use every core the process may run on;
* inside the app one core is left for the UI: 2 cores -> 1 compute thread, 8 -> 7
  (the app calls ``set_context("app")`` once at start);
* ``GENAI_TUTOR_THREADS=N`` (a whole number 1..256) overrides both. A bad value never
  breaks ``import``: the policy's own count is used, :func:`environment_error` says
  what is wrong, and :func:`set_context` raises :class:`ThreadsSettingError` with that
  one sentence, so a command can print it and stop.

``threads()`` is the compute thread count. Every parallel piece of work takes it as an
argument from the Python side: kernels never read a global, so they stay cacheable.

**Why OpenBLAS runs one thread per caller** (the cause of the old collapse, 1637 -> 62
steps/s with 2 BLAS threads and any busy neighbour). OpenBLAS splits every product
above M*N*K = 262144 evenly over its pool; the calling thread then waits for its helper
by *spinning* (``sched_yield`` in a loop), and an idle helper spins too (for
``OPENBLAS_THREAD_TIMEOUT`` = 2^28 cycles, ~0.1 s) before it sleeps. On two cores with
one other busy thread there are three runnable threads: the spinning caller keeps its
core, the helper waits behind the neighbour for a scheduler slice (milliseconds), and a
50 us product takes the whole slice. The cure is to never wait by spinning:

* OpenBLAS gets ONE thread per caller (sized through ``threadpoolctl``), so it never
  spins or hands off;
* products big enough to share (:data:`GEMM_PARALLEL_MIN` multiply-adds, measured) are
  cut into row blocks that the caller and ``threads() - 1`` helper threads take from a
  shared counter (:func:`matmul`). Waiting is blocking (an Event), never a spin: a
  waiting thread gives its core away, so a helper that was pushed off its core runs on
  the caller's; if the helper never gets a core, the caller takes the remaining blocks
  itself and waits only for blocks a helper actually started;
* numba ``parallel=True`` kernels run on the OpenMP layer (thread-safe, unlike
  ``workqueue``: the app runs kernels from several threads) with
  ``OMP_WAIT_POLICY=PASSIVE`` (idle workers sleep instead of spinning), each with a
  measured size below which its serial twin runs (see engine/kernels.py).

So the compute threads are ``threads()`` in total, never BLAS threads times numba
threads. ``GENAI_TUTOR_BLAS_THREADS`` (or ``OPENBLAS_NUM_THREADS``) still sets
OpenBLAS's own pool for comparisons (benchmarks/bench_train.py); the engine then
leaves products to OpenBLAS alone.

Kernels are declared with :func:`kernel` (serial) or :func:`parallel_kernel`, both
``njit(cache=True, nogil=True, ...)``; warm-ups are registered per model family (see
the warm-up registry below).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import itertools
import os
import pkgutil
import queue
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


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

THREADING_LAYER = "omp"
FALLBACK_LAYER = "workqueue"
WAIT_POLICY = "PASSIVE"
THREADS_ENV = "GENAI_TUTOR_THREADS"
MAX_THREADS = 256
CONTEXTS = ("headless", "app")

_configured = False


class ThreadsSettingError(ValueError):
    """GENAI_TUTOR_THREADS (or a thread count given in code) is not usable."""


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity; os.cpu_count() elsewhere)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def parse_threads(text: str | int) -> int:
    """A thread count from the environment or a flag, or one clear error."""
    try:
        n = int(str(text).strip())
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_THREADS:
        raise ThreadsSettingError(
            f"{THREADS_ENV} must be a whole number from 1 to {MAX_THREADS}, got {str(text)!r}"
        )
    return n


def policy_threads(context: str, cores: int, override: str | int | None = None) -> int:
    """The policy as a pure function: compute threads for a context on ``cores`` cores."""
    if context not in CONTEXTS:
        raise ValueError(f"unknown context {context!r}; choose from {', '.join(CONTEXTS)}")
    if override not in (None, ""):
        return parse_threads(override)
    return max(1, cores - 1) if context == "app" else max(1, cores)


def _env_threads(context: str) -> tuple[int, str | None]:
    """(threads, error message or None) for ``context`` from the environment."""
    try:
        return policy_threads(context, available_cores(), os.environ.get(THREADS_ENV)), None
    except ThreadsSettingError as exc:
        return policy_threads(context, available_cores()), str(exc)


def configure() -> None:
    """Set the environment numba and OpenMP read at start-up (idempotent).

    Must run before ``import numba`` anywhere in the process; if numba was already
    imported by someone else, its config object is patched directly, which still works
    as long as no parallel kernel has launched the thread pool yet. The numba pool is
    made as large as the largest count the policy can ask for; ``threads()`` then picks
    how many of them each launch uses.
    """
    global _configured
    if _configured:
        return
    os.environ.setdefault("NUMBA_THREADING_LAYER", THREADING_LAYER)
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    pool = max(available_cores(), _env_threads("headless")[0])
    os.environ.setdefault("NUMBA_NUM_THREADS", str(pool))
    if "numba" in sys.modules:
        config = sys.modules["numba"].config
        config.THREADING_LAYER = os.environ["NUMBA_THREADING_LAYER"]
        config.NUMBA_NUM_THREADS = int(os.environ["NUMBA_NUM_THREADS"])
    _configured = True


configure()

import numba  # noqa: E402  (deliberately after configure())
import numpy as np  # noqa: E402

_numba_config: Any = numba.config  # attributes are set at import, unknown to mypy


def _choose_layer() -> str:
    """OpenMP when numba can load it, else workqueue (then launches are serialised,
    because workqueue aborts the process when two threads launch at once)."""
    if _numba_config.THREADING_LAYER != THREADING_LAYER:
        return _numba_config.THREADING_LAYER
    try:
        importlib.import_module("numba.np.ufunc.omppool")
    except ImportError:
        _numba_config.THREADING_LAYER = FALLBACK_LAYER
    return _numba_config.THREADING_LAYER


LAYER = _choose_layer()
_launch_lock = threading.Lock() if LAYER == "workqueue" else None

# fastmath without 'nnan'/'ninf': NaN and inf must survive so divergence is detected.
FASTMATH = {"contract", "arcp", "nsz", "afn", "reassoc"}


def kernel(fn):
    """Decorator for serial engine kernels: cached on disk, GIL released.

    ``error_model="numpy"``: a float division by zero gives inf/NaN instead of
    raising. Python's model puts a zero check on every division, which stops LLVM
    from vectorising the loop (measured: an Adam pass 8x slower).
    """
    return _deferrable(numba.njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")(fn))


def parallel_kernel(fn):
    """Decorator for ``prange`` kernels: like :func:`kernel` plus ``parallel=True``.

    Convention: the loop body is the serial twin's, with ``prange`` over independent
    rows or elements (measured: ``prange`` over blocks that each call a serial kernel
    ran 5-10x slower per element than the serial kernel; a direct ``prange`` matches
    it on one thread). Launch it through :func:`launch`, which sets numba's per-thread
    pool size from the policy first, so the kernel itself reads no global.
    """
    return _deferrable(
        numba.njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy", parallel=True)(fn)
    )


# ------------------------------------------------------------------ deferred compiles
#
# A kernel that is neither loaded nor in the disk cache costs 0.2-1 s of compiling at its
# first call, and a lab's first frame needs 15-60 of them (9-23 s on 2 cores). While
# compiles are *deferred* (set_deferring(True): the app, while a child process compiles
# the open lab's kernels, tutor/labs Warmer), such a call does not compile: it loads the
# kernel if the child has put it in the cache by now, else it runs the kernel's *twin*
# this once: a numpy version where one is registered (twin_of), else the kernel's own
# Python source, interpreted. Each later call looks again, so the lab speeds up kernel by
# kernel as the child's compiles land; nothing waits for a compile. The results agree
# with the compiled kernel's to rounding (tests/engine/test_deferred.py checks each twin).

from numba.core.compiler_lock import global_compiler_lock  # noqa: E402
from numba.core.registry import CPUDispatcher  # noqa: E402

_deferring = False
_on_miss: Callable[[], None] | None = None  # called when a deferred call finds no kernel
_generation = 0  # bumped whenever the cache may hold new kernels (cache_changed)
_deferred_calls = threading.local()


class DeferrableDispatcher(CPUDispatcher):  # type: ignore[misc]
    """numba's dispatcher, except that while compiles are deferred a call with no
    compiled or cached version runs the twin instead of compiling (the C dispatcher
    calls whatever ``_compile_for_args`` returns with the call's arguments)."""

    def _compile_for_args(self, *args, **kws):
        if (_deferring or getattr(_deferred_calls, "here", False)) and not kws:
            twin = self._twin_unless_cached(args)
            if twin is not None:
                _deferred_calls.n = getattr(_deferred_calls, "n", 0) + 1
                return twin
        return super()._compile_for_args(*args, **kws)

    _cache: Any
    _cache_hits: Any
    _interpreted: Callable
    _quiet: Callable
    _compilation_chain_init_hook: Callable[[], None]

    def _twin_unless_cached(self, args) -> Callable | None:
        # Misses are remembered per argument kind until the cache changes: the lookup
        # (numba's typeof of every argument, the cache index) costs more than many twins.
        kind = tuple(
            (a.dtype.char, a.ndim, a.flags.c_contiguous, a.flags.writeable)
            if isinstance(a, np.ndarray)
            else type(a)
            for a in args
        )
        misses = self.__dict__.setdefault("_misses", {})
        if misses.get(kind) == _generation:
            return self._missed()
        try:
            sig = tuple(self.typeof_pyval(a) for a in args)
        except Exception:  # a type numba cannot name: let numba report it
            return None
        with global_compiler_lock:
            if sig in self.overloads:
                return None
            self._compilation_chain_init_hook()
            cres = self._cache.load_overload(sig, self.targetctx)
            if cres is not None:  # what Dispatcher.compile does on a cache hit
                self._cache_hits[sig] += 1
                self.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
                self.add_overload(cres)
                return None
            misses[kind] = _generation
        return self._missed()  # outside the compiler lock: on_miss may start a thread

    def _missed(self) -> Callable:
        note_miss()
        return self._stand_in()

    def _stand_in(self) -> Callable:
        """What runs instead of the kernel: its twin, as quiet as compiled code (numba
        never warns about a float overflow or a uint64 wrap; numpy would)."""
        quiet = self.__dict__.get("_quiet")
        if quiet is None:
            twin = self._twin_or_source()

            def quiet(*args):
                with np.errstate(all="ignore"):
                    return twin(*args)

            self._quiet = quiet
        return quiet

    def _twin_or_source(self) -> Callable:
        return getattr(self, "_twin", None) or _interpreted(self)


def _interpreted(dispatcher: DeferrableDispatcher) -> Callable:
    """The kernel's Python source as a plain function whose calls of other kernels go
    straight to *their* twins (not through numba's dispatch, microseconds per call)."""
    done = dispatcher.__dict__.get("_interpreted")
    if done is not None:
        return done
    fn = dispatcher.py_func
    glob = dict(fn.__globals__)
    cells = tuple(types.CellType(c.cell_contents) for c in fn.__closure__ or ())
    clone = types.FunctionType(fn.__code__, glob, fn.__name__, fn.__defaults__, cells or None)
    dispatcher._interpreted = clone  # before the recursion: kernels may call each other
    for name in fn.__code__.co_names:
        value = glob.get(name)
        if isinstance(value, DeferrableDispatcher):
            glob[name] = value._twin_or_source()
        elif isinstance(value, types.ModuleType) and value.__name__.startswith(f"{__package__}."):
            glob[name] = _TwinModule(value)  # K.fast_sigmoid(...) inside a kernel
    for cell in cells:
        if isinstance(cell.cell_contents, DeferrableDispatcher):
            cell.cell_contents = cell.cell_contents._twin_or_source()
    return clone


class _TwinModule:
    """An engine module as an interpreted kernel sees it: its kernels are their twins."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if isinstance(value, DeferrableDispatcher):
            value = value._twin_or_source()
        setattr(self, name, value)
        return value


def _deferrable(dispatcher):
    dispatcher.__class__ = DeferrableDispatcher
    return dispatcher


def twin_of(*kernels):
    """Decorator: ``fn`` (plain numpy, same arguments, same results, same in-place
    writes) runs instead of these kernels while their compile is deferred. Only kernels
    whose interpreted source is too slow for a first frame need one."""

    def register(fn):
        for k in kernels:
            k._twin = fn
        return fn

    return register


def set_deferring(on: bool, on_miss: Callable[[], None] | None = None) -> None:
    """Defer compiles (see above) from now on, or stop deferring: a kernel still not
    cached then compiles at its next call, as usual. ``on_miss()`` is called, while
    deferring, each time a call finds its kernel neither loaded nor in the cache (the
    app starts the compiling child then); it must be quick and must not call kernels."""
    global _deferring, _on_miss
    _on_miss = on_miss if on else None
    _deferring = bool(on)


def deferring() -> bool:
    return _deferring


def note_miss() -> None:
    """A deferred call found no kernel: tell ``on_miss`` (see set_deferring). Not for
    a thread deferring on its own (:func:`deferred`): the reading-time warm-up compiles
    what it misses itself."""
    on_miss = _on_miss
    if on_miss is not None and _deferring and not getattr(_deferred_calls, "here", False):
        on_miss()


@contextlib.contextmanager
def deferred():
    """Defer compiles on this thread only, inside the ``with`` block (the reading-time
    warm-up uses it to load what the cache has without compiling in the app)."""
    _deferred_calls.here = True
    try:
        yield
    finally:
        _deferred_calls.here = False


def prepare() -> None:
    """Pay numba's one-time costs of a process now: its extension entry points and
    the typing and target registries (about 0.4 s of CPU), which would otherwise fall
    on the first kernel compiled or loaded. The app calls it in a background thread
    soon after start, so the first lab's kernels load in milliseconds each."""
    from numba.core import entrypoints
    from numba.core.registry import cpu_target

    with global_compiler_lock:
        entrypoints.init_all()
        cpu_target.typing_context.refresh()
        cpu_target.target_context.refresh()


def cache_changed() -> None:
    """New kernels may be in the disk cache (the compiling child made progress): the
    next deferred call of each kernel looks again."""
    global _generation
    _generation += 1


def deferred_calls() -> int:
    """How many kernel calls on this thread ran a twin so far."""
    return getattr(_deferred_calls, "n", 0)


# --------------------------------------------------------------------- thread policy

_context = "headless"
_threads, _env_error = _env_threads(_context)
_numba_threads = threading.local()
_shard = threading.local()  # .threads = 1 inside a shard of run_shards (this thread only)


def set_context(context: str) -> int:
    """Apply the policy for ``"headless"`` or ``"app"``; returns the compute threads.

    The app calls ``set_context("app")`` once at start, before the first lab; headless
    commands need not call it (headless is the default). Raises ThreadsSettingError
    when GENAI_TUTOR_THREADS is malformed, so the caller can show that one sentence.
    """
    global _context, _threads, _env_error
    if context not in CONTEXTS:
        raise ValueError(f"unknown context {context!r}; choose from {', '.join(CONTEXTS)}")
    _context = context
    _threads, _env_error = _env_threads(context)
    if _env_error:
        raise ThreadsSettingError(_env_error)
    return _threads


def set_threads(n: int) -> int:
    """Use ``n`` compute threads from now on (benchmarks and tests); returns it."""
    global _threads
    _threads = parse_threads(n)
    return _threads


def threads() -> int:
    """Compute threads the engine uses now on this thread (see the policy above; 1
    inside a shard of :func:`run_shards`)."""
    return getattr(_shard, "threads", _threads)


def parallel_possible() -> bool:
    """Whether a parallel twin can run at the current thread count. Warm-ups compile
    twins only then: the app on 2 cores (1 compute thread) never launches one, and a
    parallel kernel's compile costs several times a serial one's. If the count rises
    later, a twin compiles (or loads from the cache) at its first launch."""
    return _threads > 1


def context() -> str:
    return _context


def environment_error() -> str | None:
    """The problem with GENAI_TUTOR_THREADS, or None when it is absent or fine."""
    return _env_error


def launch(parallel, serial, work: int, threshold: int, *args):
    """Run ``parallel(*args)`` on ``threads()`` threads when ``work`` is at least
    ``threshold`` (a measured size) and there is more than one thread, else
    ``serial(*args)``.

    Sets numba's pool size for the calling thread first (numba keeps it per thread,
    so a training thread and the UI thread each get the policy's count).
    """
    n = getattr(_shard, "threads", _threads)
    if n < 2 or work < threshold:
        return serial(*args)
    n = min(n, _numba_config.NUMBA_NUM_THREADS)
    if getattr(_numba_threads, "n", None) != n:
        numba.set_num_threads(n)
        _numba_threads.n = n
    if _launch_lock is None:
        return parallel(*args)
    with _launch_lock:
        return parallel(*args)


# ----------------------------------------------------------------------------- BLAS


@functools.lru_cache(maxsize=1)
def _blas():
    """threadpoolctl's controllers of the BLAS libraries loaded by numpy."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def blas_threads() -> int | None:
    """OpenBLAS's current thread count, or None when no BLAS library is found."""
    libs = _blas().lib_controllers
    return int(libs[0].get_num_threads()) if libs else None


def set_blas_threads(n: int) -> bool:
    """Set the BLAS pools' thread count at run time. Returns False if not possible."""
    libs = _blas().lib_controllers
    for lib in libs:
        lib.set_num_threads(max(1, int(n)))
    return bool(libs)


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
        return DEFAULT_BLAS_THREADS, (
            f"{name}={raw!r} is not a whole number from 1 to 256; using {DEFAULT_BLAS_THREADS} BLAS thread"
        )
    return DEFAULT_BLAS_THREADS, None


_blas_count, BLAS_ENV_PROBLEM = blas_threads_from_env()
if BLAS_ENV_PROBLEM:  # never a crash at import: one line on stderr, the default used
    print(f"genai-tutor: warning: {BLAS_ENV_PROBLEM}", file=sys.stderr)
# More than one BLAS thread asked for: OpenBLAS splits products itself, so we do not.
BLAS_OVERRIDDEN = _blas_count > 1
set_blas_threads(_blas_count)

# Products smaller than this many multiply-adds stay on the calling thread: the same rule
# as the kernels' thresholds (the product must take >= ~100 us alone; waking a helper and
# handing it the GIL costs 10-30 us). See benchmarks/bench_scaling.py --thresholds.
GEMM_PARALLEL_MIN = 4_000_000


class _Job:
    """One split product: its blocks, a shared counter, and a count of finished blocks.

    The caller waits only for blocks that a helper actually took: a helper that wakes
    after the caller has taken every block finds nothing and signals nothing, so a
    helper without a core costs the caller nothing."""

    def __init__(self, blocks: Sequence[Callable[[], object]]):
        self.blocks, self.counter = blocks, itertools.count()
        self.finished = 0
        self.error: Exception | None = None
        self.lock, self.done = threading.Lock(), threading.Event()

    def work(self) -> None:
        n = len(self.blocks)
        while (i := next(self.counter)) < n:
            try:
                self.blocks[i]()
            except Exception as exc:
                self.error = exc
            with self.lock:
                self.finished += 1
                if self.finished == n:
                    self.done.set()


class _Helpers:
    """``threads() - 1`` daemon threads that take row blocks of a product.

    Every participant (the caller included) takes the next block of the job until none
    is left, so a helper that did not get a core simply takes none and the caller does
    its share. Waiting is a blocking Event, never a spin."""

    def __init__(self):
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._count = 0
        self._lock = threading.Lock()

    def _ensure(self, n: int) -> None:
        with self._lock:
            while self._count < n:
                threading.Thread(target=self._serve, name=f"engine-helper-{self._count}", daemon=True).start()
                self._count += 1

    def _serve(self) -> None:
        while True:
            self._inbox.get().work()

    def run(self, blocks: Sequence[Callable[[], object]], helpers: int) -> None:
        self._ensure(helpers)
        job = _Job(blocks)
        for _ in range(helpers):
            self._inbox.put(job)
        job.work()
        job.done.wait()
        if job.error is not None:
            raise job.error


_helpers = _Helpers()


MAX_BLOCKS = 16
MIN_BLOCK_ROWS = 128


def _row_blocks(rows: int) -> list[tuple[int, int]]:
    """Row blocks of a product: >= MIN_BLOCK_ROWS rows each, at most MAX_BLOCKS, and two
    halves for 128-255 rows. Every block repacks the other operand, so thin blocks cost
    CPU: the 800-256-256-768 step at batch 512 on one thread took 34.7 ms of CPU with
    32-row blocks, 28.1 ms with 128-row blocks, 25.2 ms unsplit; at batch 128, two
    64-row halves cost 8.0 ms against 7.2 ms unsplit (bench_scaling's mlp cases, CPU
    time, 2-core machine). The blocks depend on the shape only, never on the thread
    count, so every thread count computes the same blocks and gets the same bits (a
    block's product can differ from the whole product's rows in the last place: BLAS
    picks its inner kernel by shape)."""
    count = max(1, min(MAX_BLOCKS, rows // MIN_BLOCK_ROWS))
    if count == 1 and rows >= MIN_BLOCK_ROWS:
        count = 2
    edges = [rows * k // count for k in range(count + 1)]
    return list(itertools.pairwise(edges))


def matmul(a, b, out, threads_: int | None = None):
    """``np.matmul(a, b, out=out)`` for 2-D float32 arrays; a product of at least
    GEMM_PARALLEL_MIN multiply-adds is cut into row blocks that the compute threads
    share (see the module docstring). Same result at any thread count."""
    n = getattr(_shard, "threads", _threads) if threads_ is None else threads_
    rows = a.shape[0]
    if BLAS_OVERRIDDEN or rows * a.shape[1] * b.shape[1] < GEMM_PARALLEL_MIN:
        return np.matmul(a, b, out=out)
    spans = _row_blocks(rows)
    if len(spans) < 2:
        return np.matmul(a, b, out=out)
    blocks = [functools.partial(np.matmul, a[lo:hi], b, out=out[lo:hi]) for lo, hi in spans]
    if n < 2:
        for block in blocks:
            block()
    else:
        _helpers.run(blocks, min(n, len(blocks)) - 1)
    return out


def _serially(piece: Callable[[], object]) -> None:
    """Run ``piece`` with this thread's kernels and products on one thread."""
    before = getattr(_shard, "threads", None)
    _shard.threads = 1
    try:
        piece()
    finally:
        if before is None:
            del _shard.threads
        else:
            _shard.threads = before


def run_shards(pieces: Sequence[Callable[[], object]], threads_: int | None = None) -> None:
    """Run independent pieces of work (shards) on the compute threads, each piece whole
    on one thread: the caller and ``threads() - 1`` helpers take the next piece from a
    shared counter, and inside a piece every kernel and product runs serially.

    For work made of many small steps that depend on each other within a piece but not
    across pieces (a sampler's 50-step chain over a slice of the samples): one hand-off
    per piece instead of one per step and layer, and no thread ever waits for another
    mid-chain. The pieces must not share writable buffers. Exceptions are re-raised."""
    n = threads() if threads_ is None else threads_
    blocks = [functools.partial(_serially, piece) for piece in pieces]
    if n < 2 or len(blocks) < 2:
        for block in blocks:
            block()
        return
    _helpers.run(blocks, min(n, len(blocks)) - 1)


def configured() -> dict:
    """What this process runs with (for tests, benchmarks and the about screen)."""
    return {
        "threading_layer": _numba_config.THREADING_LAYER,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "blas_threads": blas_threads(),
        "parallel_kernels": True,
        "context": _context,
        "threads": _threads,
        "threads_error": _env_error,
        "numba_pool": _numba_config.NUMBA_NUM_THREADS,
        "cpu_count": available_cores(),
        "numba_cache_dir": _numba_config.CACHE_DIR or None,
    }


# ---------------------------------------------------------------------- warm-up registry

_WARMUPS: dict[str, Callable[[], None]] = {}
_NEEDS: dict[str, tuple[str, ...]] = {}
_DONE: set[str] = set()
_done_lock = threading.Lock()

# Each lab's model family and the engine modules whose kernels its first step and first
# frame use (the module registers a warm-up under its own name). warm_up(family=...)
# compiles only these and what they declare they need.
FAMILIES: dict[str, tuple[str, ...]] = {
    "gan": ("gan", "render"),
    "diffusion": ("diffusion", "render"),
    "vae": ("vae", "render"),
    "image_gan": ("image_gan", "render"),
    "lm": ("lm", "sampling"),
    "transformer": ("transformer", "sampling"),
    "clip": ("clip", "render"),
    "flow": ("flow",),
    "autoregressive": ("autoregressive",),
    "families": ("autoregressive", "gan", "vae", "diffusion", "flow", "metrics", "render"),
}


def register_warmup(name: str, fn: Callable[[], None], needs: tuple[str, ...] = ()) -> Callable[[], None]:
    """Register ``fn`` to compile-or-load kernels by calling them on tiny inputs.

    The inputs must have the same types as real calls (float32, C-contiguous arrays,
    Python int/float scalars), otherwise warm-up compiles a signature nobody uses.
    ``needs``: other warm-ups (engine module names) to run first. Registering the same
    name again replaces the earlier callable. Returns ``fn``.
    """
    _WARMUPS[name] = fn
    _NEEDS[name] = tuple(needs)
    return fn


def registered() -> list[str]:
    return list(_WARMUPS)


def _import_engine_modules(names=None) -> None:
    """Import engine submodules (all, or ``names``) so that each registers its warm-ups."""
    if names is None:
        package = importlib.import_module("engine")
        names = [info.name for info in pkgutil.iter_modules(package.__path__)]
    for name in names:
        importlib.import_module(f"engine.{name}")


def _ordered(names) -> list[str]:
    """``names`` and everything they need, prerequisites first, each once."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for need in _NEEDS.get(name, ()):
            visit(need)
        order.append(name)

    for name in names:
        visit(name)
    return [n for n in order if n in _WARMUPS]


def warm_up(
    progress: Callable[[int, int, str], None] | None = None,
    import_all: bool = True,
    family: str | None = None,
    modules: Iterable[str] | None = None,
    stop: threading.Event | None = None,
) -> float:
    """Compile (first run) or load from cache (later runs) registered kernels.

    ``family`` (a key of :data:`FAMILIES`) or ``modules`` (engine module names, what a
    lab declares): only those warm-ups and what they need; otherwise every registered
    warm-up (``import_all`` imports every engine module first). Warm-ups that already
    ran in this process are skipped. ``progress(done, total, name)`` is called before
    each warm-up and once at the end with done == total. ``stop``: when it is set, no
    further warm-up starts (the one in progress finishes: a compile cannot be cut short)
    and the final progress call is left out. Returns elapsed seconds.
    Run it in a worker thread: kernels release the GIL, but a first compile takes seconds.
    """
    start = time.perf_counter()
    if family is not None:
        if family not in FAMILIES:
            raise ValueError(f"unknown model family {family!r}; choose from {', '.join(FAMILIES)}")
        modules = FAMILIES[family]
    if modules is not None:
        modules = tuple(modules)
        _import_engine_modules(modules)
        names = _ordered(modules)
    else:
        if import_all:
            _import_engine_modules()
        names = _ordered(list(_WARMUPS))
    for done, name in enumerate(names):
        if stop is not None and stop.is_set():
            return time.perf_counter() - start
        if progress is not None:
            progress(done, len(names), name)
        with _done_lock:  # one compile of a kernel at a time, and never twice
            if name not in _DONE:
                before = deferred_calls()
                _WARMUPS[name]()
                if deferred_calls() == before:  # a twin ran: not ready, look again later
                    _DONE.add(name)
    if progress is not None:
        progress(len(names), len(names), "done")
    return time.perf_counter() - start
