"""L11 lab `metrics`: measure every sprite family side by side, then look for yourself.

Four views (key m): the **table** (FID-lite, precision, recall, attribute accuracy,
CLIPScore-lite, nearest-training distance and copies for the GAN, the VAE, diffusion
with DDPM and DDIM, and fresh real sprites as the bar), with FID-lite of real sprites at
each sample count under it (its small-sample bias); **copies** (the samples closest to a
training sprite beside that sprite, with the distance; c plants a training sprite among
the samples and the check catches it); **text** (the language model's perplexity on
held-out, shuffled and other-domain text); **rate** (rate 12 samples 1-5 and see how
each metric's ranking agrees with yours). Every number comes from engine.evaluation,
the code `genai-tutor evaluate` runs, so the two agree.

Play ("Measure") draws the samples a chunk at a time and then measures, one figure per
step, so leaving or changing a knob never waits long.
"""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tutor.labs.base import Knob, LabScreen
from tutor.widgets.pixels import PixelCanvas

VIEWS = ["table", "copies", "text", "rate"]
SIZES = [32, 64, 128, 256, 512]
SHOWN_COPIES = 3  # sample / nearest training pairs in the copies view
RATINGS = 12
BG = (16, 16, 24)
COPY = (255, 80, 80)
SHORT = {"gan": "GAN", "vae": "VAE", "ddpm": "DDPM", "ddim": "DDIM", "real": "real"}


def _fmt(value, spec: str, width: int) -> str:
    return f"{'—':>{width}}" if value is None else f"{value:{width}{spec}}"


def table_text(
    rows: list[dict], curve: list[tuple[int, float]], family_curve: list[tuple[int, float]], family: str
) -> str:
    """The table view's text (53 columns at most)."""
    lines = ["family  FID-lite prec  rec attr  CLIP  near cp"]
    for r in rows:
        lines.append(
            f"{SHORT[r['family']]:<7} {r['fid_lite']:8.4f} {r['precision']:4.2f} "
            f"{r['recall']:4.2f} {r['attribute_accuracy']:4.2f} "
            f"{_fmt(r['clipscore'], '.1f', 5)} {r['nearest_train_median']:5.3f} {r['copies']:2d}"
        )
    lines.append(f"n = {rows[0]['n']} each. Lower FID-lite is better;")
    lines.append("real sprites are the bar a perfect model meets.")
    lines.append("FID-lite by n (the truth for real sprites is ~0):")
    lines.append("real  " + " ".join(f"{m}:{v:.3f}" for m, v in curve))
    if family != "real":
        lines.append(f"{SHORT[family]:<5} " + " ".join(f"{m}:{v:.3f}" for m, v in family_curve))
    models = [r for r in rows if r["family"] != "real"]
    lines.append("")
    lines.append("families, best first:")
    for label, key, sign in (
        ("FID-lite", "fid_lite", 1),
        ("precision", "precision", -1),
        ("attributes", "attribute_accuracy", -1),
    ):
        ranked = sorted(models, key=lambda r: (sign * r[key], r["family"]))
        lines.append(f"  by {label:<11}" + " ".join(SHORT[r["family"]] for r in ranked))
    lines.append("m: copies, text, rate · n: samples (space measures)")
    return "\n".join(lines)


def text_panel(text: dict, vocab: int) -> str:
    names = {"held_out": "held-out text", "shuffled": "words shuffled", "other_domain": "another domain"}
    lines = ["The language model's perplexity: how surprised", "it is per word (lower: less surprised).", ""]
    for key, label in names.items():
        t = text[key]
        lines.append(f"{label:<15} {t['perplexity']:8.1f}  {t['words']:>6} words, {t['unknown']:.0%} unknown")
    lines += [
        "",
        f"A model that knew nothing would score {vocab:,}",
        "(its vocabulary). Shuffled words break every",
        "pattern it learned; sailing, chess and gardening",
        "use words it never saw (they become <unk>).",
    ]
    if text["shuffled"]["perplexity"] > vocab:
        lines += [
            "Shuffled text scores worse than knowing nothing:",
            "the model is sure of the wrong next word.",
        ]
    return "\n".join(lines)


