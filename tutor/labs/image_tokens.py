"""L08 lab `image-tokens`: a picture cut into patches becomes a sequence of tokens.

The sprite (n picks another, / fetches one by caption with the tiny CLIP) is shown
magnified with its patch grid; one patch is highlighted and walks through the grid in
reading order (space plays the walk, s steps it). Beside it: that patch's **token vector**
(its pixels unrolled, the numbers a linear patch embedding reads; at patch size 4 also
the 64 numbers the trained CLIP turns them into) and the caption words that patch is most
similar to. Below: the whole input sequence as a multimodal language model receives it,
[image tokens][text tokens], and the token arithmetic of real models.
"""

from __future__ import annotations

import time

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from tutor.labs.base import Knob, KnobPanel, LabScreen
from tutor.labs.imaging import blend
from tutor.widgets.pixels import PixelCanvas

PATCHES = [2, 4, 8]
SPRITES = 12  # the sprites n steps through
SEQ_ROW = 32  # image tokens per row of the sequence strip
WALK_WAIT = 0.35  # seconds between patches while walking
GRID = (60, 60, 76)
HIGHLIGHT = (255, 70, 70)
BG = (16, 16, 24)
CLIP_PATCH = 4  # the patch size the shipped CLIP was trained with
WORDS = (
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "circle",
    "square",
    "triangle",
    "diamond",
    "cross",
    "heart",
    "small",
    "large",
    "left",
    "right",
    "top",
    "bottom",
    "centre",
)


def grid_picture(image: np.ndarray, patch: int, highlight: int, line=GRID) -> np.ndarray:
    """The sprite with a 1-pixel line (colour `line`) between patches; the highlighted
    patch's frame red."""
    side = image.shape[0]
    g = side // patch
    step = patch + 1
    pix = (np.clip(image, 0, 1) * 255).astype(np.uint8)
    out = np.full((g * step + 1, g * step + 1, 3), line, np.uint8)
    for r in range(g):
        for c in range(g):
            out[r * step + 1 : r * step + 1 + patch, c * step + 1 : c * step + 1 + patch] = pix[
                r * patch : (r + 1) * patch, c * patch : (c + 1) * patch
            ]
    r, c = divmod(highlight, g)
    top, left = r * step, c * step
    out[top, left : left + step + 1] = HIGHLIGHT
    out[top + step, left : left + step + 1] = HIGHLIGHT
    out[top : top + step + 1, left] = HIGHLIGHT
    out[top : top + step + 1, left + step] = HIGHLIGHT
    return out


def vector_strip(values: np.ndarray, width: int = 48) -> np.ndarray:
    """A token vector as one row of colour cells: blue negative, black 0, yellow positive."""
    v = np.asarray(values, np.float32).ravel()[:width]
    scale = float(np.abs(v).max()) or 1.0
    t = np.clip(v / scale, -1, 1)[None, :, None]
    pos = np.array([255, 220, 60], np.float32)
    neg = np.array([70, 130, 255], np.float32)
    rgb = np.where(t >= 0, t * pos, -t * neg)
    return np.repeat(rgb.astype(np.uint8), 2, axis=0)


def pixel_strip(patch_pixels: np.ndarray, width: int = 48) -> np.ndarray:
    """A raw patch (k, k, 3) unrolled row by row into one strip of its pixels' colours."""
    flat = np.asarray(patch_pixels, np.float32).reshape(-1, 3)[:width]
    return np.repeat((np.clip(flat, 0, 1) * 255).astype(np.uint8)[None], 2, axis=0)


