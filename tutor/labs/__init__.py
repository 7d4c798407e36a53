"""The labs: each "Try it" lab is a screen that drives one engine model.

Labs are registered here by id as "module:Class" strings and imported only when opened,
so the Home screen never pays for numpy, numba or the engine. A lab id that the course
names but that has no entry here shows as "coming soon" on its lesson's card.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import time

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
"""How much lower than the app's the reading-time warm-up thread's priority is."""
WARM_WHILE_READING = True
"""Whether a lesson screen starts warming up its labs (tests turn it off)."""


class Warmer:
    """ONE low-priority daemon thread that compiles (or loads from the disk cache) the
    kernels of the labs a learner is reading about, so that pressing ``t`` finds them
    ready.

    Why a thread of its own rather than a Textual worker: it lowers its own priority
    (Linux keeps a nice value per thread: ``setpriority(PRIO_PROCESS, native thread
    id)``), so on a busy machine it takes only CPU nobody else wants, and it is a daemon
    that app exit never waits for. Compiling is Python in numba, so the thread holds the
    GIL in bursts; the UI thread still gets it every switch interval (5 ms).

    It imports each lab's module (and so numpy, numba and the engine) in the thread and
    runs ``engine.runtime.warm_up(modules=lab.KERNELS)``: the same call, the same
    registry and the same lock as the lab's own warm-up. So nothing compiles twice: a
    lab that opens mid-compile calls :meth:`hurry`, waits for the warm-up in progress
    (its progress bar shows which) and runs the rest itself at normal priority.
    """

    def __init__(self, nice: int = WARM_NICE) -> None:
        self.nice = nice
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._queued: set[str] = set()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._native_id: int | None = None
        self._base_nice: int | None = None
        self._closed = False
        self.ready: list[str] = []
        """Labs whose kernels this thread finished (in order)."""
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
        """Wait for the thread (tests and benchmarks); True if it has finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while (thread := self._thread) is not None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            thread.join(left)
        return True

    def hurry(self) -> None:
        """A lab is opening and warms up itself: no further warm-up starts here, and the
        one in progress gets normal priority back where the system allows it (raising
        a thread's priority needs CAP_SYS_NICE or RLIMIT_NICE; otherwise it finishes at
        low priority). Labs still queued are forgotten, so a later lesson queues them
        again."""
        with self._lock:
            self._stop.set()
            self._queued.difference_update(self._pending)
            self._pending.clear()
            native_id, base = self._native_id, self._base_nice
        if native_id is not None and base is not None:
            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, native_id, base)

    def close(self) -> None:
        """App exit: nothing further starts. The compile in progress (if any) is left
        to the daemon thread, which the interpreter abandons at exit; numba writes cache
        files whole (a temporary file, then a rename), so none is left half written."""
        with self._lock:
            self._closed = True
        self.hurry()

    def _lower_priority(self) -> None:
        try:
            me = threading.get_native_id()
            base = os.getpriority(os.PRIO_PROCESS, me)
            os.setpriority(os.PRIO_PROCESS, me, min(19, base + self.nice))
            self._native_id, self._base_nice = me, base
        except (AttributeError, OSError):
            pass  # not Linux, or not allowed: normal priority still works

    def _run(self, stop: threading.Event) -> None:
        # Threads inherit the nice value of the thread that starts them: numpy's BLAS
        # pool and numba's start here at the app's priority, before this one lowers its own.
        from engine import runtime  # noqa: F401  (imports numpy and numba, configured)

        self._lower_priority()
        try:
            while not stop.is_set():
                with self._lock:
                    if not self._pending:
                        return
                    lab_id = self._pending.pop(0)
                ready = False
                try:
                    ready = _warm_lab(lab_id, stop)
                except Exception as exc:  # the lab shows its own error when opened
                    self.errors[lab_id] = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    if ready:
                        self.ready.append(lab_id)
                    else:  # stopped part-way or failed: a later lesson may queue it again
                        self._queued.discard(lab_id)
        finally:
            with self._lock:
                self._thread = None
                self._native_id = self._base_nice = None
                if self._pending and not self._closed:  # queued while this one was stopping
                    self._spawn()

    def _spawn(self) -> None:
        """Start the thread (the caller holds the lock and has checked none runs)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="lab-warm-up", daemon=True)
        self._thread.start()


def lab_class(lab_id: str) -> type:
    """The lab's screen class (imports its module, and so the engine, on first use)."""
    module_name, _, class_name = LABS[lab_id].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def _warm_lab(lab_id: str, stop: threading.Event) -> bool:
    """Compile or load the kernels ``lab_id`` declares; True if all of them are ready."""
    cls = lab_class(lab_id)
    if stop.is_set():
        return False
    if not getattr(cls, "WARM_UP", False):
        return True
    from engine import runtime

    # What the lab does first (a 2-core app never launches a parallel twin); a bad
    # GENAI_TUTOR_THREADS is the lab's one sentence to show when it opens.
    with contextlib.suppress(runtime.ThreadsSettingError):
        runtime.set_context("app")
    runtime.warm_up(modules=cls.KERNELS, stop=stop)
    return not stop.is_set()


warmer = Warmer()
"""The app's one reading-time warm-up (the lesson screen starts it, labs hurry it)."""
