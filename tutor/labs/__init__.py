"""The labs: each "Try it" lab is a screen that drives one engine model.

Labs are registered here by id as "module:Class" strings and imported only when opened,
so the Home screen never pays for numpy, numba or the engine. A lab id that the course
names but that has no entry here shows as "coming soon" on its lesson's card.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from textual.screen import Screen

LABS: dict[str, str] = {}
LABS["diffusion-forward"] = "tutor.labs.diffusion_forward:DiffusionForwardLab"
LABS["denoising"] = "tutor.labs.denoising:DenoisingLab"
LABS["temperature"] = "tutor.labs.temperature:TemperatureLab"
LABS["vae"] = "tutor.labs.vae:VaeLab"
LABS["gan-2d"] = "tutor.labs.gan2d:GanLab"
LABS["image-tokens"] = "tutor.labs.image_tokens:ImageTokensLab"
LABS["clip"] = "tutor.labs.clip:ClipLab"
LABS["families"] = "tutor.labs.families:FamiliesLab"
LABS["art"] = "tutor.labs.art:ArtLab"
LABS["grounding"] = "tutor.labs.grounding:GroundingLab"
LABS["metrics"] = "tutor.labs.metrics:MetricsLab"
LABS["text-to-image"] = "tutor.labs.text_to_image:TextToImageLab"


def available(lab_id: str) -> bool:
    return lab_id in LABS


def create(lab_id: str) -> Screen:
    """A fresh screen for the lab (imports its module on first use)."""
    return lab_class(lab_id)()


# ------------------------------------------------------------ warming up while reading

WARM_NICE = 10
"""How much lower than the app's the compiling child process's priority is."""
WARM_WHILE_READING = True
"""Whether a lesson screen starts warming up its labs (tests turn it off)."""
DEFER_COMPILES = True
"""Whether a lab opening with kernels missing from the cache runs their twins while a
child process compiles them (engine.runtime's deferred compiles), instead of waiting
for the compile. Tests turn it off: twins agree with kernels only to rounding."""


class Warmer:
    """While the learner reads a lesson, get its labs' kernels ready, so that pressing
    ``t`` finds them compiled and loaded. One daemon thread does it, one lab at a time:

    0. **look**: load the lab's kernels if the disk cache holds them all (this thread
       defers on its own, so a missing one runs its twin once instead of compiling);
       done if it did. It gives way when the lab opens (see below).
    1. **compile** in a child process (``python -m tutor.labs.warm LAB``) at nice +10:
       numba compiles into the on-disk cache. A process, not a thread, because
       compiling is Python: a compiling thread shares the app's GIL, and at low
       priority on a busy machine it is descheduled while holding it, so the UI thread
       waits for it (measured: keys stalled up to 1.9 s, p90 doubled). The child shares
       nothing with the UI but the cache folder, and takes only CPU nobody else wants.
    2. **load** in this thread, at normal priority: ``engine.runtime.warm_up`` with the
       lab's ``KERNELS`` finds every kernel in the cache (numba's start-up and the cache
       loads, about a second of CPU, GIL shared in short bursts).

    A lab that opens meanwhile calls :meth:`defer_for` (the app: it never waits; its
    kernels load at their first calls, a missing one runs its twin and its miss calls
    :meth:`compile_first`): other labs' work stops, a child compiling THIS lab's
    kernels keeps going at the app's priority and its end ends deferring, and phase 0
    of this lab gives way. Without deferred compiles (tests) the lab calls
    :meth:`hurry` instead: nothing further starts, a child compiling THIS lab's kernels
    gets normal priority back where the system allows and is waited for (its progress
    shown in the lab), a child compiling another lab's is stopped; the lab's own
    ``warm_up`` then skips finished loads and waits for the one in progress under the
    registry's lock. Either way nothing compiles twice. App exit calls
    :meth:`close`: the child is stopped (numba writes a cache file to a temporary name
    and renames it, so none is left half written) and the thread is never waited for.
    """

    def __init__(self, nice: int = WARM_NICE, command: Callable[[str, int], list[str]] | None = None) -> None:
        self.nice = nice
        self.command = command or child_command
        """``command(lab_id, nice)``: the child's argv (tests give a fake)."""
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._queued: set[str] = set()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._child: subprocess.Popen | None = None
        self._child_lab: str | None = None
        self._listeners: list[Callable[[int, int, str], None]] = []
        self._closed = False
        self._prepared = False
        self._deferred_lab: str | None = None  # the open lab running twins until this compile lands
        self._deferral = 0  # counts defer_for calls: a closing lab ends only its own deferral
        self._lab_open = False  # the deferred lab's worker is running (stop_deferring ends it)
        self._working: str | None = None  # the lab the thread is loading or compiling now
        self._missed: set[str] = set()  # the open lab missed kernels: compile now, at the app's priority
        self.ready: list[str] = []
        """Labs whose kernels are compiled and loaded in this process (in order)."""
        self.errors: dict[str, str] = {}
        """Labs whose warm-up failed, with one line each (the lab reports it when opened)."""

    def start(self, lab_ids) -> bool:
        """Queue these labs (unknown, already queued or already done ones are skipped)
        and start the thread if it is not running. Returns True if any was queued."""
        with self._lock:
            if self._closed:
                return False
            new = [i for i in lab_ids if i in LABS and i not in self._queued]
            if not new:
                return False
            self._queued.update(new)
            self._pending.extend(new)
            if self._thread is None:
                self._spawn()
            return True

    def busy(self) -> bool:
        with self._lock:
            return self._thread is not None

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True if it has finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (thread := self._thread) is not None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            thread.join(left)
        return True

    def hurry(
        self, lab_id: str | None = None, progress: Callable[[int, int, str], None] | None = None
    ) -> None:
        """A lab (``lab_id``) is opening and warms up itself: see the class docstring.
        Blocks while a child compiles this lab's kernels, passing its progress on."""
        with self._lock:
            self._stop.set()
            self._queued.difference_update(self._pending)
            self._pending.clear()
            child, same = self._child, self._child_lab == lab_id
            if child is not None and same and progress is not None:
                self._listeners.append(progress)
        if child is None:
            return
        try:
            _hurry_or_stop(child, same)
            if same:
                child.wait()
        finally:
            with self._lock:
                if progress in self._listeners:
                    self._listeners.remove(progress)

    def prepare(self) -> None:
        """Soon after the app starts: import the engine and pay numba's one-time costs
        (``engine.runtime.prepare``, about a second of CPU) in a daemon thread, so the
        first lab opened does not. Once per process; never waited for."""
        with self._lock:
            if self._closed or self._prepared:
                return
            self._prepared = True

        def run() -> None:
            from engine import runtime

            with contextlib.suppress(runtime.ThreadsSettingError):
                runtime.set_context("app")
            runtime.prepare()

        threading.Thread(target=run, name="engine-prepare", daemon=True).start()

    def defer_for(self, lab_id: str, progress: Callable[[int, int, str], None] | None = None) -> int:
        """The lab ``lab_id`` opens with compiles deferred (engine.runtime: kernels not
        yet in the cache run their twins). Never blocks. Other labs' work stops; a child
        already compiling THIS lab keeps going, at the app's priority, and its progress
        goes to ``progress``. When it has finished and its kernels are loaded, deferring
        ends. If no such child runs, :meth:`compile_first` starts one at the lab's first
        miss. Returns a token for :meth:`stop_deferring`."""
        with self._lock:
            self._deferred_lab, self._lab_open = lab_id, True
            self._deferral += 1
            token = self._deferral
            others = [i for i in self._pending if i != lab_id]
            self._queued.difference_update(others)
            self._pending[:] = [i for i in self._pending if i == lab_id]
            if progress is not None:
                self._listeners.append(progress)
            child, same = self._child, self._child_lab == lab_id
            if child is not None and not same:
                self._stop.set()  # the thread stops after this child; the lab's compile follows
        if child is not None:
            _hurry_or_stop(child, same)
        return token

    def compile_first(self, lab_id: str) -> None:
        """The open lab missed a kernel (engine.runtime calls this at each miss while
        deferring, so it is cheap): compile its kernels in a child at the app's
        priority, before anything else, unless that is under way already."""
        with self._lock:
            if self._closed:
                self._end_deferring(lab_id)
                return
            self._missed.add(lab_id)  # also read by a phase 0 or a compile about to start
            if self._working == lab_id or self._child_lab == lab_id or lab_id in self._pending:
                return
            self._queued.add(lab_id)
            self._pending.insert(0, lab_id)
            if self._thread is None:
                self._spawn()

    def stop_deferring(
        self, lab_id: str, token: int, progress: Callable[[int, int, str], None] | None = None
    ) -> None:
        """The lab's worker has ended (``token``: what its defer_for returned; ``progress``:
        the callback it gave, never called again): deferring ends, unless a child still
        compiles the lab's kernels (its end ends it) or the lab has been opened again."""
        with self._lock:
            if progress in self._listeners:
                self._listeners.remove(progress)
            if token != self._deferral:
                return
            self._lab_open = False  # a phase 0 of this lab now goes on instead of giving way
            if self._child_lab != lab_id and self._working != lab_id and lab_id not in self._pending:
                self._end_deferring(lab_id)

    def _end_deferring(self, lab_id: str) -> None:
        """(Lock held.) Deferring for ``lab_id`` ends: its kernels are loaded, or its
        compile failed or stopped (then a missing kernel compiles in the app, as before)."""
        if self._deferred_lab != lab_id:
            return
        self._deferred_lab = None
        self._listeners.clear()
        runtime = sys.modules.get("engine.runtime")
        if runtime is not None:
            runtime.set_deferring(False)

    def close(self) -> None:
        """App exit: nothing further starts and the child is stopped; never waits."""
        with self._lock:
            self._closed = True
            self._stop.set()
            self._pending.clear()
            child = self._child
        if child is not None:
            with contextlib.suppress(OSError):
                child.terminate()

    def _spawn(self) -> None:
        """Start the thread (the caller holds the lock and has checked none runs)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="lab-warm-up", daemon=True)
        self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                with self._lock:
                    if not self._pending:
                        return
                    lab_id = self._working = self._pending.pop(0)
                    look = lab_id not in self._missed  # phase 0 would only miss what the lab missed
                ready = False
                try:
                    if look:  # phase 0; it gives way if the lab opens (it loads what it uses)
                        lab_open = _StopWhen(stop.is_set, functools.partial(self._is_open, lab_id))
                        ready = _warm_lab(lab_id, lab_open, cached_only=True)
                        if not ready and self._gave_way(lab_id, stop):
                            continue
                    if not ready:
                        ready = self._compile(lab_id, stop) and not stop.is_set() and _warm_lab(lab_id, stop)
                except Exception as exc:  # the lab shows its own error when opened
                    self.errors[lab_id] = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    if ready:
                        self.ready.append(lab_id)
                    else:  # stopped part-way or failed: a later lesson may queue it again
                        self._queued.discard(lab_id)
                    self._missed.discard(lab_id)
                    self._working = None
                    listeners = list(self._listeners) if self._deferred_lab == lab_id else []
                    self._end_deferring(lab_id)
                for listener in listeners:
                    listener(1, 1, "")
        finally:
            with self._lock:
                self._thread = None
                if self._pending and not self._closed:  # queued while this one was stopping
                    self._spawn()

    def _is_open(self, lab_id: str) -> bool:
        return self._lab_open and self._deferred_lab == lab_id

    def _gave_way(self, lab_id: str, stop: threading.Event) -> bool:
        """Phase 0 for ``lab_id`` found a kernel missing or stopped because the lab opened.
        If the lab is open and has missed nothing so far, the thread leaves the lab to
        it: True, and the lab's first miss queues the compile (compile_first). Decided
        under the lock, so a miss arriving meanwhile either comes before (compile now)
        or finds the thread gone (queues it)."""
        with self._lock:
            if not self._is_open(lab_id) or stop.is_set() or lab_id in self._missed:
                return False
            self._working = None
            self._queued.discard(lab_id)
            return True

    def _compile(self, lab_id: str, stop: threading.Event) -> bool:
        """Phase 1: the child process compiles the lab's kernels into the disk cache."""
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        with self._lock:
            if self._closed or stop.is_set():
                return False
            child = subprocess.Popen(
                self.command(lab_id, 0 if lab_id in self._missed else self.nice),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=dict(os.environ, PYTHONPATH=path),
            )
            self._child, self._child_lab = child, lab_id
        last = ""
        try:
            assert child.stdout is not None
            for line in child.stdout:
                kind, _, rest = line.strip().partition(" ")
                if kind == "progress":
                    done, total, name = (rest.split(" ", 2) + ["", "", ""])[:3]
                    runtime = sys.modules.get("engine.runtime")
                    if runtime is not None:  # the kernels before this one are in the cache now
                        runtime.cache_changed()
                    with self._lock:
                        listeners = list(self._listeners)
                    for listener in listeners:
                        listener(int(done), int(total), name)
                elif kind == "error":
                    last = rest
            code = child.wait()
        finally:
            with self._lock:
                self._child = self._child_lab = None
        if code != 0 and not stop.is_set():
            self.errors[lab_id] = last or f"the kernel compiler stopped (exit status {code})"
        return code == 0