def sequence_strip(patch_means: np.ndarray, highlight: int, bg=BG) -> np.ndarray:
    """Image tokens in reading order, SEQ_ROW per row, each one cell of its mean colour
    (the rest of the last row is the background `bg`)."""
    n = len(patch_means)
    rows = -(-n // SEQ_ROW)
    out = np.full((rows * 2, min(n, SEQ_ROW), 3), bg, np.uint8)
    colours = (np.clip(patch_means, 0, 1) * 255).astype(np.uint8)
    for i in range(n):
        r, c = divmod(i, SEQ_ROW)
        out[2 * r, c] = HIGHLIGHT if i == highlight else colours[i]
        out[2 * r + 1, c] = colours[i]
    return out


def arithmetic_text(patch: int, side: int = 16) -> str:
    """The token count here and for real vision encoders (224 x 224 pictures)."""
    from engine import clip

    here = clip.image_tokens(side, patch)
    t16, t14 = clip.image_tokens(224, 16), clip.image_tokens(224, 14)
    return (
        f"{side}×{side} at patch {patch}: {here} tokens of {patch * patch * 3} numbers.\n"
        f"A 224×224 photo: patch 16 → {t16} tokens, patch 14 → {t14};\n"
        f"ten photos at patch 14 fill {10 * t14:,} tokens of context."
    )


class FetchInput(Input):
    """The caption box: Enter or Escape hands the keys back to the lab."""

    BINDINGS = [Binding("escape", "done", "Done", show=False)]

    def action_done(self) -> None:
        self.screen.query_one("#knobs", KnobPanel).focus()


HELP = """
A language model reads **tokens**. To let it read a picture, the picture is cut into a
grid of square **patches**; each patch is unrolled into a list of numbers (its pixels,
row by row, red-green-blue) and a learned **linear patch embedding** turns that list into
one token vector. A position embedding says where in the grid the patch was.

**Left**: the sprite with its patch grid; the red square is the patch being followed.
Space walks it through the grid in reading order (s: one step).

**Right**: that patch's token vector. *pixels* is the patch unrolled (what the embedding
reads); at patch size 4 the row below is the 64 numbers the trained CLIP image encoder
makes of it (yellow positive, blue negative). *closest words*: which caption words
that single patch is most similar to in CLIP's shared space.

**Bottom**: the input sequence as the language model receives it: the image tokens in
reading order (one cell each, its mean colour; the red cell is the patch being
followed), then the text tokens. Its attention can then link any word to any patch.

**Patch size** (k: 2, 4 or 8): smaller patches mean more tokens, finer detail and a
longer sequence; the arithmetic below shows what that costs for real 224×224 photos.

Keys: **k** patch size, **n** another sprite, **/** type a caption to fetch a sprite,
**f** CLIP weights (yours, shipped, scratch), **space** walk, **s** next patch.
"""


class ImageTokensLab(LabScreen):
    LAB_ID = "image-tokens"
    LAB_TITLE = "Image tokens: cutting a picture into patches"
    KERNELS = ("clip",)  # the CLIP model's patch tokens and closest words
    HELP_MD = HELP
    HELP_TITLE = "The image-token lab"
    HELP = """| Key | Does |
| --- | --- |
| k / K | patch size: 2, 4 or 8 pixels |
| n / N | another sprite |
| / | type a caption; CLIP fetches the best-matching sprite |
| f / F | CLIP weights: yours, shipped, scratch (none) |
| Space, s | walk the highlighted patch through the grid, one step |
"""
    CODE = (
        "engine.clip:patchify",
        "engine.clip:CLIP._image_forward",
        "engine.clip:CLIP.patch_similarity",
        "engine.clip:image_tokens",
    )
    PLAY = "Walk"
    STEP = "Next patch"
    autoplay = False
    AUTO_FOCUS = "#knobs"

    DEFAULT_CSS = """
    #tok-fetch { height: 1; }
    #tok-row { height: auto; }
    #tok-right { width: 1fr; height: auto; padding-left: 1; }
    #tok-text { height: auto; }
    """

    BINDINGS = [
        Binding(
            "slash",
            "fetch",
            "Fetch",
            id="image-tokens.fetch",
            tooltip="Type a caption; the tiny CLIP fetches the best-matching sprite",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.highlight = 0
        self._next_at = 0.0
        self.sprites = None
        self.image: np.ndarray | None = None
        self.caption = ""
        self.last_frame: dict = {}

    def knobs(self) -> list[Knob]:
        weights = self.weights_knob("f")
        weights.index = weights.values.index("shipped")
        return [
            Knob(
                "patch", "Patch size", PATCHES, index=1, key="k", help="Side of a patch in pixels: 2, 4 or 8"
            ),
            Knob(
                "sprite",
                "Sprite",
                list(range(1, SPRITES + 1)),
                key="n",
                help="Which sprite is cut into patches",
            ),
            weights,
        ]

    def compose_lab(self) -> ComposeResult:
        yield FetchInput(
            "", id="tok-fetch", compact=True, placeholder="/ to type a caption and fetch a sprite"
        )
        with Horizontal(id="tok-row"):
            yield PixelCanvas(id="tok-grid")
            with Vertical(id="tok-right"):
                yield Static("", id="tok-info")
                yield PixelCanvas(id="tok-pixels")
                yield PixelCanvas(id="tok-embed")
                yield Static("", id="tok-words")
        yield PixelCanvas(id="tok-seq")
        yield Static("", id="tok-text")

    # -- worker -----------------------------------------------------------------------
    def build(self) -> None:
        from engine import clip, images
        from engine.weights import WeightsError

        self.sprites = images.sprites(SPRITES, 13)
        self._pick(int(self.knob_value("sprite")) - 1)
        self.highlight = 0
        self.model = None
        path = self.weights_file("clip_sprites.npz")
        if path is not None:
            try:
                self.model = clip.CLIP.load(path)
            except WeightsError as exc:
                self.weights_label = "weights: none"
                self.tell(
                    f"{exc}: no closest words or fetching (genai-tutor train clip makes your own).", "warning"
                )

    def _pick(self, i: int) -> None:
        self.image = self.sprites.images[i]
        self.caption = self.sprites.captions[i]

    def advance(self) -> dict:
        """Move the highlight to the next patch; while walking, at the walk's own pace."""
        if self.playing:  # not due yet: sleep outside the lock
            wait = self._next_at - time.monotonic()
            if wait > 0:
                return {"steps": 0, "_wait": min(wait, 0.1)}
            self._next_at = time.monotonic() + WALK_WAIT
        g = 16 // int(self.knob_value("patch"))
        self.highlight = (self.highlight + 1) % (g * g)
        return {}

    def release_lab(self) -> None:
        self.sprites = self.image = None

    def view(self, metrics: dict) -> dict:
        from engine import clip

        if self.image is None:
            return dict(metrics)
        patch = int(self.knob_value("patch"))
        g = 16 // patch
        self.highlight %= g * g
        patches = clip.patchify(self.image[None], patch).reshape(g * g, patch, patch, 3)
        frame = dict(
            metrics,
            patch=patch,
            highlight=self.highlight,
            image=self.image,
            caption=self.caption,
            patch_pixels=patches[self.highlight],
            means=patches.reshape(g * g, -1, 3).mean(axis=1),
        )
        m = self.model
        if m is not None and patch == m.config.patch:
            t = m.patch_embed.forward(clip.patchify(self.image[None], patch))
            frame["embedding"] = (t + m.p["img_pos"])[self.highlight].copy()
            sim = m.patch_similarity(self.image, list(WORDS))[self.highlight]
            order = np.argsort(-sim)[:3]
            frame["words"] = [(WORDS[j], float(sim[j])) for j in order]
        return frame

    # -- UI ---------------------------------------------------------------------------
    def draw(self, frame: dict) -> None:
        from engine import captions as C

        if "image" not in frame:
            return
        self.last_frame = frame
        patch, i = frame["patch"], frame["highlight"]
        g = 16 // patch
        line = blend(self.canvas_bg, self.canvas_fg, 0.3)  # the patch lines: theme chrome
        self.query_one("#tok-grid", PixelCanvas).update_pixels(grid_picture(frame["image"], patch, i, line))
        r, c = divmod(i, g)
        self.query_one("#tok-info", Static).update(
            f"patch row {r + 1}, col {c + 1}\n→ token {i + 1} of {g * g}\n"
            f"pixels ({patch * patch * 3} numbers):"
        )
        self.query_one("#tok-pixels", PixelCanvas).update_pixels(pixel_strip(frame["patch_pixels"]))
        words = Text()
        if "embedding" in frame:
            self.query_one("#tok-embed", PixelCanvas).update_pixels(vector_strip(frame["embedding"]))
            words.append("CLIP token (64 numbers) ↑\nclosest words:\n")
            for word, cos in frame["words"]:
                words.append(f" {word} {cos:+.2f}\n")
        else:
            self.query_one("#tok-embed", PixelCanvas).update_pixels(
                np.full((2, 1, 3), self.canvas_bg, np.uint8)
            )
            words.append(f"(CLIP words: patch {CLIP_PATCH}\n and CLIP weights)\n")
        self.query_one("#tok-words", Static).update(words)
        self.query_one("#tok-seq", PixelCanvas).update_pixels(
            sequence_strip(frame["means"], i, self.canvas_bg)
        )
        text = Text()
        text.append(f"[{g * g} image tokens] ", style="bold")
        text.append(" ".join(C.words(frame["caption"])), style="italic")
        text.append(f"  ({len(C.words(frame['caption']))} text tokens)\n")
        text.append(arithmetic_text(patch))
        self.query_one("#tok-text", Static).update(text)

    def headline(self, frame: dict) -> str:
        if "patch" not in frame:
            return ""
        g = 16 // frame["patch"]
        return f"patch {frame['patch']}: token {frame['highlight'] + 1} of {g * g}"

    # -- actions ----------------------------------------------------------------------
    def action_fetch(self) -> None:
        self.query_one("#tok-fetch", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.query_one("#knobs", KnobPanel).focus()
        self.submit(lambda: self._fetch(text))

    def _fetch(self, text: str) -> dict:
        """Worker: the sprite (of 300 fresh ones) the tiny CLIP finds most similar."""
        from engine import captions as C
        from engine import images

        if self.model is None:
            self.tell("fetching needs CLIP weights (f: shipped or yours)", "warning")
            return {}
        if not C.tokenize(text):
            self.tell(f"no known word in {text!r}; try e.g. 'a big blue cross'", "warning")
            return {}
        pool = images.sprites(300, 21)
        top, _ = self.model.search(text, pool.images, n=1)
        self.image, self.caption = pool.images[top[0]], pool.captions[top[0]]
        self.highlight = 0
        return {}

    def on_knob(self, knob: Knob) -> None:
        if knob.resets:
            self.action_reset()
        elif knob.name == "sprite":
            index = int(knob.value) - 1
            self.submit(lambda: self._pick(index) if self.sprites is not None else None)
        else:
            self.submit()
