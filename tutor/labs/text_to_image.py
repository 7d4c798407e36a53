"""L10 lab `text-to-image`: type a prompt, watch four seeds denoise into it.

Film view: four seeds of one prompt in a 2x2 grid; the scrub knob (and Space, which
plays it) walks the sampling run from pure noise to the pictures, showing either x_t or
the model's current guess x̂_0. Beside each seed: what the classifier and the geometry
read back (✓ when every attribute the prompt asks for is there) and its CLIPScore-lite.
Sweep view: the same four seeds at guidance 0, 1, 3 and 7.5; per scale the first seed's
picture, the share of seeds right, mean CLIPScore-lite and the diversity of the four
(mean pixel distance between them). Pixel or latent diffusion, the guidance scale, the
steps and the sampler are knobs; every run reports its time per sample.
"""

from __future__ import annotations

import time

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from tutor.labs.base import Knob, KnobPanel, LabScreen
from tutor.labs.imaging import BG
from tutor.widgets.pixels import PixelCanvas

GUIDANCES = [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0]
STEPS = [10, 20, 50, 100]
SCRUB = list(range(0, 101, 5))
SEEDS = 4
FILM_FRAMES, FILM_HOLD = 50, 6  # a run plays in ~50 frames, rests 6 (0.5 s at 12 frames/s)
# While the film plays, a frame must fit the wire budget (tutor.wire: 56 KB/s, so at
# 12 frames/s about 4.7 KB, status lines included). Mid-run every pixel changes a little,
# and a changed pixel re-sends its whole row of cells (about 12 KB for the 34x17 cells of
# the four seeds). So, as video codecs do (conditional replenishment), a pixel is sent
# again only once its colour has moved by more than FILM_REFRESH levels (of 255) from
# what is on screen, and at most FILM_CELLS cells of rows are re-sent per frame, the rows
# that moved most first; the rest catch up on the next frames. The last frame converges
# to the exact picture during the rest at the end; a paused, stepped or scrubbed frame
# is exact at once.
FILM_REFRESH, FILM_CELLS = 40, 150
GUIDANCE = 4.0  # the models' default (engine.text_to_image.GUIDANCE; a test checks they agree)
_clock = time.perf_counter  # one place to read the clock (tests fix it for snapshots)

HELP = """
Type a prompt with **/** (or pick one of the examples with **p**): the words go through
the frozen text encoder of the CLIP lab and come out as one vector of 32 numbers; the
denoiser reads that vector at every step. Words the encoder does not know are listed and
ignored.

**Why one pooled vector and not cross-attention?** Stable Diffusion's denoiser attends to
every word's features. This tiny CLIP's text encoder has no attention between words, so
a single word's feature does not know its neighbours; the pooled vector is what CLIP
trained to match pictures, and one sprite's four attributes fit in it. Measured: for 98
of 100 prompts in phrasings the model never saw, CLIP puts the prompt nearest to the
training captions of the right sprite, so the words arrive intact; the misses came from
the denoiser, and more training and guidance 4 fixed most of them.

**Film** (**o** switches views): four seeds side by side. **t** scrubs the run from pure
noise (0 %) to the picture (100 %), **Space** plays it, **s** moves one frame. **f**
shows either x_t (what the sampler holds now) or x̂_0 (the model's guess of the final
picture). Beside each seed: what the classifier and the geometry read back (✓ = every
attribute the prompt asked for) and its **CLIPScore-lite** (100 × the clipped cosine of
picture and prompt in CLIP's space, 0–100). While the film plays over the wire, a pixel
is redrawn only once it has moved noticeably and a frame redraws at most about a third
of the rows, the rows that changed most first; pause it (or step, or scrub) for the
exact picture.

**Guidance** (**g**): classifier-free guidance mixes the model's prediction with the
prompt and without it (a learned "null prompt"): ε = ε(∅) + s·(ε(prompt) − ε(∅)).
s = 0 ignores the prompt, 1 is plain conditioning, higher pushes harder: truer to the
prompt and less varied, up to a point: the default is s = 4, and on the shipped models
s = 7.5 already gets fewer attributes right. **Sweep** shows s = 0, 1, 3, 7.5 on
the same seeds with accuracy, CLIPScore-lite and diversity (how different the four are).

**Pixel / latent** (**l**): diffuse the 16×16×3 = 768 pixel values, or the 4×4×4 = 64
numbers of an autoencoder's latent and decode at the end (the idea of Stable
Diffusion). Compare the ms per sample. In latent mode the film shows decoded latents.

**Weights** (**w**): your own, once you have trained them with
`genai-tutor train text-to-image --kind pixel` (or `--kind latent`), or the shipped ones.

**Weak spots**: "a purple triangle" is a combination the model never saw in training;
"a big small circle" contradicts itself. Watch what it draws instead.
"""


