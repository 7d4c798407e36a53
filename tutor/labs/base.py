"""LabScreen: what every "Try it" lab shares.

A lab subclass supplies an engine model and its widgets; this base supplies the rest:
a thread worker that builds and trains the model without blocking the UI, frames at most
LAB_FPS times a second, play/pause/step/reset/seed keys, a knob panel that reaches every
knob from the keyboard, the "what am I looking at?" panel, the "view code" panel showing
the real engine functions, JIT warm-up with visible progress on first open, and calm
handling of divergence and errors (the lab pauses and says so; never a traceback).

Threading: `build()` and `work()` run on the worker thread while holding `self.lock`.
Frames are handed to the UI thread with `call_from_thread` *after* the lock is released,
and the worker waits for `draw()` to finish, so `draw()` may read the model freely.
UI-thread code that changes the model (knobs) takes `self.lock`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual import work as in_thread
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tutor.screens import help as help_screens
from tutor.screens.help import MarkdownPanel

LAB_FPS = 12


@dataclass
class Knob:
    """One setting a learner can change. `values` is the list it steps through."""

    name: str
    label: str
    values: list
    index: int = 0
    key: str | None = None
    resets: bool = False
    fmt: Callable[[object], str] | None = None
    help: str = ""

    @property
    def value(self):
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


class KnobPanel(OptionList):
    """The lab's knobs, one per row: ↑/↓ choose, ←/→ (or - and +) change the value."""

    BINDINGS = [
        Binding("left,minus", "change(-1)", "Less", show=False),
        Binding("right,plus,equals_sign", "change(1)", "More", show=False),
    ]

    def __init__(self, knobs: list[Knob], **kwargs) -> None:
        super().__init__(**kwargs)
        self.knobs = knobs

    def on_mount(self) -> None:
        self.redraw()
        if self.option_count:
            self.highlighted = 0

    def redraw(self) -> None:
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

    def action_change(self, delta: int) -> None:
        if self.highlighted is not None:
            self.screen.change_knob(self.knobs[self.highlighted], delta)


