"""LabScreen: the one platform every "Try it" lab stands on (the contract is in
docs/ARCHITECTURE.md; CONTRIBUTING.md says how to add a lab).

A lab declares what it is and the base does everything common:

* **The engine side** runs on one Textual thread worker per lab. ``build()`` makes the
  model from the knobs and the seed, ``advance()`` runs one chunk of what Play means
  (train, animate t, play the film) and returns metrics, ``view(metrics)`` copies what
  the next frame shows out of the model. All three run on the worker while holding
  ``model_lock``, so ``draw`` never reads a model that is being changed.
* **Frames** reach the UI as ``LabScreen.Frame`` messages, which are *replaceable*: a
  terminal that drains slowly gets the newest frame, not a queue of stale ones. A
  playing lab sends frames as its byte budget allows (``tutor.wire.FramePacer``); a
  paused or idle lab sends nothing.
* **Keys**: Space/s do what the lab declares in ``PLAY``/``STEP`` (hidden where they
  mean nothing); each knob's letter selects that knob and steps it forward, Shift+letter
  steps it back, ←/→ change the selected knob, [ ] move the selection. Every key is a
  ``Binding`` with an id and a tooltip, so Help and the footer list exactly what works.
* **Teardown**: on unmount the worker is cancelled and joined, handlers ignore messages
  that arrive late, and the model and its buffers are released.
* **Notices** go one way: ``notice(text, severity)``; errors and divergence pause the lab
  with one calm line, never a traceback.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import inspect
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import work as in_thread
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from content.safe import plain, visible
from tutor.labs.imaging import BG, FG, theme_background, theme_foreground
from tutor.screens import help as help_screens
from tutor.screens.help import MarkdownPanel
from tutor.widgets.keybar import KeyBar
from tutor.widgets.pixels import PixelCanvas
from tutor.wire import FramePacer, WireSettings

JOIN_TIMEOUT = 2.0  # seconds to wait for the worker to finish its chunk on leaving


COMPILING = "first run: compiling"  # the status line while kernels compile (cleared after)


@dataclass
class Knob:
    """One setting a learner can change. ``values`` is the list it steps through.

    ``resets``: changing it rebuilds the model (a new network, a new dataset); otherwise
    the change is live. ``key``: a lowercase letter that selects the knob and steps it.
    """

    name: str
    label: str
    values: list
    index: int = 0
    key: str | None = None
    resets: bool = False
    fmt: Callable[[Any], str] | None = None
    help: str = ""

    @property
    def value(self) -> Any:
        return self.values[self.index]

    def shown(self) -> str:
        value = self.value
        if self.fmt is not None:
            return self.fmt(value)
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    def step(self, delta: int, wrap: bool = False) -> bool:
        """Move to a neighbouring value; returns whether the value changed."""
        target = self.index + delta
        if wrap:
            target %= len(self.values)
        target = max(0, min(len(self.values) - 1, target))
        changed = target != self.index
        self.index = target
        return changed

    def select(self, value: Any) -> bool:
        """Jump to ``value`` (added to the choices if missing); returns whether it changed."""
        if value not in self.values:
            self.values = (
                sorted([*self.values, value]) if isinstance(value, (int, float)) else [*self.values, value]
            )
        target = self.values.index(value)
        changed = target != self.index
        self.index = target
        return changed


class KnobPanel(OptionList):
    """The lab's knobs, one per row: ↑/↓ choose, ←/→ (or - and +) change the value."""

    BINDINGS = [
        Binding(
            "left,minus", "change(-1)", "Less", id="knobs.less", show=False, tooltip="Lower the selected knob"
        ),
        Binding(
            "right,plus,equals_sign",
            "change(1)",
            "More",
            id="knobs.more",
            show=False,
            tooltip="Raise the selected knob",
        ),
    ]

    def __init__(self, knobs: list[Knob], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.knobs = knobs
        self._shown: list[str] = []

    def on_mount(self) -> None:
        self.redraw()
        if self.option_count:
            self.highlighted = 0

    def redraw(self) -> None:
        rows = [f"{k.key or ' '}\0{k.label}\0{k.shown()}" for k in self.knobs]
        if rows == self._shown:  # nothing changed: nothing repaints, nothing is sent
            return
        self._shown = rows
        keep = self.highlighted
        self.clear_options()
        for knob in self.knobs:
            row = Text()
            row.append(f"{knob.key or ' '} ", style="bold")
            row.append(f"{knob.label}\n  ")
            row.append(f"◂ {knob.shown()} ▸", style="bold")
            self.add_option(Option(row, id=knob.name))
        if keep is not None and self.option_count:
            self.highlighted = min(keep, self.option_count - 1)

    def select_knob(self, name: str) -> None:
        for index, knob in enumerate(self.knobs):
            if knob.name == name:
                self.highlighted = index
                return

    def action_change(self, delta: int) -> None:
        if self.highlighted is not None and isinstance(self.screen, LabScreen):
            self.screen.change_knob(self.knobs[self.highlighted], delta)


def _without_line(text: str, index: int) -> list[str]:
    lines = text.split("\n")
    return lines[:index] + lines[index + 1 :] if len(lines) > index else lines


class LabScreen(Screen):
    """Base class of every lab screen (the contract is in the module docstring)."""

    LAB_ID = ""
    LAB_TITLE = "Lab"
    HELP_MD = ""
    CODE: tuple[str, ...] = ()
    """The engine functions this lab calls, as "module:qualname"; `v` shows exactly these."""
    PLAY: str | None = "Train"
    """What Space does (its footer label), or None when the lab has nothing to play."""
    STEP: str | None = "Step"
    """What `s` does while paused, or None."""
    WARM_UP = True
    """Get the engine's kernels ready before the first build (tutor.labs.get_kernels_ready:
    in the app, each loads at its first call and a missing one compiles in a child)."""
    KERNELS: tuple[str, ...] | None = None
    """The engine modules whose kernels the lab uses (what the compiling child and the
    reading-time warm-up compile, ``engine.runtime.warm_up(modules=...)``); None: every
    module."""
    autoplay = True  # tests set this to False so labs start paused and deterministic

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="lab.back", tooltip="Leave the lab"),
        Binding("r", "reset", "Reset", id="lab.reset", tooltip="Start again from fresh weights"),
        Binding("e", "new_seed", "Seed", id="lab.seed", tooltip="Start again with a new random seed"),
        Binding(
            "left_square_bracket",
            "knob(-1)",
            "Knob ↑",
            id="lab.knob_prev",
            show=False,
            tooltip="Select the previous knob",
        ),
        Binding(
            "right_square_bracket",
            "knob(1)",
            "Knob ↓",
            id="lab.knob_next",
            show=False,
            tooltip="Select the next knob",
        ),
        Binding("h", "lab_help", "Explain", id="lab.help", tooltip="What am I looking at?"),
        Binding("v", "view_code", "Code", id="lab.code", tooltip="The real engine code doing the work"),
    ]

    class Frame(Message):
        """A frame for `draw`; a newer frame replaces one that is still queued."""

        def __init__(self, frame: dict) -> None:
            super().__init__()
            self.frame = frame

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LabScreen.Frame)

    class WarmUp(Message):
        """Kernel compilation progress (replaceable too)."""

        def __init__(self, done: int, total: int, name: str) -> None:
            super().__init__()
            self.done, self.total, self.name = done, total, name

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LabScreen.WarmUp)

    class Notice(Message):
        """Something the learner must read (never replaced)."""

        def __init__(self, text: str, severity: str) -> None:
            super().__init__()
            self.text, self.severity = text, severity

    class Done(Message):
        """The result of a submitted call, for its `then` (never replaced)."""

        def __init__(self, then: Callable[[dict], None], result: dict) -> None:
            super().__init__()
            self.then, self.result = then, result

    def __init__(self) -> None:
        super().__init__()
        self.model_lock = threading.RLock()
        self._warm_up_progress: Callable[[int, int, str], None] | None = None
        self._deferral: int | None = None  # labs.get_kernels_ready's token, while it defers
        self.seed = 0
        self.playing = False
        self.iterations = 0
        self.model: Any = None
        self.knob_list: list[Knob] = self.knobs()
        self._commands: queue.Queue[
            tuple[str, Callable[[], dict | None] | None, Callable[[dict], None] | None]
        ] = queue.Queue()
        self._busy = False
        self._ready = False
        self._rate = 0.0
        self._message = ""
        self._status_shown = ""
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._stopping = False
        self._started = False
        self._pending: tuple[str, str] | None = None
        self._wait = 0.0
        self._pacer: FramePacer | None = None
        self.weights_label = ""
        self.last_frame: dict = {}
        """The frame `draw` was last given (tests and benchmarks read it)."""
        self.canvas_bg: tuple[int, int, int] = BG
        """The theme's colour behind the lab's pictures (RGB); set on the UI thread, read by
        `view` and `draw` to paint the background of pixel buffers (`imaging.tile_grid`)."""
        self.canvas_fg: tuple[int, int, int] = FG
        """The theme's text colour, for axes and markers drawn in pictures."""
        self._headline = ""
        self._strip_shown = ""
        self._bind_lab_keys()

    # ------------------------------------------------------------------ for subclasses

    def knobs(self) -> list[Knob]:
        return []

    def build(self) -> None:
        """Worker, holding `model_lock`: create `self.model` from the knobs and `self.seed`."""

    def advance(self) -> dict:
        """Worker, holding `model_lock`: one chunk of what Play means (~10–50 ms); metrics.

        A metric "steps" counts iterations; "diverged" (or a non-finite float) pauses."""
        return {}

    def view(self, metrics: dict) -> dict:
        """Worker, holding `model_lock`: everything the next frame shows, as plain data."""
        return metrics

    def compose_lab(self) -> ComposeResult:
        yield from ()

    def draw(self, frame: dict) -> None:
        """UI thread: paint `frame` (never touch `self.model` here)."""

    def on_knob(self, knob: Knob) -> None:
        """UI thread: a knob changed. Default: rebuild if it must, else redraw."""
        if knob.resets:
            self.action_reset()
        else:
            self.submit()

    def preset_values(self, name: str) -> dict[str, Any] | None:
        """The knob values preset `name` stands for (None: no presets / "custom")."""
        return None

    def headline(self, frame: dict) -> str:
        """UI thread: the few numbers that matter most in `frame`, one short line.

        Shown on the status line, and kept when a small terminal (under 70x22) hides the
        knob column and the lab's side texts, so the learner still sees them."""
        return ""

    # ------------------------------------------------------------------ helpers for labs

    def knob(self, name: str) -> Knob:
        return next(k for k in self.knob_list if k.name == name)

    # -- films (a sampled trajectory played frame by frame) ------------------------------
    # A lab with a film keeps `self.frame` (index, or None: follow the "scrub" knob) and
    # `self.hold` (frames rested on the last picture); these three run on the worker.
    frame: int | None = None
    hold: int = 0

    def film_index(self, length: int) -> int:
        """The film frame shown: the playing position, else the scrub knob's (0..100 %)."""
        last = length - 1
        if self.frame is None:
            return int(round(self.knob_value("scrub") / 100 * last))
        return min(self.frame, last)

    def film_advance(self, length: int, frames: int, hold: int) -> dict:
        """Move the film on so it plays in about `frames` frames; rest `hold` frames on
        the picture (or stop there when paused), then rewind to the noise."""
        last = length - 1
        k = self.film_index(length)
        if k >= last:
            self.hold += 1
            if self.hold > hold or not self.playing:
                self.hold, self.frame = 0, 0
        else:
            self.frame = min(last, k + max(1, last // frames))
        return {"steps": 1}

    def frame_wait(self) -> float:
        """Worker: seconds until a frame made now would go out rather than be dropped by
        the wire pacer (0: now). A film moves on only then, so it plays at the pacer's
        rate, slows down on a tight link instead of skipping frames, and has no clock of
        its own to beat against the pacer's."""
        if self._pacer is None or self._pacer.due():
            return 0.0
        return self._pacer.wait()

    def film_rewind_if_done(self, length: int | None) -> dict:
        """Play from the noise, not from the end (`length` None: no film yet)."""
        if length is not None and self.film_index(length) >= length - 1:
            self.frame, self.hold = 0, 0
        return {}

    def knob_value(self, name: str) -> Any:
        return self.knob(name).value

    def submit(
        self,
        fn: Callable[[], dict | None] | None = None,
        kind: str = "call",
        then: Callable[[dict], None] | None = None,
    ) -> None:
        """Run `fn` on the worker (holding `model_lock`), then send a frame of the result.

        With no `fn`, just send a fresh frame (a knob changed what is shown). `then`, if
        given, runs on the UI thread with `fn`'s result; unlike frames it is never dropped."""
        self._commands.put((kind, fn, then))

    def notice(self, text: str, severity: str = "information") -> None:
        """Tell the learner something: the status line, and a toast for warnings/errors."""
        self._message = visible(text)
        if severity != "information":  # a toast reads markup: the gate escapes it
            self.notify(plain(text), severity=severity, timeout=8)  # type: ignore[arg-type]
        self._show_status()

    def tell(self, text: str, severity: str = "information") -> None:
        """Worker side of `notice`: shown with the next frame."""
        self._pending = (text, severity)

    WEIGHT_CHOICES = ["yours", "shipped", "scratch"]

    def weights_knob(self, key: str = "f") -> Knob:
        """The standard "Weights" knob: your own (from `genai-tutor train`), shipped, scratch."""
        return Knob(
            "weights",
            "Weights",
            list(self.WEIGHT_CHOICES),
            key=key,
            resets=True,
            help="Your own trained weights if you have them, the shipped ones, "
            "or untrained (train it live with Space)",
        )

    def weights_file(self, name: str) -> Any:
        """Worker: the weights file the "Weights" knob picks (yours falls back to shipped);
        sets `weights_label`, which the status line shows. None means "from scratch"."""
        from content import paths

        choice = self.knob_value("weights")
        if choice == "scratch":
            self.weights_label = "weights: untrained"
            return None
        path, which = paths.weights_for(name, prefer=choice)
        self.weights_label = f"weights: {which}" + ("" if which == choice else " (you have none)")
        return path

    @property
    def wire(self) -> WireSettings:
        settings = getattr(self.app, "wire_settings", None)
        return settings if isinstance(settings, WireSettings) else WireSettings.choose(False)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lab-body"):
            with Vertical(id="lab-main"):
                yield Static(id="lab-strip")
                yield from self.compose_lab()
            with Vertical(id="lab-side"):
                yield KnobPanel(self.knob_list, id="knobs")
                yield Static(id="lab-status")
                yield ProgressBar(id="lab-warmup", show_eta=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.title = self.LAB_TITLE
        self.sub_title = "Try it"
        self.query_one("#lab-warmup", ProgressBar).display = False
        self._theme_colours()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self.playing = self.autoplay and self.PLAY is not None
        from tutor import memory

        memory.large_blocks_to_system()  # a lab's big arrays go back to the system when freed
        self.submit(self._build, kind="build")
        self._started = True
        self._loop()
        self._show_status()

    def _bind_lab_keys(self) -> None:
        """Space and s as the lab declares them, and one binding per knob letter."""
        if self.PLAY:
            self._bindings.key_to_bindings.setdefault("space", []).append(
                Binding(
                    "space", "toggle_play", self.PLAY, id="lab.play", tooltip=f"{self.PLAY}: start or pause"
                )
            )
        if self.STEP:
            self._bindings.key_to_bindings.setdefault("s", []).append(
                Binding("s", "step", self.STEP, id="lab.step", tooltip=f"{self.STEP} once while paused")
            )
        for knob in self.knob_list:
            if not knob.key:
                continue
            tip = knob.help or knob.label
            self._bindings.key_to_bindings.setdefault(knob.key, []).append(
                Binding(
                    knob.key,
                    f"knob_key('{knob.name}', 1)",
                    knob.label,
                    show=False,
                    id=f"{self.LAB_ID}.knob.{knob.name}",
                    tooltip=f"{tip} (select it and step forward)",
                )
            )
            upper = knob.key.upper()
            self._bindings.key_to_bindings.setdefault(upper, []).append(
                Binding(
                    upper,
                    f"knob_key('{knob.name}', -1)",
                    f"{knob.label} back",
                    show=False,
                    id=f"{self.LAB_ID}.knob.{knob.name}.back",
                    tooltip=f"{knob.label}: step back",
                )
            )

    # ------------------------------------------------------------------ the worker

    @in_thread(thread=True, exclusive=True, group="lab")
    def _loop(self) -> None:
        worker = get_current_worker()
        try:
            self._warm_up(worker)
            pacer = self._pacer = FramePacer(self.wire, getattr(self.app, "wire_meter", None))
            window_start, window_iterations = time.monotonic(), self.iterations
            while not (worker.is_cancelled or self._stop.is_set()):
                try:
                    kind, fn, then = self._commands.get(timeout=0.0 if self.playing else 0.05)
                    from_queue = True
                except queue.Empty:
                    if not self.playing:
                        continue
                    kind, fn, then, from_queue = "play", None, None, False
                self._busy = from_queue
                try:
                    frame = self._run(kind, fn, send=not self.playing or kind != "play" or pacer.due())
                    now = time.monotonic()
                    if kind == "play" and now - window_start >= 1.0:  # iterations per second
                        self._rate = max(0, self.iterations - window_iterations) / (now - window_start)
                        window_start, window_iterations = now, self.iterations
                    if self._wait > 0:  # the lab's own pace (a film), outside the lock
                        self._stop.wait(self._wait)
                    if frame is not None and not (worker.is_cancelled or self._stop.is_set()):
                        if then is not None:
                            self.post_message(self.Done(then, frame.get("_metrics", {})))
                        notice = self._notice_of(frame)
                        if notice is not None:  # never dropped with a replaced frame
                            self.post_message(self.Notice(*notice))
                        self.post_message(self.Frame(frame))
                        pacer.sent(now)
                    if kind == "build":  # after its frame: the build's garbage, LLVM's code pages
                        from tutor import memory

                        memory.release()
                finally:
                    self._busy = False
                    if from_queue:
                        self._commands.task_done()
        finally:
            self._finished.set()
            from tutor import labs, memory

            if self._deferral is not None:  # (its progress callback refers to this screen)
                labs.warmer.stop_deferring(self.LAB_ID, self._deferral, self._warm_up_progress)
            memory.forget_worker()  # else the pool thread keeps this screen alive

    def _warm_up(self, worker: Any) -> None:
        if not self.WARM_UP:
            return
        from engine import runtime

        try:  # the app leaves one core for the UI (engine/runtime.py's thread policy)
            runtime.set_context("app")
        except runtime.ThreadsSettingError as exc:
            self.post_message(self.Notice(f"{exc}; using the default", "warning"))

        def progress(done: int, total: int, name: str) -> None:
            if not (worker.is_cancelled or self._stop.is_set()):
                self.post_message(self.WarmUp(done, total, name))

        from tutor import labs

        self._warm_up_progress = progress  # the warmer may call it later: dropped at the end
        self._deferral = labs.get_kernels_ready(self.LAB_ID, self.KERNELS, progress)
        if self._deferral is None:  # compiled here: LLVM's code pages, before the build's peak
            from tutor import memory

            memory.release()
        self.post_message(self.WarmUp(1, 1, ""))

    def _build(self) -> dict:
        self.build()
        self.iterations = 0
        self._ready = True
        return {"built": True}

    def _run(self, kind: str, fn: Callable[[], dict | None] | None, send: bool) -> dict | None:
        """One command on the worker: returns the frame to send (or None)."""
        self._wait = 0.0
        try:
            with self.model_lock:
                if kind in ("play", "step") and not self._ready:
                    return None
                if kind in ("play", "step"):
                    metrics = dict(self.advance() or {})
                    self.iterations += int(metrics.pop("steps", 1))
                else:
                    metrics: dict = dict(fn() or {}) if fn else {}
                self._wait = float(metrics.pop("_wait", 0.0))
                if self._wait > 0 and self._pending is None:
                    return None
                diverged = bool(metrics.get("diverged")) or any(
                    isinstance(v, float) and not math.isfinite(v) for v in metrics.values()
                )
                if diverged:
                    self.playing = False
                    metrics["diverged"] = True
                if not send and not diverged and self._pending is None:
                    return None
                frame = dict(self.view(metrics) or {}, _metrics=metrics)
                if self._pending is not None:
                    frame["_notice"], self._pending = self._pending, None
                return frame
        except Exception as exc:  # the learner sees one calm line, never a traceback
            self.playing = False
            return {"_metrics": {"error": f"{type(exc).__name__}: {exc}"}}

    # ------------------------------------------------------------------ the UI side

    def on_lab_screen_frame(self, message: LabScreen.Frame) -> None:
        if self._stopping or not self.is_attached:
            return
        frame = message.frame
        metrics = frame.get("_metrics", {})
        if "error" not in metrics:
            self.last_frame = frame
            if self._theme_colours():  # e.g. a canvas switched to RGB: paint it again
                self.submit()
            try:
                self.draw(frame)
            except NoMatches:
                return  # the screen is being taken down
            except Exception as exc:  # a drawing bug must not take the lab down
                self._message = f"display error: {type(exc).__name__}: {exc}"
        self._show_status()

    @staticmethod
    def _notice_of(frame: dict) -> tuple[str, str] | None:
        metrics = frame.get("_metrics", {})
        if "error" in metrics:
            return f"stopped: {metrics['error']} (r resets)", "error"
        if metrics.get("diverged"):
            return (
                "diverged: a value became infinite or NaN. Press r to reset, "
                "perhaps with a smaller learning rate.",
                "warning",
            )
        return frame.pop("_notice", None)

    def on_lab_screen_notice(self, message: LabScreen.Notice) -> None:
        if self._stopping or not self.is_attached:
            return
        self.notice(message.text, message.severity)

    def on_lab_screen_done(self, message: LabScreen.Done) -> None:
        if self._stopping or not self.is_attached:
            return
        try:
            message.then(message.result)
        except NoMatches:
            return

    def on_lab_screen_warm_up(self, message: LabScreen.WarmUp) -> None:
        if self._stopping or not self.is_attached:
            return
        try:
            bar = self.query_one("#lab-warmup", ProgressBar)
        except NoMatches:
            return
        done, total = message.done, message.total
        bar.display = done < total
        bar.update(total=total, progress=done)
        if done < total:
            if self._ready:  # the lab runs (deferred compiles): say why it is slow for now
                self._message = f"{COMPILING} kernels {done}/{total}, slower until then"
            else:
                self._message = f"{COMPILING} kernels: {done}/{total} {message.name}"
        elif self._message.startswith(COMPILING):
            self._message = ""
        self._show_status()

    def _theme_colours(self) -> bool:
        """UI thread: read the theme's background for pictures; True if it changed."""
        canvases = self.query(PixelCanvas)
        widget = canvases.first() if canvases else self
        bg, fg = theme_background(widget), theme_foreground(widget)
        changed = (bg, fg) != (self.canvas_bg, self.canvas_fg)
        self.canvas_bg, self.canvas_fg = bg, fg
        return changed

    def _theme_changed(self, _theme: object) -> None:
        """The learner picked another theme: pictures get its background at once."""
        if not self._stopping and self.is_attached and self._theme_colours():
            self.submit()

    COMPACT = (70, 22)
    """Below this many columns or rows the knob column hides and a one-line strip at the
    top keeps the lab's headline numbers (knob letters and ←/→ still work)."""

    def on_resize(self, event: Any) -> None:
        width, height = event.size
        self.set_class(width < self.COMPACT[0] or height < self.COMPACT[1], "-compact")
        self._show_strip()

    def _show_status(self) -> None:
        if self._stopping:
            return
        if self.last_frame:
            self._headline = self.headline(self.last_frame)
        self._show_strip()
        state = f"▶ {self.PLAY.lower()}" if self.playing and self.PLAY else "⏸ paused"
        lines = [f"{state}  seed {self.seed}", f"it {self.iterations}"]
        if self.playing and self._rate:
            lines[-1] += f" · {self._rate:.0f}/s"
        if self.weights_label:
            lines.append(self.weights_label)
        if self._message:
            lines.append(self._message)
        text = "\n".join(lines)
        if text == self._status_shown:
            return
        # only the short counter line changed (every frame while playing): no layout pass,
        # which would also repaint the knob panel beside it
        same_shape = _without_line(text, 1) == _without_line(self._status_shown, 1)
        try:
            self.query_one("#lab-status", Static).update(plain(text), layout=not same_shape)
        except NoMatches:
            return
        self._status_shown = text

    def _show_strip(self) -> None:
        """The compact strip: play state, the headline, and the selected knob's value."""
        if not self.has_class("-compact"):
            return
        state = "▶" if self.playing and self.PLAY else "⏸"
        parts = [state, self._headline] if self._headline else [state, f"it {self.iterations}"]
        try:
            panel = self.query_one("#knobs", KnobPanel)
            strip = self.query_one("#lab-strip", Static)
        except NoMatches:
            return
        if panel.highlighted is not None and panel.highlighted < len(self.knob_list):
            knob = self.knob_list[panel.highlighted]
            parts.append(f"· {knob.label} ◂ {knob.shown()} ▸")
        if self._message:
            parts.append(f"· {self._message}")
        text = "  ".join(p for p in parts if p)
        if text != self._strip_shown:  # unchanged: nothing repaints, nothing is sent
            self._strip_shown = text
            strip.update(plain(text))

    async def on_unmount(self) -> None:
        """Stop the worker, wait for its chunk to end, and give the memory back."""
        self._stopping = True
        self._stop.set()
        self.playing = False
        self.app.theme_changed_signal.unsubscribe(self)  # the signal would keep the screen alive
        for worker in self.workers:
            worker.cancel()
        await asyncio.to_thread(self._finished.wait, JOIN_TIMEOUT)
        self.release()

    def release(self) -> None:
        """Drop the model and every buffer the lab holds (called after the worker ended)."""
        with self.model_lock:
            self.model = None
            self.release_lab()
        gc.collect()
        from tutor import memory

        memory.release()

    def release_lab(self) -> None:
        """Subclasses: drop their own large attributes (holding `model_lock`)."""

    async def wait_idle(self, timeout: float = 60.0) -> None:
        """For tests: wait until queued commands are done and the last frame is drawn."""
        deadline = time.monotonic() + timeout
        while not self._started and time.monotonic() < deadline:  # on_mount not run yet
            await asyncio.sleep(0.01)
        while (self._commands.unfinished_tasks or self._busy) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_play":
            return self.PLAY is not None
        if action == "step":
            return self.STEP is not None
        return True

    def action_toggle_play(self) -> None:
        if self.PLAY is None:
            return
        self.playing = not self.playing
        if not self.playing and not self._message.startswith(("diverged", "stopped")):
            self._message = ""
        self._show_status()

    def action_step(self) -> None:
        if self.STEP is None:
            return
        self.playing = False
        self._commands.put(("step", None, None))
        self._show_status()

    def action_reset(self) -> None:
        self._message = ""
        self.playing = self.autoplay and self.PLAY is not None and self.playing
        self.submit(self._build, kind="build")
        self._show_status()

    def action_new_seed(self) -> None:
        self.seed += 1
        self.action_reset()

    def action_knob(self, delta: int) -> None:
        panel = self.query_one("#knobs", KnobPanel)
        if panel.option_count:
            current = panel.highlighted or 0
            panel.highlighted = (current + delta) % panel.option_count
            panel.focus()

    def action_knob_key(self, name: str, delta: int) -> None:
        """A knob's letter: select that knob (so ←/→ change it next) and step it."""
        panel = self.query_one("#knobs", KnobPanel)
        panel.select_knob(name)
        if not isinstance(self.focused, Input):
            panel.focus()
        self.change_knob(self.knob(name), delta, wrap=True)

    def change_knob(self, knob: Knob, delta: int, wrap: bool = False) -> None:
        if not knob.step(delta, wrap=wrap):
            return
        if knob.name == "preset" and knob.value == "custom":  # noqa: SIM102 - a state, never a choice: step on
            if not knob.step(delta, wrap=wrap):
                return
        if knob.name == "preset":
            self._apply_preset(knob.value)
        else:
            self._mark_custom()
        self.query_one("#knobs", KnobPanel).redraw()
        self.on_knob(knob)
        self._show_status()

    def _apply_preset(self, name: str) -> None:
        values = self.preset_values(name)
        for knob in self.knob_list:
            if values and knob.name in values:
                knob.select(values[knob.name])

    def _mark_custom(self) -> None:
        """Show "custom" once any knob departs from the chosen preset."""
        try:
            preset = self.knob("preset")
        except StopIteration:
            return
        values = self.preset_values(preset.value)
        if values is None:
            return
        departed = any(
            self.knob_value(n) != v for n, v in values.items() if any(k.name == n for k in self.knob_list)
        )
        if departed and "custom" in preset.values:
            preset.index = preset.values.index("custom")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "knobs":
            self._show_strip()

    def action_lab_help(self) -> None:
        self.app.push_screen(TextPanel(f"# {self.LAB_TITLE}: what am I looking at?\n\n{self.HELP_MD}"))

    def action_view_code(self) -> None:
        self.app.push_screen(CodePanel(self.CODE))


def source_of(target: str) -> str:
    """Source text of "module:qualname" (e.g. "engine.gan:GAN.step_d")."""
    module_name, _, qualname = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    obj = getattr(obj, "py_func", obj)  # numba dispatchers keep the Python function here
    return inspect.getsource(obj)


class TextPanel(MarkdownPanel):
    """The lab's "what am I looking at?" page (h opens and closes it)."""

    BINDINGS = [Binding("h", "app.pop_screen", "Close", show=False, id="panel.close_h")]


class CodePanel(help_screens.CodePanel):
    """The engine functions behind a lab, read from their source (v opens and closes it)."""

    BINDINGS = [Binding("escape,v,q", "app.pop_screen", "Close", id="code.close")]

    def __init__(self, targets: Iterable[str]) -> None:
        blocks = []
        for target in targets:
            try:
                blocks.append((target.replace(":", "."), source_of(target)))
            except (ImportError, AttributeError, OSError, TypeError) as exc:
                blocks.append((target, f"# source not available ({exc})"))
        super().__init__("The real engine code behind this lab", blocks)