def film_update(old: np.ndarray, new: np.ndarray, threshold: int, cells: int) -> np.ndarray:
    """``old`` (H, W, 3) uint8 on screen, moved towards ``new``: pixels whose colour moved
    by more than ``threshold`` (largest channel) take the new colour, in the rows of cells
    (two pixel rows each, as PixelCanvas draws them) that moved most, as long as the
    spans of changed cells they re-send add up to at most ``cells``."""
    diff = np.abs(new.astype(np.int16) - old.astype(np.int16)).max(axis=-1)
    moved = diff > threshold
    height, width = moved.shape
    pad = height % 2
    rows = np.concatenate([moved, np.zeros((pad, width), bool)]).reshape(-1, 2, width).any(axis=1)
    weight = np.concatenate([diff * moved, np.zeros((pad, width), np.int16)]).reshape(-1, 2 * width).sum(1)
    out = old.copy()
    spent = 0
    for r in np.argsort(-weight, kind="stable"):
        where = np.flatnonzero(rows[r])
        if not len(where):
            break
        span = int(where[-1] - where[0] + 1)
        if spent + span > cells:
            continue
        spent += span
        band = slice(2 * r, min(2 * r + 2, height))
        out[band] = np.where(moved[band, :, None], new[band], old[band])
    return out


class PromptInput(Input):
    """The prompt box: Enter runs it, Escape hands the keys back to the lab."""

    BINDINGS = [Binding("escape", "done", "Done", show=False)]

    def action_done(self) -> None:
        self.screen.query_one("#knobs", KnobPanel).focus()


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