class LabScreen(Screen):
    """Base class of every lab screen (see the module docstring for the contract)."""

    LAB_ID = ""
    LAB_TITLE = "Lab"
    HELP_MD = ""
    CODE: tuple[str, ...] = ()
    TRAINS = True
    WARM_UP = True  # compile or load the engine's kernels before the first build
    autoplay = True  # tests set this to False so labs start paused and deterministic

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="lab.back"),
        Binding("space", "toggle_play", "Play", id="lab.play", tooltip="Start or pause training"),
        Binding("s", "step", "Step", id="lab.step", tooltip="Run one step while paused"),
        Binding("r", "reset", "Reset", id="lab.reset", tooltip="Start again from fresh weights"),
        Binding("e", "new_seed", "Seed", id="lab.seed", tooltip="Start again with a new random seed"),
        Binding("left_square_bracket", "knob(-1)", "Knob ↑", id="lab.knob_prev", show=False,
                tooltip="Select the previous knob"),
        Binding("right_square_bracket", "knob(1)", "Knob ↓", id="lab.knob_next", show=False,
                tooltip="Select the next knob"),
        Binding("h", "lab_help", "Explain", id="lab.help", tooltip="What am I looking at?"),
        Binding("v", "view_code", "Code", id="lab.code", tooltip="The real engine code doing the work"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.seed = 0
        self.playing = False
        self.iterations = 0
        self.model = None
        self.knob_list: list[Knob] = self.knobs()
        self._commands: queue.Queue[str] = queue.Queue()
        self._busy = False
        self._ready = False
        self._rate = 0.0
        self._message = ""

    # ------------------------------------------------------------------ for subclasses

    def knobs(self) -> list[Knob]:
        return []

    def build(self) -> None:
        """Worker thread: create `self.model` from the knobs and `self.seed`."""

    def work(self) -> dict:
        """Worker thread: ~10–50 ms of training; returns metrics."""
        return {}

    def compose_lab(self) -> ComposeResult:
        yield from ()

    def draw(self, metrics: dict) -> None:
        """UI thread: show the model's state."""

    def on_knob(self, knob: Knob) -> None:
        """UI thread, holding `self.lock`: a knob changed. Default: reset if it must."""
        if knob.resets:
            self.action_reset()

    def knob_value(self, name: str):
        return next(k for k in self.knob_list if k.name == name).value

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lab-body"):
            with Vertical(id="lab-main"):
                yield from self.compose_lab()
            with Vertical(id="lab-side"):
                yield KnobPanel(self.knob_list, id="knobs")
                yield Static(id="lab-status")
                yield ProgressBar(id="lab-warmup", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = self.LAB_TITLE
        self.sub_title = "Try it"
        self.query_one("#lab-warmup", ProgressBar).display = False
        self.playing = self.autoplay and self.TRAINS
        self._commands.put("build")
        self._loop()
        self._show_status()

    # ------------------------------------------------------------------ the worker

    @in_thread(thread=True, exclusive=True, group="lab")
    def _loop(self) -> None:
        worker = get_current_worker()
        self._warm_up()
        last_frame, window_start, window_iterations = 0.0, time.monotonic(), self.iterations
        while not worker.is_cancelled:
            try:
                command = self._commands.get(timeout=0.0 if self.playing else 0.05)
                from_queue = True
            except queue.Empty:
                command, from_queue = ("work" if self.playing else None), False
            if command is None:
                continue
            self._busy = True
            metrics = self._run(command)
            now = time.monotonic()
            if command == "work" and metrics is not None:
                if now - window_start >= 1.0:  # iterations per second, not chunks
                    self._rate = max(0, self.iterations - window_iterations) / (now - window_start)
                    window_start, window_iterations = now, self.iterations
            if metrics is not None and (command != "work" or now - last_frame >= 1 / LAB_FPS
                                        or not self.playing):
                last_frame = now
                if not worker.is_cancelled:
                    self.app.call_from_thread(self._frame, metrics)
            self._busy = False
            if from_queue:
                self._commands.task_done()

    def _warm_up(self) -> None:
        if not self.WARM_UP:
            return
        from engine import runtime

        def progress(done: int, total: int, name: str) -> None:
            self.app.call_from_thread(self._show_warmup, done, total, name)

        runtime.warm_up(progress)
        self.app.call_from_thread(self._show_warmup, 1, 1, "")

    def _run(self, command: str) -> dict | None:
        try:
            with self.lock:
                if command == "build":
                    self.build()
                    self.iterations = 0
                    self._ready = True
                    return {}
                if not self._ready:
                    return None
                metrics = dict(self.work() or {})
                self.iterations += int(metrics.pop("steps", 1))
        except Exception as exc:  # the learner sees one calm line, never a traceback
            self.playing = False
            return {"error": f"{type(exc).__name__}: {exc}"}
        if metrics.get("diverged") or any(isinstance(v, float) and not math.isfinite(v) for v in metrics.values()):
            self.playing = False
            metrics["diverged"] = True
        return metrics

    def _frame(self, metrics: dict) -> None:
        if "error" in metrics:
            self._message = f"[b]stopped:[/b] {metrics['error']} (r resets)"
        elif metrics.get("diverged"):
            self._message = "[b]diverged[/b]: the numbers blew up. Press r to reset."
            self.notify("Training diverged (a value became infinite or NaN). Press r to reset, "
                        "perhaps with a smaller learning rate.", severity="warning")
        try:
            self.draw(metrics)
        except Exception as exc:  # a drawing bug must not take the lab down
            self._message = f"[b]display error:[/b] {exc}"
        self._show_status()

    def _show_warmup(self, done: int, total: int, name: str) -> None:
        bar = self.query_one("#lab-warmup", ProgressBar)
        bar.display = done < total
        bar.update(total=total, progress=done)
        if done < total:
            self._message = f"compiling kernels (first run only): {done}/{total} {name}"
        elif self._message.startswith("compiling"):
            self._message = ""
        self._show_status()

    def _show_status(self) -> None:
        state = "▶ playing" if self.playing else "⏸ paused"
        lines = [f"{state}  seed {self.seed}", f"it {self.iterations}"]
        if self.playing and self._rate:
            lines[-1] += f" · {self._rate:.0f}/s"
        if self._message:
            lines.append(self._message)
        self.query_one("#lab-status", Static).update("\n".join(lines))

    async def wait_idle(self, timeout: float = 60.0) -> None:
        """For tests: wait until queued commands are done and the last frame is drawn."""
        deadline = time.monotonic() + timeout
        while (self._commands.unfinished_tasks or self._busy) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.02)

    # ------------------------------------------------------------------ actions

    def action_toggle_play(self) -> None:
        if not self.TRAINS:
            self.notify("This lab samples on demand; there is nothing to train here.")
            return
        self.playing = not self.playing
        if not self.playing:
            self._message = ""
        self._show_status()

    def action_step(self) -> None:
        if self.playing:
            self.playing = False
        self._commands.put("work")
        self._show_status()

    def action_reset(self) -> None:
        self._message = ""
        self.playing = self.autoplay and self.TRAINS and self.playing
        self._commands.put("build")
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

    def change_knob(self, knob: Knob, delta: int, wrap: bool = False) -> None:
        if not knob.step(delta, wrap=wrap):
            return
        self.query_one("#knobs", KnobPanel).redraw()
        with self.lock:
            self.on_knob(knob)
        self._show_status()

    def on_key(self, event: events.Key) -> None:
        """A knob's own key cycles it (unless typing in a text box)."""
        from textual.widgets import Input

        if isinstance(self.focused, Input):
            return
        for knob in self.knob_list:
            if knob.key and event.key == knob.key:
                event.stop()
                self.change_knob(knob, 1, wrap=True)
                return

    def action_lab_help(self) -> None:
        self.app.push_screen(TextPanel(f"# {self.LAB_TITLE}: what am I looking at?\n\n{self.HELP_MD}"))

    def action_view_code(self) -> None:
        self.app.push_screen(CodePanel(self.CODE))


def source_of(target: str) -> str:
    """Source text of "module:qualname" (e.g. "engine.gan:GAN.step_d")."""
    module_name, _, qualname = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    obj = getattr(obj, "py_func", obj)  # numba dispatchers keep the Python function here
    return inspect.getsource(obj)


class TextPanel(MarkdownPanel):
    """The lab's "what am I looking at?" page (h opens and closes it)."""

    BINDINGS = [Binding("h", "app.pop_screen", "Close", show=False)]


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
