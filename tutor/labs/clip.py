"""L09 lab `clip`: train a tiny CLIP live and watch words and pictures meet.

Four views share the screen (key m):

* **matrix**: six sprites across the top, their six captions down the side, and the
  cosine similarity of every pair as a heatmap. Training (space) from scratch turns it
  diagonal. The loss and the temperature are drawn below as they change.
* **search**: type a caption (/) and see the five most similar of 300 fresh sprites with
  their cosines; below, the chosen sprite (p) and the captions it is closest to.
* **zero-shot**: classify 300 fresh sprites by captions alone, per attribute and prompt
  template, next to the supervised sprite classifier; type a template of your own (/).
* **gap**: the mean cosine of matching and of mismatched pairs, and the image and text
  embeddings projected to 2-D (the "modality gap": two separate clouds).

Knobs: temperature (t; "learned" or held fixed), batch size (b), the sprite set (n), the
weights (f: scratch by default, so the lab trains from nothing).
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from tutor.labs.base import Knob, KnobPanel, LabScreen
from tutor.labs.imaging import BG, GUTTER, tile_grid
from tutor.widgets.charts import MetricSparkline
from tutor.widgets.pixels import PixelCanvas

VIEWS = ["matrix", "search", "zero-shot", "gap"]
TEMPERATURES = ["learned", 0.01, 0.03, 0.07, 0.2, 1.0]
BATCHES = [8, 16, 32, 64, 128, 256]
PAIRS = 6  # sprites (and captions) in the matrix
THUMB = 8  # thumbnail side in pixels (sprites averaged down from 16)
POOL = 300  # fresh sprites for search, zero-shot and the gap
STEPS_PER_WORK = 4
LAB_TRAIN_N, LAB_CAPTIONS = 8000, 16  # a smaller training set: the lab builds in a blink
IMAGE_DOT, TEXT_DOT = (255, 170, 60), (90, 200, 255)
DEFAULT_QUERY = "a big blue cross"
CLOUD = (40, 24)  # the gap view's scatter, pixels (width, height)


def thumbnails(images: np.ndarray, bg=BG) -> np.ndarray:
    """(N, 16, 16, 3) in [0, 1] -> one uint8 strip (THUMB, N * STEP - GUTTER, 3): the
    sprites side by side, a gutter of `bg` between them (one text cell per pixel column,
    so a sprite and the numbers under it share STEP columns)."""
    x = np.asarray(images, np.float32)
    n = len(x)
    f = x.shape[1] // THUMB
    small = x.reshape(n, THUMB, f, THUMB, f, 3).mean(axis=(2, 4))
    return tile_grid(small, cols=n, bg=bg)


def cell_style(value: float) -> str:
    """Background for a cosine in [-1, 1]: dark blue (low) to bright yellow (high)."""
    t = min(max((value + 0.2) / 1.0, 0.0), 1.0)
    r, g, b = int(30 + 225 * t), int(30 + 200 * t), int(90 - 60 * t)
    fg = "black" if t > 0.55 else "white"
    return f"{fg} on rgb({r},{g},{b})"


def matrix_text(sim: np.ndarray, captions: list[str], width: int = 54) -> Text:
    """Rows: captions (numbered), columns: sprites; each cell the cosine, coloured, under
    its sprite (THUMB columns, then the gutter's column)."""
    text = Text("sprites →  (◆ marks each sprite's own caption)\n")
    n = sim.shape[1]
    for j in range(sim.shape[0]):
        for i in range(n):
            value = float(sim[j, i])
            mark = "◆" if i == j else " "
            text.append(f"{value:+.2f}{mark}"[: THUMB - 1].rjust(THUMB - 1) + " ", style=cell_style(value))
            text.append(" " * GUTTER if i < n - 1 else "")
        text.append(f"{j + 1}\n")
    for j, caption in enumerate(captions):
        text.append(f"{j + 1} {caption}"[:width] + "\n")
    return text


class QueryInput(Input):
    """The caption / template box: Enter or Escape hands the keys back to the lab."""

    BINDINGS = [Binding("escape", "done", "Done", show=False)]

    def action_done(self) -> None:
        self.screen.query_one("#knobs", KnobPanel).focus()


HELP = f"""
Two encoders: one turns a **sprite** into a vector, one turns a **caption** into a
vector of the same size. Both vectors are scaled to length 1, so the **cosine** of two of
them (−1 … +1) says how well a caption fits a picture.

**matrix** (m): {PAIRS} sprites across the top, their captions (rows 1–{PAIRS}, listed
below) down the side. Each cell is a cosine; ◆ marks the true pairs. Training (space)
pushes every sprite towards its own caption and away from the others in the batch: the
**contrastive loss**. Watch the ◆ diagonal light up while the rest goes dark.

**temperature** (t): the similarities are divided by it before the softmax of the loss.
"learned" lets training choose it (CLIP starts at 0.07); a fixed 1.0 makes the loss too
soft to separate anything, 0.01 very sharp. **batch** (b): pairs per step; each caption
is compared with every sprite in the batch, so bigger batches mean more negatives.

**search**: type a caption with **/**; the five closest of {POOL} fresh sprites appear
with their cosines. **p** picks a sprite; the captions it is closest to are listed.

**zero-shot**: label {POOL} fresh sprites by captions alone. For "colour" the model
compares each sprite with "a red shape", "a blue shape", … and picks the closest: no
classifier was trained. Type your own template with **/**, e.g. `a photo of a {{colour}}
thing` (slots: {{colour}} {{shape}} {{where}} {{size}}). Words the model never saw are
ignored. The supervised classifier (trained with labels) is shown for comparison.

**gap**: the mean cosine of matching pairs and of mismatched ones, and both clouds of
vectors in 2-D (orange: sprites, blue: captions). Even trained, the two clouds sit
apart: the *modality gap* real CLIP models show too.

Keys: **m** view, **t** temperature, **b** batch, **n** other sprites, **f** weights
(scratch, yours, shipped), **/** type, **p** next sprite, **space** train, **s** one step.
"""


class ClipLab(LabScreen):
    LAB_ID = "clip"
    LAB_TITLE = "CLIP: matching words and pictures"
    KERNELS = ("clip", "render")  # CLIP model, sprites and the similarity grid's drawing
    HELP_MD = HELP
    HELP_TITLE = "The CLIP lab"
    HELP = """| Key | Does |
| --- | --- |
| m / M | view: matrix, search, zero-shot, gap |
| t / T | temperature: learned or fixed |
| b / B | batch size (pairs per step) |
| n / N | another set of six sprites |
| f / F | weights: scratch, yours, shipped |
| / | type a caption (search) or a template (zero-shot) |
| p | the next sprite for sprite → captions |
| Space, s | train, one step |
"""
    CODE = (
        "engine.clip:CLIP.loss",
        "engine.clip:contrastive_loss",
        "engine.clip:CLIP._image_forward",
        "engine.clip:CLIP._text_forward",
        "engine.clip:l2_normalise",
        "engine.clip:l2_normalise_backward",
        "engine.clip:CLIP.zero_shot",
        "engine.clip:CLIP.search",
    )
    PLAY = "Train"
    STEP = "Step"
    AUTO_FOCUS = "#knobs"

    DEFAULT_CSS = """
    #clip-query { height: 1; }
    #clip-row { height: auto; }
    #clip-side-text { width: 1fr; height: auto; }
    #clip-text { height: auto; }
    """

    BINDINGS = [
        Binding(
            "slash",
            "type",
            "Type",
            id="clip.type",
            tooltip="Type a caption (search) or a prompt template (zero-shot)",
        ),
        Binding(
            "p",
            "next_sprite",
            "Sprite",
            id="clip.sprite",
            show=False,
            tooltip="Pick the next sprite for sprite → captions",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.caption_query = DEFAULT_QUERY
        self.templates: dict[str, list[str]] = {}
        self.picked = 0
        self.pool = None
        self.pairs = None
        self.pair_captions: list[str] = []
        self.candidates: list[str] = []
        self.last_frame: dict = {}

    def knobs(self) -> list[Knob]:
        weights = self.weights_knob("f")
        weights.index = weights.values.index("scratch")
        return [
            Knob("view", "View", VIEWS, key="m", help="Matrix, search, zero-shot or the gap"),
            Knob(
                "temperature",
                "Temperature",
                TEMPERATURES,
                key="t",
                fmt=lambda v: str(v),
                help="Softmax temperature of the loss (learned or fixed)",
            ),
            Knob(
                "batch",
                "Batch (pairs)",
                BATCHES,
                index=BATCHES.index(128),
                key="b",
                help="Sprite-caption pairs per training step",
            ),
            Knob(
                "pairs", "Sprite set", list(range(1, 11)), key="n", help="Which six sprites the matrix shows"
            ),
            weights,
        ]

    def compose_lab(self) -> ComposeResult:
        yield QueryInput(
            self.caption_query, id="clip-query", compact=True, placeholder="/ to type a caption or a template"
        )
        with Horizontal(id="clip-row"):
            yield PixelCanvas(id="clip-pixels")
            yield Static("", id="clip-side-text")
        yield Static("", id="clip-text")
        yield MetricSparkline("loss", fmt="{:.2f}", id="clip-loss")
        yield MetricSparkline("temp", fmt="{:.3f}", id="clip-temp")

    # -- worker -----------------------------------------------------------------------
    def build(self) -> None:
        from engine import captions as C
        from engine import clip, images
        from engine.weights import WeightsError

        model = None
        path = self.weights_file("clip_sprites.npz")
        if path is not None:
            try:
                model = clip.CLIP.load(path)
            except WeightsError as exc:
                self.weights_label = "weights: untrained"
                self.tell(
                    f"{exc}. Training from scratch instead (genai-tutor train clip makes your own).",
                    "warning",
                )
        if model is None:
            model = clip.CLIP(clip.ClipConfig(seed=self.seed, train_n=LAB_TRAIN_N, captions=LAB_CAPTIONS))
        self.model = model
        self._apply_knobs()
        self.pool = images.sprites(POOL, 7)
        self._load_pairs()
        rng = np.random.default_rng(3)
        extra, _ = C.random_captions(
            clip.sprite_attributes(images.sprites(24, 8)), rng, templates=C.TRAIN_TEMPLATES[:1]
        )
        self.candidates = list(dict.fromkeys(self.pair_captions + extra))

    def _apply_knobs(self) -> None:
        temperature = self.knob_value("temperature")
        self.model.set_temperature(None if temperature == "learned" else float(temperature))
        self.model.set_batch(int(self.knob_value("batch")))

    def _load_pairs(self) -> None:
        from engine import clip

        self.pairs, self.pair_captions = clip.display_batch(PAIRS, int(self.knob_value("pairs")))

    def advance(self) -> dict:
        out = self.model.train(STEPS_PER_WORK)
        return {
            "loss": out["loss"],
            "temperature": out["temperature"],
            "steps": STEPS_PER_WORK,
            **({"diverged": True} if out.get("diverged") else {}),
        }

    def release_lab(self) -> None:
        self.pool = self.pairs = None

    def view(self, metrics: dict) -> dict:
        m = self.model
        if m is None or self.pairs is None:
            return dict(metrics)
        view = self.knob_value("view")
        frame = dict(metrics, view=view, temp_now=m.temperature)
        if view == "matrix":
            frame["strip"] = self.pairs.images
            frame["sim"] = m.encode_texts(self.pair_captions) @ m.encode_images(self.pairs.images).T
            frame["captions"] = list(self.pair_captions)
        elif view == "search":
            frame.update(self._search())
        elif view == "zero-shot":
            frame.update(self._zero_shot())
        else:
            frame.update(self._gap())
        return frame

    def _search(self) -> dict:
        from engine import captions as C

        out: dict = {"query": self.caption_query, "unknown": C.unknown_words(self.caption_query)}
        if C.tokenize(self.caption_query):
            top, cos = self.model.search(self.caption_query, self.pool.images, n=5)
            out["strip"], out["cosines"] = self.pool.images[top], cos
            out["found"] = [self.pool.captions[i] for i in top]
        i = self.picked % len(self.pool)
        order, cos = self.model.rank_texts(self.pool.images[i], self.candidates)
        out["picked"], out["picked_caption"] = self.pool.images[i], self.pool.captions[i]
        out["ranked"] = [(self.candidates[j], float(c)) for j, c in zip(order[:3], cos[:3])]
        return out

    def _zero_shot(self) -> dict:
        from engine import clip, image_metrics
        from engine.weights import WeightsError

        templates = {
            name: tuple(clip.ZERO_SHOT_TEMPLATES[name][:1]) + tuple(self.templates.get(name, ()))
            for name in ("colour", "shape", "position", "size")
        }
        zs = self.model.zero_shot(self.pool.images, clip.sprite_attributes(self.pool), templates)
        out: dict = {"zero_shot": {name: zs[name]["per_template"] for name in zs}}
        try:
            s, _, c, _ = image_metrics.shipped_classifier().predict(self.pool.images)
            out["supervised"] = {
                "shape": float(np.mean(s == self.pool.shape)),
                "colour": float(np.mean(c == self.pool.colour)),
            }
        except WeightsError:
            out["supervised"] = None
        return out

    def _gap(self) -> dict:
        from engine import captions as C
        from engine import clip

        attrs = clip.sprite_attributes(self.pool)
        texts = [C.describe(*a, C.TRAIN_TEMPLATES[0])[0] for a in attrs]
        gap = self.model.modality_gap(self.pool.images, texts, C.match_matrix(attrs, attrs))
        u, v = self.model.encode_images(self.pool.images), self.model.encode_texts(texts)
        pu, pv = clip.project_2d(u, v)
        return {"gap": gap, "cloud_images": pu, "cloud_texts": pv}

    # -- UI ---------------------------------------------------------------------------
    def draw(self, frame: dict) -> None:
        if "view" not in frame:
            return
        self.last_frame = frame
        pixels = self.query_one("#clip-pixels", PixelCanvas)
        side = self.query_one("#clip-side-text", Static)
        text = self.query_one("#clip-text", Static)
        view = frame["view"]
        if view == "matrix":
            pixels.update_pixels(thumbnails(frame["strip"], self.canvas_bg))
            side.update("")
            text.update(matrix_text(frame["sim"], frame["captions"]))
        elif view == "search":
            self._draw_search(frame, pixels, side, text)
        elif view == "zero-shot":
            self._draw_zero_shot(frame, pixels, side, text)
        else:
            self._draw_gap(frame, pixels, side, text)
        if "loss" in frame:
            self.query_one("#clip-loss", MetricSparkline).push(frame["loss"])
            self.query_one("#clip-temp", MetricSparkline).push(frame["temperature"])

    def headline(self, frame: dict) -> str:
        loss = self.query_one("#clip-loss", MetricSparkline).data
        temp = self.query_one("#clip-temp", MetricSparkline).data
        parts = [frame.get("view", "")]
        if loss:
            parts.append(f"loss {loss[-1]:.2f}")
        if temp:
            parts.append(f"temp {temp[-1]:.3f}")
        return "  ".join(p for p in parts if p)

    def _draw_search(self, frame: dict, pixels: PixelCanvas, side: Static, text: Static) -> None:
        out = Text()
        if "strip" in frame:
            bg = self.canvas_bg
            found, picked = thumbnails(frame["strip"], bg), thumbnails(frame["picked"][None], bg)
            gap = np.empty((THUMB, 1 + GUTTER, 3), np.uint8)  # a wider gap before the picked one
            gap[:] = bg
            pixels.update_pixels(np.concatenate([found, gap, picked], axis=1))
            out.append(" ".join(f"{c:+.2f}".rjust(THUMB) for c in frame["cosines"]) + "  ← picked (p)\n")
            out.append(f"1st: {frame['found'][0]}\n")
        else:
            pixels.update_pixels(thumbnails(frame["picked"][None], self.canvas_bg))
            out.append("no known word to search for\n", style="bold")
        if frame["unknown"]:
            out.append(f"ignored (unknown): {', '.join(frame['unknown'])}\n", style="yellow")
        out.append(f"\nsprite (p), really: {frame['picked_caption']}\n")
        for caption, cos in frame["ranked"]:
            out.append(f"  {cos:+.2f} {caption}\n")
        side.update("")
        text.update(out)

    def _draw_zero_shot(self, frame: dict, pixels: PixelCanvas, side: Static, text: Static) -> None:
        pixels.update_pixels(np.full((2, 1, 3), self.canvas_bg, np.uint8))
        side.update("")
        out = Text(f"{POOL} fresh sprites, labelled by captions alone:\n", style="bold")
        for name, per in frame["zero_shot"].items():
            for template, acc in per.items():
                out.append(f"{name:9s}{acc:6.0%}  {template}\n")
        sup = frame.get("supervised")
        if sup:
            out.append(f"supervised classifier: shape {sup['shape']:.0%}, colour {sup['colour']:.0%}\n")
        out.append("/ adds a template, e.g. a photo of a {colour} thing\n")
        text.update(out)

    def _draw_gap(self, frame: dict, pixels: PixelCanvas, side: Static, text: Static) -> None:
        from engine import render

        w, h = CLOUD
        buf = render.canvas(h, w, self.canvas_bg)
        both = np.concatenate([frame["cloud_images"], frame["cloud_texts"]])
        lim = float(np.abs(both).max()) * 1.05 + 1e-6
        extent = (-lim, lim, -lim, lim)
        render.scatter(buf, frame["cloud_images"], IMAGE_DOT, extent)
        render.scatter(buf, frame["cloud_texts"], TEXT_DOT, extent)
        pixels.update_pixels(buf)
        side.update(
            Text.assemble(
                ("●", "rgb({},{},{})".format(*IMAGE_DOT)),
                " sprites\n",
                ("●", "rgb({},{},{})".format(*TEXT_DOT)),
                " captions",
            )
        )
        gap = frame["gap"]
        text.update(
            Text(
                f"mean cosine, matching pairs   {gap['matching']:+.2f}\n"
                f"mean cosine, mismatched pairs {gap['mismatched']:+.2f}\n"
                f"distance between the centres  {gap['centre_distance']:.2f}"
            )
        )

    # -- actions ----------------------------------------------------------------------
    def action_type(self) -> None:
        box = self.query_one("#clip-query", Input)
        if self.knob_value("view") == "zero-shot":
            box.value = ""
        box.focus()

    def action_next_sprite(self) -> None:
        self.picked += 1
        self.submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if self.knob_value("view") == "zero-shot":
            self._add_template(value)
        else:
            self.caption_query = value
            self.submit()
        self.query_one("#knobs", KnobPanel).focus()

    def _add_template(self, template: str) -> None:
        slots = {"colour": "{colour}", "shape": "{shape}", "position": "{where}", "size": "{size}"}
        found = [name for name, slot in slots.items() if slot in template]
        if len(found) != 1:
            self.notice("a template needs exactly one slot: {colour}, {shape}, {where} or {size}", "warning")
            return
        self.templates.setdefault(found[0], []).append(template)
        self.submit()

    def on_knob(self, knob: Knob) -> None:
        if knob.resets:
            self.action_reset()
        elif knob.name in ("temperature", "batch"):
            self.submit(lambda: self._apply_knobs() if self.model is not None else None)
        elif knob.name == "pairs":
            self.submit(lambda: self._load_pairs() if self.model is not None else None)
        else:
            self.submit()