class TextToImageLab(LabScreen):
    LAB_ID = "text-to-image"
    LAB_TITLE = "Text-to-image, tiny"
    HELP_MD = HELP
    PLAY = "Play film"
    KERNELS = ("diffusion", "clip", "vae", "render")  # the denoiser, the text encoder, the latent decoder
    STEP = "Next frame"
    AUTO_FOCUS = "#knobs"
    CODE = (
        "engine.text_to_image:TextToImage.generate",
        "engine.diffusion:Diffusion.guided_eps",
        "engine.diffusion:Diffusion.sample",
        "engine.diffusion:denoise_step",
        "engine.clip:CLIP.encode_texts",
        "engine.clip:CLIP.clip_score",
        "engine.text_to_image:read_attributes",
    )
    DEFAULT_CSS = """
    #t2i-prompt { height: 1; }
    #t2i-row { height: auto; }
    #t2i-side { width: 1fr; height: auto; padding-left: 1; }
    #t2i-stats { height: auto; }
    """
    BINDINGS = [
        Binding("slash", "type", "Prompt", id="t2i.type", tooltip="Type your own prompt"),
    ]

    # state before the first build (knobs may be pressed while kernels compile)
    run = sweep = frame = None
    _shown: tuple | None = None  # (run, picture) of the film frame last sent
    _texts: dict | None = None  # what each text widget shows (unchanged: not sent again)
    dirty, hold, note = False, 0, ""

    def __init__(self) -> None:
        from engine.text_to_image import EXAMPLE_PROMPTS

        self.examples = list(EXAMPLE_PROMPTS)
        self.prompt = self.examples[0]
        super().__init__()

    def knobs(self) -> list[Knob]:
        return [
            Knob(
                "example",
                "Example prompt",
                list(range(len(self.examples))),
                key="p",
                fmt=lambda i: self.examples[i][:15],
                help="Put an example prompt in the box",
            ),
            Knob(
                "guidance",
                "Guidance s",
                GUIDANCES,
                index=GUIDANCES.index(GUIDANCE),
                key="g",
                help="Classifier-free guidance scale (0 ignores the prompt)",
            ),
            Knob(
                "scrub",
                "Scrub noise→picture",
                SCRUB,
                index=len(SCRUB) - 1,
                key="t",
                fmt=lambda v: f"{v} %",
                help="Where in the sampling run to look",
            ),
            Knob("steps", "Steps", STEPS, index=STEPS.index(50), key="n", help="Denoising steps"),
            Knob(
                "sampler",
                "Sampler",
                ["ddim", "ddpm"],
                key="m",
                fmt=str.upper,
                help="DDIM (deterministic) or DDPM (fresh noise each step)",
            ),
            Knob(
                "kind",
                "Diffuse in",
                ["pixel", "latent"],
                key="l",
                resets=True,
                help="The 768 pixel values or the autoencoder's 64-number latent",
            ),
            Knob(
                "show",
                "Film shows",
                ["x_t", "x̂_0"],
                key="f",
                help="What the sampler holds now, or the model's guess of the end",
            ),
            Knob(
                "view",
                "View",
                ["film", "sweep"],
                key="o",
                help="Four seeds' film, or the guidance sweep 0, 1, 3, 7.5",
            ),
            self._weights_knob(),
        ]

    def _weights_knob(self) -> Knob:
        """Yours (from `genai-tutor train text-to-image`, when you have them) or shipped:
        the lab samples and does not train, so there is no "from scratch"."""
        knob = self.weights_knob("w")
        knob.values = ["yours", "shipped"]
        knob.help = (
            "Your own weights from `genai-tutor train text-to-image` if you have them, or the shipped ones"
        )
        return knob

    def compose_lab(self) -> ComposeResult:
        yield PromptInput(
            self.prompt,
            id="t2i-prompt",
            compact=True,
            placeholder="/ to type a prompt, e.g. a small red heart on the left",
        )
        yield Static("", id="t2i-asks")
        from textual.containers import Horizontal

        with Horizontal(id="t2i-row"):
            yield PixelCanvas(id="t2i-canvas")
            yield Static("", id="t2i-side")
        yield Static("", id="t2i-stats")

    # -- worker -------------------------------------------------------------------------
    def build(self) -> None:
        from engine import text_to_image as t2i
        from engine.weights import WeightsError

        self.kind = self.knob_value("kind")
        self.results: dict = {}
        self.run, self.sweep, self.frame = None, None, None
        self.dirty, self.hold, self.note = False, 0, ""
        path = self.weights_file(t2i.pretrained_path(self.kind).name)
        try:  # loaded afresh (not the engine's cached copy), so leaving frees it
            self.model = t2i.TextToImage.load(path)
        except WeightsError as exc:
            self.model = None
            self.note = f"{exc}. Train it: genai-tutor train text-to-image --kind {self.kind}"
            return
        self.weights_label = f"{self.kind} {self.weights_label}"  # e.g. "latent weights: yours"
        self.model.generate(self.prompt, seeds=[0], steps=1)  # its kernels load here, not in the timing
        self.sample_run()

    def _key(self) -> tuple:
        return (
            self.prompt,
            float(self.knob_value("guidance")),
            int(self.knob_value("steps")),
            self.knob_value("sampler"),
            self.seed,
        )

    def _seeds(self) -> list[int]:
        return [SEEDS * self.seed + i for i in range(SEEDS)]

    def _generate(self, guidance: float, record: bool) -> dict:
        """Four seeds of the prompt at ``guidance``: pictures, film, readings, scores, time."""
        from engine import text_to_image as t2i

        steps, sampler = int(self.knob_value("steps")), self.knob_value("sampler")
        start = _clock()
        images, film = self.model.generate(  # the four seeds in one batch
            self.prompt, seeds=self._seeds(), guidance=guidance, steps=steps, sampler=sampler, record=record
        )
        per_sample = (_clock() - start) / SEEDS
        read = t2i.read_attributes(images)
        wanted = t2i.prompt_slots(self.prompt)
        out = {
            "images": images,
            "read": read,
            "per_sample": per_sample,
            "right": t2i.requested_right(read, np.tile(wanted, (SEEDS, 1))),
            "scores": self.model.text_encoder.clip_score(images, [self.prompt] * SEEDS),
            "diversity": float(
                np.mean(
                    [
                        np.sqrt(np.mean((images[i] - images[j]) ** 2))
                        for i in range(SEEDS)
                        for j in range(i + 1, SEEDS)
                    ]
                )
            ),
        }
        if record:  # frames: (t, x_t of the four seeds, x̂_0 of the four seeds)
            out["film"] = film
        return out

    def sample_run(self) -> None:
        key = self._key()
        if key not in self.results:
            self.results[key] = self._generate(key[1], record=True)
        self.run = self.results[key]
        self.frame = None

    def run_sweep(self) -> None:
        from engine.text_to_image import SWEEP

        key = ("sweep",) + self._key()[:1] + self._key()[2:]
        if key not in self.results:
            self.results[key] = {g: self._generate(g, record=False) for g in SWEEP}
        self.sweep = self.results[key]

    def advance(self) -> dict:
        """Re-sample after a change; otherwise move the film on by one frame."""
        if self.model is None:
            self.playing = False
            return {"steps": 0}
        if self.knob_value("view") == "sweep":
            self.playing = False
            if self.sweep is None:
                self.run_sweep()
            return {"steps": 0}
        if self.playing:  # the film moves at the wire pacer's rate, slept outside the lock
            wait = self.frame_wait()
            if wait > 0:
                return {"steps": 0, "_wait": min(max(wait, 0.005), 0.1)}
        if self.dirty or self.run is None:
            self.dirty = False
            self.sample_run()
            return {"steps": 0}
        return self.film_advance(len(self.run["film"]), FILM_FRAMES, FILM_HOLD)

    def _frame_index(self) -> int:
        return self.film_index(len(self.run["film"]))

    def release_lab(self) -> None:
        self.results, self.run, self.sweep = {}, None, None

    # -- the frame (worker) -------------------------------------------------------------
    def _asks(self) -> str:
        from engine import text_to_image as t2i

        names = t2i.attribute_names(t2i.prompt_slots(self.prompt))
        wanted = [names[k] for k in ("size", "colour", "shape", "position") if names[k] != "?"]
        asks = "asks for: " + (" ".join(wanted) if wanted else "nothing in particular")
        unknown = t2i.TextToImage.unknown_words(self.prompt)
        return asks + (f" · ignored: {' '.join(unknown)}" if unknown else "")

    @staticmethod
    def _grid(images: np.ndarray) -> np.ndarray:
        from engine import render

        buf = render.image_grid(np.asarray(images, np.float32), cols=2, pad=1, pad_color=BG)
        return buf[:-1]  # 34 px: 17 rows

    @staticmethod
    def _reading(read_row: np.ndarray) -> str:
        from engine import images as imgs

        short = {"large": "big", "small": "small"}
        tables = (imgs.SIZES, imgs.COLOURS, imgs.SHAPES, imgs.POSITIONS)
        order = (3, 1, 0, 2)
        words = [(tables[i][read_row[k]] if read_row[k] >= 0 else "?") for i, k in enumerate(order)]
        words[0] = short.get(words[0], words[0])
        return f"{words[0]} {words[1]}\n  {words[2]} {words[3]}"  # two lines fit the column

    def view(self, metrics: dict) -> dict:
        if self.model is None:
            return {"asks": "", "side": "", "stats": self.note or "loading…"}
        frame = {"asks": self._asks()}
        if self.knob_value("view") == "sweep":
            return frame | self.view_sweep()
        if self.run is None:
            return frame
        return frame | self.view_film()

    def view_film(self) -> dict:
        run = self.run
        k = self._frame_index()
        t, xt, x0 = run["film"][k]
        show_x0 = self.knob_value("show") != "x_t"
        pictures = x0 if show_x0 and k else xt
        side = Text()
        for i in range(SEEDS):
            mark = "✓" if run["right"][i] else "✗"
            style = "bold" if run["right"][i] else ""
            side.append(f"{i + 1} {mark} CS {run['scores'][i]:4.1f}\n", style=style)
            side.append(f"  {self._reading(run['read'][i])}\n", style="dim")
        last = len(run["film"]) - 1
        bar = "".join("●" if i == round(k / max(last, 1) * 10) else "─" for i in range(11))
        label = "x̂_0" if show_x0 and k else ("decoded x_t" if self.kind == "latent" else "x_t")
        stats = (
            f"noise {bar} picture {k}/{last} t={t} · {label}\n"
            f"{self.kind} s={self.knob_value('guidance'):g} "
            f"{self.knob_value('sampler').upper()}-{self.knob_value('steps')}: "
            f"{_ms(run['per_sample'])}/sample · {int(run['right'].sum())}/{SEEDS} right"
        )
        return {"picture": self._film_picture(self._grid(pictures), k, last), "side": side, "stats": stats}

    def _film_picture(self, buf: np.ndarray, k: int, last: int) -> np.ndarray:
        """The picture to send for film frame ``k``: while playing, what is on screen
        moved towards it (FILM_REFRESH, FILM_CELLS; at the last frame every pixel that
        differs, so the rest at the end converges to the exact picture); otherwise the
        exact picture."""
        shown, self._shown = self._shown, None
        if self.playing and shown is not None and shown[0] is self.run and shown[1].shape == buf.shape:
            buf = film_update(shown[1], buf, 0 if k == last else FILM_REFRESH, FILM_CELLS)
        self._shown = (self.run, buf)
        return buf

    def view_sweep(self) -> dict:
        if self.sweep is None:
            return {"side": "", "stats": "sampling the sweep (4 scales × 4 seeds)…"}
        scales = list(self.sweep)
        side = Text("s   ok  CS   div\n", style="bold")  # 17 columns beside the pictures
        for g in scales:
            r = self.sweep[g]
            side.append(
                f"{g:<3g} {int(r['right'].sum())}/{SEEDS} {r['scores'].mean():4.1f} {r['diversity']:.2f}\n"
            )
        pictures = np.stack([self.sweep[g]["images"][0] for g in scales])
        stats = (
            "seed 1 at s = " + ", ".join(f"{g:g}" for g in scales) + " (reading order)\n"
            "ok: seeds right · CS: CLIPScore-lite · div: spread"
        )
        return {"picture": self._grid(pictures), "side": side, "stats": stats}

    # -- UI -----------------------------------------------------------------------------
    def draw(self, frame: dict) -> None:
        if "asks" not in frame:
            return
        self._show_text("#t2i-asks", Text(frame["asks"], style="dim"))
        self._show_text("#t2i-side", frame.get("side", ""))
        self._show_text("#t2i-stats", Text(frame.get("stats", "")))
        if "picture" in frame:
            self.query_one("#t2i-canvas", PixelCanvas).update_pixels(frame["picture"])

    def _show_text(self, selector: str, content: Text | str) -> None:
        """Update a text widget only when its content changed: an update repaints the
        widget's whole region, and on a film frame the readings beside it stay the same."""
        texts = self._texts if self._texts is not None else {}
        self._texts = texts
        before = texts.get(selector)
        if before != content:
            texts[selector] = content
            lines = str(content).count("\n")  # as many short lines as before: no layout pass
            self.query_one(selector, Static).update(
                content, layout=before is None or str(before).count("\n") != lines
            )

    def action_type(self) -> None:
        self.query_one("#t2i-prompt", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.set_prompt(event.value.strip())
        self.query_one("#knobs", KnobPanel).focus()

    def set_prompt(self, text: str) -> None:
        """Use ``text`` if the encoder knows at least one of its words; say which it ignores."""
        from engine import captions

        if not captions.tokenize(text):
            self.notice(
                f"no word of {text!r} is in the model's vocabulary (it knows words "
                "such as red, heart, small, left); the prompt is unchanged",
                "warning",
            )
            self.query_one("#t2i-prompt", Input).value = self.prompt
            return
        unknown = captions.unknown_words(text)
        if unknown:
            self.notice(f"not in the vocabulary, ignored: {', '.join(unknown)}", "warning")
        self.prompt = text
        self.submit(self._resample)

    def action_toggle_play(self) -> None:
        super().action_toggle_play()
        if self.playing:
            self.submit(self._rewind_if_done)
        else:
            self.submit()  # paused: the exact picture of this frame

    def _rewind_if_done(self) -> dict:
        return self.film_rewind_if_done(None if self.run is None else len(self.run["film"]))

    def on_knob(self, knob: Knob) -> None:
        if knob.resets:
            self.action_reset()
        elif knob.name == "example":
            text = self.examples[knob.value]
            self.query_one("#t2i-prompt", Input).value = text
            self.set_prompt(text)
        elif knob.name in ("scrub", "show", "view"):
            self.submit(self._follow_knobs)
        else:
            self._show_text("#t2i-stats", "sampling four seeds…")
            self.submit(self._resample)

    def _follow_knobs(self) -> dict:
        """Worker: the scrub knob takes over the film; the sweep samples once when shown."""
        self.frame = None
        if self.model is not None and self.knob_value("view") == "sweep":
            self.run_sweep()
        return {}

    def _resample(self) -> dict:
        if self.model is not None:
            self.sample_run()
            self.sweep = None
            if self.knob_value("view") == "sweep":
                self.run_sweep()
        return {}