class MetricsLab(LabScreen):
    LAB_ID = "metrics"
    LAB_TITLE = "Measuring generated samples"
    PLAY = "Measure"
    # every family it samples and scores
    KERNELS = ("image_gan", "vae", "diffusion", "image_metrics", "clip", "lm", "render")
    STEP = "Step"
    CODE = (
        "engine.evaluation:Evaluator.row",
        "engine.image_metrics:fid_lite",
        "engine.image_metrics:frechet_distance",
        "engine.image_metrics:precision_recall",
        "engine.image_metrics:manifold_share",
        "engine.image_metrics:knn_radii",
        "engine.image_metrics:memorisation",
        "engine.image_metrics:nearest_neighbours",
        "engine.evaluation:Evaluator.clipscore",
        "engine.evaluation:Evaluator.per_sample",
        "engine.metrics:spearman",
        "engine.metrics:average_ranks",
        "engine.evaluation:perplexity",
        "engine.evaluation:plant_copy",
    )
    HELP_MD = """
Four families drew sprites from the same training set: the **GAN**, the **VAE**, and
**diffusion** sampled two ways (**DDPM**, stochastic, 100 steps; **DDIM**, deterministic,
50 steps). **real** is fresh sprites from the same recipe: the bar a perfect model meets.
Space measures (it draws the samples a chunk at a time, then computes each figure).

**table** (m switches the view):
- **FID-lite**: the Fréchet distance between Gaussians fitted to features of the training
  sprites and of the samples. Lower is better. With few samples it is biased upwards:
  turn **n** down and watch even real sprites get worse; compare only equal n.
- **prec / rec**: precision and recall on k-nearest-neighbour manifolds (k = 3). A sample
  is *precise* when it falls inside some real sprite's ball (reaching its 3rd nearest real
  neighbour); recall swaps the roles: the share of real sprites inside the samples' balls.
- **attr**: share of samples the sprite classifier recognises (shape and colour, ≥ 80 %).
- **CLIP**: CLIPScore-lite, 100 × cosine of a sample and its prompt in the tiny CLIP's
  space; only diffusion (told what to draw) and real sprites have a prompt.
- **near / cp**: median distance to the nearest training sprite, and copies (< 0.004).

**w** (Weights): "yours" measures your own image GAN, VAE and diffusion model where you
have trained them (`genai-tutor train image-gan`, `train vae`, `train diffusion`, each
with `--dataset sprites`); the status line says which are yours.

**copies**: the samples of the family (f) closest to a training sprite, each beside it,
with the distance. **c** plants a training sprite among the samples: watch it get caught.

**text**: the language model's perplexity on held-out paragraphs, on the same words
shuffled, and on another domain.

**rate**: rate 12 samples **1**–**5** (backspace goes back one). Then see Spearman's rank
correlation between your ratings and each metric's per-sample score: +1 means it orders
them exactly as you did, 0 not at all.
"""

    DEFAULT_CSS = """
    #metrics-pics { height: auto; }
    #metrics-text { height: 1fr; }
    """

    BINDINGS = [
        Binding(
            "c",
            "plant_copy",
            "Plant copy",
            id="metrics.plant",
            tooltip="Plant a training sprite among the samples (copies view)",
        ),
        *[
            Binding(
                str(k),
                f"rate({k})",
                f"Rate {k}",
                id=f"metrics.rate{k}",
                show=False,
                tooltip=f"Rate the sample {k} (1 bad … 5 great)",
            )
            for k in range(1, 6)
        ],
        Binding(
            "backspace",
            "unrate",
            "Back one",
            id="metrics.unrate",
            show=False,
            tooltip="Go back to the previous sample to rate it again",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ratings: list[int] = []
        self.planted: dict[str, list[tuple[int, int]]] = {}
        """Per family: (sample position, seed of the training sprite planted there)."""
        self._results: dict = {}

    def knobs(self) -> list[Knob]:
        from engine.evaluation import ROWS

        return [
            Knob("view", "View", VIEWS, key="m", help="Table, copies, text or rate"),
            Knob(
                "n",
                "Samples n",
                SIZES,
                index=SIZES.index(128),
                key="n",
                help="Samples per family: FID-lite is biased when n is small",
            ),
            Knob(
                "weights",
                "Weights",
                ["yours", "shipped"],
                key="w",
                resets=True,
                help="Measure your own GAN, VAE and diffusion model (genai-tutor train) "
                "where you have them, or the shipped ones",
            ),
            Knob(
                "family",
                "Family (copies)",
                list(ROWS),
                index=ROWS.index("ddim"),
                key="f",
                fmt=lambda v: SHORT[v],
                help="Whose samples the copies view checks",
            ),
        ]

    def compose_lab(self) -> ComposeResult:
        yield PixelCanvas(id="metrics-pics")
        yield Static("", id="metrics-text")

    # -- worker -----------------------------------------------------------------------
    def build(self) -> None:
        from content import paths
        from engine.evaluation import OWN_WEIGHTS, Evaluator

        files = {}
        if self.knob_value("weights") == "yours":
            for model, name in OWN_WEIGHTS.items():
                path, which = paths.weights_for(name, prefer="yours")
                if which == "yours":
                    files[model] = path
        if files:
            self.weights_label = f"weights: yours ({', '.join(files)}), the rest shipped"
        else:
            mine = self.knob_value("weights") == "yours"
            self.weights_label = "weights: shipped" + (" (you have none)" if mine else "")
        self.model = Evaluator(files)
        self._results = {}
        self.planted = {}

    def release_lab(self) -> None:
        self._results = {}

    def _next_task(self):
        """The next piece of work for the current knobs, or None when all is measured."""
        from engine import evaluation as E

        ev, n, seed = self.model, int(self.knob_value("n")), self.seed
        for family in E.ROWS:
            if ev.needs(family, n, seed):
                return f"sampling {E.NAMES[family]}", lambda f=family: ev.grow_once(f, seed)
        rows = self._results.setdefault(("rows", n), {})
        for family in E.ROWS:
            if family not in rows:

                def measure(f: str = family) -> None:
                    rows[f] = ev.row(f, n, seed)

                return f"measuring {E.NAMES[family]}", measure
        for name in E.TEXTS:
            if not ev.has_text(name):
                return f"perplexity: {name.replace('_', ' ')}", lambda t=name: ev.text(t)
        if "rating" not in self._results:

            def scores():
                images, families = E.rating_set(ev, seed)
                self._results["rating"] = (images, families, ev.per_sample(images, n, seed))

            return "scores to rate against", scores
        return None

    def advance(self) -> dict:
        if self.model is None:
            return {"steps": 0}
        task = self._next_task()
        if task is None:
            self.playing = False
            return {"steps": 0}
        label, work = task
        work()
        following = self._next_task()
        if following is None:
            self.playing = False
            self.tell("measured: every figure is up to date")
        return {"steps": 1, "working": label if following is None else following[0]}

    def view(self, metrics: dict) -> dict:
        """Worker: everything the current view shows."""
        from engine import evaluation as E
        from engine import image_metrics as im

        ev = self.model
        if ev is None:
            return dict(metrics)
        n, seed, view = int(self.knob_value("n")), self.seed, self.knob_value("view")
        family = self.knob_value("family")
        frame = dict(metrics, view=view, n=n, family=family)
        s = ev.sample_set(family, seed)
        frame["progress"] = {f: min(len(ev.sample_set(f, seed)), n) for f in E.ROWS}
        rows = self._results.get(("rows", n), {})
        if view == "table" and len(rows) == len(E.ROWS):
            frame["rows"] = [rows[f] for f in E.ROWS]
            sizes = [m for m in SIZES if m <= n]
            frame["curve"] = ev.fid_curve("real", sizes, seed)
            frame["family_curve"] = ev.fid_curve(family, sizes, seed) if family != "real" else []
        elif view == "copies" and len(s) >= n:
            images = s.images[:n]
            planted = [(p, sd) for p, sd in self.planted.get(family, []) if p < n]
            for p, sd in planted:
                images, _ = E.plant_copy(images, ev.train, p, sd)
            key = ("memorisation", family, n, tuple(planted))
            if key not in self._results:
                self._results[key] = im.memorisation(images, ev.train)
            mem = self._results[key]
            order = np.argsort(mem["distance"], kind="stable")[:SHOWN_COPIES]
            frame.update(
                pairs=[
                    (
                        images[j],
                        ev.train[mem["index"][j]],
                        float(mem["distance"][j]),
                        bool(mem["copy"][j]),
                        int(j),
                    )
                    for j in order
                ],
                copies=mem["copies"],
                planted=len(planted),
                caught=sum(bool(mem["copy"][p]) for p, _ in planted),
            )
        elif view == "text" and all(ev.has_text(t) for t in E.TEXTS):
            frame["text"] = ev.text_table()
            frame["vocab"] = ev.vocab_size()
        elif view == "rate" and "rating" in self._results:
            images, families, scores = self._results["rating"]
            frame.update(rate_images=images, rate_families=families, ratings=list(self.ratings))
            if len(self.ratings) == RATINGS:
                frame["agreement"] = E.agreement(self.ratings, scores)
        return frame

    # -- UI ---------------------------------------------------------------------------
    def draw(self, frame: dict) -> None:
        from engine import evaluation as E
        from engine import render

        if "view" not in frame:
            return
        canvas = self.query_one("#metrics-pics", PixelCanvas)
        text = self.query_one("#metrics-text", Static)
        view = frame["view"]
        pics = None
        if view == "table" and "rows" in frame:
            body = table_text(frame["rows"], frame["curve"], frame["family_curve"], frame["family"])
        elif view == "copies" and "pairs" in frame:
            pics, body = self._copies_view(frame)
        elif view == "text" and "text" in frame:
            body = text_panel(frame["text"], frame["vocab"])
        elif view == "rate" and "rate_images" in frame:
            pics, body = self._rating_view(frame)
        else:
            done = frame["progress"]
            body = "\n".join(
                [f"Not measured yet for n = {frame['n']}: space measures.", ""]
                + [f"{E.NAMES[f]:<15} {done[f]:4d}/{frame['n']} samples" for f in E.ROWS]
                + (["", f"now: {frame['working']}"] if frame.get("working") else [])
            )
        canvas.display = pics is not None
        if pics is not None:
            canvas.update_pixels(render.quantize(pics, 16 if self.wire.low_bandwidth else 32))
        text.update(body)

    def _copies_view(self, frame: dict) -> tuple[np.ndarray, str]:
        from engine import render

        pairs = frame["pairs"]
        tiles = [p[0] for p in pairs] + [p[1] for p in pairs]
        buf = render.image_grid(np.stack(tiles), cols=len(pairs), pad=1, pad_color=BG)[:-1]
        step = 17  # a 16-pixel sprite and a 1-pixel gap
        for k, (*_, is_copy, _j) in enumerate(pairs):
            if is_copy:  # a red frame around a caught copy
                x0 = k * step
                buf[0, x0 : x0 + step + 1] = buf[step, x0 : x0 + step + 1] = COPY
                buf[0 : step + 1, x0] = buf[0 : step + 1, x0 + step] = COPY
        dist = "".join(f"{p[2]:.4f}{' COPY' if p[3] else ''}".ljust(step) for p in pairs)
        lines = [
            " " + dist.rstrip(),
            f"top: the {SHORT[frame['family']]} samples nearest a training sprite;",
            "below: that sprite. Copies are closer than 0.004.",
            f"copies among the {frame['n']} samples: {frame['copies']}",
            f"planted {frame['planted']}, caught {frame['caught']}"
            if frame["planted"]
            else "c: plant a training sprite among them",
        ]
        return buf, "\n".join(lines)

    def _rating_view(self, frame: dict) -> tuple[np.ndarray | None, str]:
        from engine import evaluation as E
        from engine import render

        ratings, images = frame["ratings"], frame["rate_images"]
        if len(ratings) < RATINGS:
            k = len(ratings)
            buf = render.upscale(render.image_grid(images[k : k + 1], cols=1, pad=0), 2)
            lines = [
                f"sample {k + 1} of {RATINGS}: how good is it?",
                "1 broken … 3 so-so … 5 a perfect sprite",
                "your ratings: " + " ".join(str(r) for r in ratings),
            ]
            return buf, "\n".join(lines)
        agree = frame["agreement"]
        lines = ["Spearman's ρ between your ratings and:"]
        for key, name in E.METRIC_NAMES.items():
            rho = agree[key]
            lines.append(f"  {name:<30} {'—' if np.isnan(rho) else f'{rho:+.2f}'}")
        by_family = {
            f: [r for r, g in zip(ratings, frame["rate_families"], strict=True) if g == f] for f in E.FAMILIES
        }
        lines += [
            "+1: same order as you; 0: unrelated; —: all",
            "your ratings equal. Your mean rating per family:",
            "  ".join(f"{SHORT[f]} {np.mean(r):.1f}" for f, r in by_family.items()),
            "backspace: rate the last one again",
        ]
        small = np.asarray(images, np.float32).reshape(len(images), 8, 2, 8, 2, 3).mean(axis=(2, 4))
        buf = render.image_grid(small, cols=RATINGS // 2, pad=1, pad_color=BG)[1:-1, 1:-1]
        return buf, "\n".join(lines)

    # -- actions ----------------------------------------------------------------------
    def on_knob(self, knob: Knob) -> None:
        if knob.name == "n":
            self.ratings = []
            self._results.pop("rating", None)
            self.playing = self.autoplay or self.playing
        self.submit()

    def action_plant_copy(self) -> None:
        family = self.knob_value("family")
        n = int(self.knob_value("n"))

        def plant() -> dict:
            from engine import evaluation as E

            if self.model is None:
                return {}
            planted = self.planted.setdefault(family, [])
            taken = {p for p, _ in planted}
            rng = np.random.default_rng(E.chunk_seed(self.seed, 20_000 + len(planted)))
            position = int(rng.choice([p for p in range(n) if p not in taken]))
            plant_seed = E.chunk_seed(self.seed, 30_000 + len(planted))
            _, index = E.plant_copy(self.model.train[:1], self.model.train, 0, plant_seed)
            planted.append((position, plant_seed))
            return {"planted_at": position, "train_index": index}

        self.knob("view").select("copies")
        self.query_one("#knobs").redraw()
        self.submit(
            plant,
            then=lambda r: (
                self.notice(f"planted training sprite {r['train_index']} as sample {r['planted_at']}")
                if r
                else None
            ),
        )

    def action_rate(self, score: int) -> None:
        if self.knob_value("view") != "rate":
            self.knob("view").select("rate")
            self.query_one("#knobs").redraw()
            self.submit()
            return
        if "rating" not in self._results:
            self.notice("measure first (space), then rate")
            return
        if len(self.ratings) < RATINGS:
            self.ratings.append(int(score))
        self.submit()

    def action_unrate(self) -> None:
        if self.ratings:
            self.ratings.pop()
        self.submit()