def _hurry_or_stop(child: subprocess.Popen, same: bool) -> None:
    """A lab opens: a child compiling its kernels (``same``) gets the app's priority
    back where the system allows; one compiling another lab's is stopped."""
    with contextlib.suppress(AttributeError, OSError):
        if same:
            os.setpriority(os.PRIO_PROCESS, child.pid, os.getpriority(os.PRIO_PROCESS, 0))
        else:
            child.terminate()


class _StopWhen(threading.Event):
    """A stop flag that is set when any of its conditions holds (checked when asked)."""

    def __init__(self, *conditions: Callable[[], bool]) -> None:
        super().__init__()
        self._conditions = conditions

    def is_set(self) -> bool:
        return any(condition() for condition in self._conditions)


def child_command(lab_id: str, nice: int) -> list[str]:
    """The compiling child's command line (tutor/labs/warm.py)."""
    return [sys.executable, "-m", "tutor.labs.warm", lab_id, "--nice", str(nice)]


def lab_class(lab_id: str) -> type:
    """The lab's screen class (imports its module, and so the engine, on first use)."""
    module_name, _, class_name = LABS[lab_id].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def get_kernels_ready(
    lab_id: str, kernels, progress: Callable[[int, int, str], None] | None = None
) -> int | None:
    """What a lab's worker does before its first frame (``kernels``: its KERNELS).

    With DEFER_COMPILES (the app) it never waits, and loads nothing ahead: each kernel
    loads from the disk cache at its first call (milliseconds; the first frame needs
    about a third of the kernels a lab declares, so loading all of them first cost
    0.3-0.45 s), and one the cache lacks runs its twin (engine.runtime), its miss
    starting a child that compiles the lab's kernels at the app's priority (or the
    reading-time child goes on); ``progress`` follows that child, and deferring ends
    when its kernels are loaded. Returns the token the worker passes to
    ``warmer.stop_deferring`` when it ends. Without DEFER_COMPILES: wait for a compile
    of these kernels in progress, then compile or load them all in this thread."""
    from engine import runtime

    if not DEFER_COMPILES:
        warmer.hurry(lab_id, progress)  # a compile of these kernels in progress is waited for
        runtime.warm_up(progress, modules=kernels)
        return None
    runtime.set_deferring(True, on_miss=functools.partial(warmer.compile_first, lab_id))
    return warmer.defer_for(lab_id, progress)


def _warm_lab(
    lab_id: str, stop: threading.Event | None = None, progress=None, cached_only: bool = False
) -> bool:
    """Compile or load the kernels ``lab_id`` declares; True if all of them are ready.

    ``cached_only`` (phase 0 of a warm-up): load only what the disk cache holds, compile
    nothing (a kernel it lacks runs its twin once, on the warm-up's tiny inputs), and
    say True only if it held every one."""
    cls = lab_class(lab_id)
    if stop is not None and stop.is_set():
        return False
    if not getattr(cls, "WARM_UP", False):
        return True
    from engine import runtime

    # What the lab does first (a 2-core app never launches a parallel twin); a bad
    # GENAI_TUTOR_THREADS is the lab's one sentence to show when it opens.
    with contextlib.suppress(runtime.ThreadsSettingError):
        runtime.set_context("app")
    with runtime.deferred() if cached_only else contextlib.nullcontext():
        before = runtime.deferred_calls()
        runtime.warm_up(progress, modules=cls.KERNELS, stop=stop)
        all_loaded = runtime.deferred_calls() == before
    return all_loaded and (stop is None or not stop.is_set())


warmer = Warmer()
"""The app's one reading-time warm-up (the lesson screen starts it, labs hurry it)."""
