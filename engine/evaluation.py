"""The evaluation table: every sprite family measured the same way, plus perplexity.

One place computes the numbers that ``genai-tutor evaluate`` prints and the metrics lab
(L11) shows, so the two always agree. For each family that draws sprites (the image GAN,
the VAE, the conditioned diffusion model sampled with DDPM and with DDIM) and for fresh
real sprites (the bar a perfect generator would reach):

* **FID-lite** against the 20,000 training sprites (engine.image_metrics);
* **precision / recall** (k-NN manifolds in FID-lite's features) against ``n``
  training sprites picked by the seed, so both sets hold the same number of points;
* **attribute accuracy**: share of samples the sprite classifier recognises;
* **CLIPScore-lite** where a prompt exists (diffusion is conditioned on attributes;
  the prompt is their caption, "a small red heart on the left", and fresh real
  sprites get their own captions): 100 x mean max(cos(image, prompt), 0) in the shipped
  CLIP's space (the scaling of Hessel et al. 2021 without their 2.5 weight);
* **memorisation**: the median distance of a sample to its nearest training sprite and
  how many samples are copies.

Samples are drawn in chunks of :data:`CHUNK` with seeds derived from (seed, chunk), so
the first ``n`` samples of a larger draw are exactly the draw of ``n``: the lab's n
knob grows a set instead of replacing it, and the command prints the same numbers.

Text: the language model's perplexity (exp of the mean cross-entropy per word) on its
held-out paragraphs, on the same paragraphs with their words shuffled, and on
paragraphs from another domain (sailing, chess and gardening, ``content/data/
other_domain.txt``: words and topics the corpus never holds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import captions as C
from . import image_metrics as im
from . import images as imgs
from . import metrics
from .paths import shipped

F32 = np.float32
CHUNK = 32
FAMILIES = ("gan", "vae", "ddpm", "ddim")
ROWS = FAMILIES + ("real",)
NAMES = {
    "gan": "GAN",
    "vae": "VAE",
    "ddpm": "diffusion DDPM",
    "ddim": "diffusion DDIM",
    "real": "real sprites",
}
#: Diffusion samplers: (sampler, steps). DDPM is the stochastic sampler (η = 1).
DIFFUSION = {"ddpm": ("ddpm", 100), "ddim": ("ddim", 50)}
#: The models a learner can train and measure in their place: model -> shipped file name.
OWN_WEIGHTS = {"gan": "gan_sprites.npz", "vae": "vae_sprites.npz", "diffusion": "diffusion_sprites.npz"}
PROMPT_TEMPLATE = C.TRAIN_TEMPLATES[0]  # "a {size} {colour} {shape} {where}"
OTHER_DOMAIN = ("data", "other_domain.txt")
SHUFFLE_SEED = 11
TEXTS = ("held_out", "shuffled", "other_domain")

Progress = Callable[[int, int, str], None]


def chunk_seed(seed: int, chunk: int) -> int:
    """The seed of one chunk of a draw (independent streams per chunk)."""
    return int(np.random.SeedSequence([int(seed), int(chunk)]).generate_state(1)[0])


def prompt_of(attrs) -> str:
    """The caption used as a prompt for one sprite's (shape, colour, position, size)."""
    s, c, p, z = (int(v) for v in attrs)
    return C.describe(s, c, p, z, PROMPT_TEMPLATE)[0]


@dataclass
class SampleSet:
    """A growing set of sprites of one family (images in [0, 1]) and their attributes
    (n, 4) when the family was told what to draw (diffusion) or drew real sprites."""

    family: str
    images: np.ndarray = field(default_factory=lambda: np.zeros((0, 16, 16, 3), F32))
    attrs: np.ndarray | None = None
    chunks: int = 0

    def __len__(self) -> int:
        return len(self.images)


class Evaluator:
    """Holds the training sprites, the shipped models and the sample sets drawn so far.

    ``grow(family, n, seed)`` draws chunks until the family has n samples;
    ``row(family, n, seed)`` measures the first n. Raises engine.weights.WeightsError
    when a model's file is missing or damaged.

    ``files`` names other weights files for "gan", "vae" and "diffusion" (the learner's
    own, from ``genai-tutor train``); the others are the shipped ones."""

    def __init__(self, files: dict[str, Path] | None = None) -> None:
        unknown = set(files or ()) - set(OWN_WEIGHTS)
        if unknown:
            raise ValueError(f"no model to load from a file for {sorted(unknown)}; choose from {OWN_WEIGHTS}")
        self.files = dict(files or {})
        self._train: np.ndarray | None = None
        self._train_fit: tuple[np.ndarray, np.ndarray] | None = None
        self._models: dict[str, Any] = {}
        self.sets: dict[tuple[str, int], SampleSet] = {}
        self._text: dict[str, dict] = {}
        self._text_sets: dict[str, list[str]] = {}
        self._vocab = 0

    # -- models -------------------------------------------------------------------------
    def model(self, name: str):
        if name not in self._models:
            if name == "gan":
                from . import image_gan

                path = self.files.get(name, image_gan.pretrained_path("sprites"))
                self._models[name] = image_gan.ImageGAN.load(path)
            elif name == "vae":
                from . import vae

                # sampling needs no training data: one placeholder row, not 20,000 sprites
                path = self.files.get(name, vae.pretrained_path("sprites"))
                self._models[name] = vae.VAE.load(path, data=np.zeros((1, imgs.SIZE, imgs.SIZE, 3), F32))
            elif name == "diffusion":
                from . import diffusion_recipes
                from .diffusion import Diffusion

                path = self.files.get(name, diffusion_recipes.pretrained_path("sprites"))
                self._models[name] = Diffusion.load(path)
            elif name == "clip":
                from . import clip

                self._models[name] = clip.pretrained()
            elif name == "classifier":
                self._models[name] = im.shipped_classifier()
            else:
                raise ValueError(f"unknown model {name!r}")
        return self._models[name]

    @property
    def train(self) -> np.ndarray:
        """The 20,000 training sprites (made on first use: about a second)."""
        if self._train is None:
            from . import vae

            self._train = vae.load_dataset("sprites")
        return self._train

    def fid_lite(self, images: np.ndarray) -> float:
        """im.fid_lite(self.train, images), with the training set's Gaussian fitted once."""
        if self._train_fit is None:
            self._train_fit = im.gaussian_fit(im.fid_features(self.train))
        mu, cov = im.gaussian_fit(im.fid_features(images))
        return im.frechet_distance(*self._train_fit, mu, cov)

    # -- samples ------------------------------------------------------------------------
    def draw_chunk(self, family: str, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """One chunk of CHUNK sprites and their attributes (None: no prompt)."""
        if family == "real":
            s = imgs.sprites(CHUNK, seed)
            return s.images, np.stack([s.shape, s.colour, s.position, s.size], axis=1)
        if family in DIFFUSION:
            net = self.model("diffusion")
            sampler, steps = DIFFUSION[family]
            x, _ = net.sample(CHUNK, steps=steps, sampler=sampler, seed=seed)
            images = np.clip(x, 0.0, 1.0).reshape(CHUNK, imgs.SIZE, imgs.SIZE, 3)
            return images.astype(F32), np.array(net.last_labels, np.int64)
        if family in ("gan", "vae"):
            images = self.model(family).sample(CHUNK, seed=seed)
            return np.clip(images, 0.0, 1.0).astype(F32).reshape(CHUNK, imgs.SIZE, imgs.SIZE, 3), None
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(ROWS)}")

    def sample_set(self, family: str, seed: int) -> SampleSet:
        return self.sets.setdefault((family, int(seed)), SampleSet(family))

    def needs(self, family: str, n: int, seed: int) -> bool:
        return len(self.sample_set(family, seed)) < n

    def grow_once(self, family: str, seed: int) -> SampleSet:
        """Add one chunk to a family's set (the lab calls this, a chunk per step)."""
        s = self.sample_set(family, seed)
        images, attrs = self.draw_chunk(family, chunk_seed(seed, s.chunks))
        s.images = np.concatenate([s.images, images])
        if attrs is not None:
            s.attrs = attrs if s.attrs is None else np.concatenate([s.attrs, attrs])
        s.chunks += 1
        return s

    def samples(self, family: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The first n samples (and attributes) of a family's draw, drawing what is missing."""
        while self.needs(family, n, seed):
            self.grow_once(family, seed)
        s = self.sample_set(family, seed)
        return s.images[:n], None if s.attrs is None else s.attrs[:n]

    def reference(self, n: int, seed: int) -> np.ndarray:
        """n training sprites picked by the seed: the real side of precision and recall."""
        order = np.random.default_rng(chunk_seed(seed, 10_000)).permutation(len(self.train))
        return self.train[np.sort(order[:n])]

    # -- measuring ------------------------------------------------------------------------
    def clipscore(self, images: np.ndarray, attrs: np.ndarray) -> np.ndarray:
        """Per image: 100 max(cos(image, its prompt), 0) in the shipped CLIP's space."""
        model = self.model("clip")
        u = model.encode_images(images)
        v = model.encode_texts([prompt_of(a) for a in attrs])
        return 100.0 * np.maximum(np.einsum("ij,ij->i", u, v), 0.0)

    def row(self, family: str, n: int, seed: int) -> dict:
        """The table row of one family: every figure for its first n samples."""
        images, attrs = self.samples(family, n, seed)
        real = self.reference(n, seed)
        pr = im.precision_recall(im.fid_features(real), im.fid_features(images))
        mem = im.memorisation(images, self.train)
        clf = self.model("classifier")
        row = {
            "family": family,
            "name": NAMES[family],
            "n": int(n),
            "fid_lite": self.fid_lite(images),
            "precision": pr["precision"],
            "recall": pr["recall"],
            "attribute_accuracy": im.attribute_accuracy(images, clf),
            "clipscore": None if attrs is None else float(np.mean(self.clipscore(images, attrs))),
            "nearest_train_median": mem["median_distance"],
            "nearest_train_min": mem["min_distance"],
            "copies": mem["copies"],
        }
        if attrs is not None:
            row["attribute_agreement"] = im.attribute_agreement(images, attrs[:, 0], attrs[:, 1], clf)
        return row

    def table(
        self, n: int, seed: int, rows: tuple[str, ...] = ROWS, progress: Progress | None = None
    ) -> list[dict]:
        """Every row, drawing chunk by chunk (progress(done, total, family) after each)."""
        total = sum(max(0, math.ceil(n / CHUNK) - self.sample_set(f, seed).chunks) for f in rows)
        done = 0
        for family in rows:
            while self.needs(family, n, seed):
                self.grow_once(family, seed)
                done += 1
                if progress is not None:
                    progress(done, total, family)
        return [self.row(family, n, seed) for family in rows]

    def fid_curve(self, family: str, sizes, seed: int) -> list[tuple[int, float]]:
        """FID-lite of the first m samples for each m in ``sizes`` (the small-sample bias)."""
        return [(int(m), self.fid_lite(self.samples(family, int(m), seed)[0])) for m in sizes]

    # -- text ---------------------------------------------------------------------------
    def text(self, name: str) -> dict:
        """Perplexity of the shipped language model on one of :func:`text_sets` (cached).

        Once every text is measured the model and its evaluation buffers are dropped
        (only its vocabulary size is kept): the figures never change, and the lab holds
        the sprite families' samples for much longer."""
        if name not in self._text:
            if "lm" not in self._models:
                from . import lm

                self._models["lm"], _ = lm.LanguageModel.load(shipped("weights", "lm.npz"))
            if not self._text_sets:
                self._text_sets = text_sets()
            model = self._models["lm"]
            self._text[name] = perplexity(model, self._text_sets[name])
            self._vocab = len(model.tok)
            if all(t in self._text for t in TEXTS):
                del self._models["lm"]
                self._text_sets = {}
        return self._text[name]

    def has_text(self, name: str) -> bool:
        return name in self._text

    def vocab_size(self) -> int:
        """The language model's vocabulary size: the perplexity of knowing nothing."""
        self.text(TEXTS[-1])
        return self._vocab

    def text_table(self) -> dict[str, dict]:
        return {name: self.text(name) for name in TEXTS}

    # -- per sample, for "why people still look" ---------------------------------------
    def per_sample(self, images: np.ndarray, n_reference: int, seed: int) -> dict[str, np.ndarray]:
        """Scores of each image where higher should mean "better", one array per metric:

        * ``classifier``: the sprite classifier's confidence (the lower of its shape and
          colour probabilities; 0 when either head says "none");
        * ``clip``: CLIPScore-lite with the caption CLIP likes best among all 360 full
          captions (no prompt needed);
        * ``realism``: the k-NN manifold in score form: the k-th-neighbour radius of the
          nearest reference point divided by the distance to it (>= 1: inside, precise);
        * ``nearness``: minus the RMS distance to the nearest training sprite.
        """
        clf = self.model("classifier")
        s, sp, c, cp = clf.predict(images)
        none = (s == im.N_SHAPE - 1) | (c == im.N_COLOUR - 1)
        conf = np.where(none, 0.0, np.minimum(sp, cp))
        model = self.model("clip")
        texts = [prompt_of(a) for a in C.all_combinations()]
        cos = model.encode_images(images) @ model.encode_texts(texts).T
        clip_best = 100.0 * np.maximum(cos.max(axis=1), 0.0)
        ref = im.fid_features(self.reference(n_reference, seed)).astype(np.float64)
        radii = im.knn_radii(ref)
        d = np.sqrt(im.sq_dists(im.fid_features(images).astype(np.float64), ref))
        j = np.argmin(d, axis=1)
        realism = radii[j] / np.maximum(d[np.arange(len(d)), j], 1e-12)
        dist, _ = im.nearest_neighbours(images, self.train)
        return {
            "classifier": conf.astype(np.float64),
            "clip": clip_best.astype(np.float64),
            "realism": realism,
            "nearness": -dist,
        }


METRIC_NAMES = {
    "classifier": "classifier confidence",
    "clip": "CLIPScore-lite (best caption)",
    "realism": "inside the real manifold",
    "nearness": "near a training sprite",
}


def rating_set(ev: Evaluator, seed: int, per_family: int = 3) -> tuple[np.ndarray, list[str]]:
    """12 sprites to rate: ``per_family`` from each family, interleaved, and their family."""
    picked, names = [], []
    for k in range(per_family):
        for family in FAMILIES:
            images, _ = ev.samples(family, CHUNK, seed)
            picked.append(images[k * 7 % CHUNK])
            names.append(family)
    return np.stack(picked), names


def agreement(ratings, scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Spearman's rank correlation between the learner's ratings and each metric."""
    return {name: metrics.spearman(ratings, values) for name, values in scores.items()}


def plant_copy(images: np.ndarray, train: np.ndarray, position: int, seed: int) -> tuple[np.ndarray, int]:
    """A copy of ``images`` whose row ``position`` is replaced by a training sprite picked
    by the seed; returns (new images, the training index planted)."""
    index = int(np.random.default_rng(seed).integers(len(train)))
    out = np.array(images, F32, copy=True)
    out[position] = train[index]
    return out, index


# ------------------------------------------------------------------------- text side


def text_sets(seed: int = SHUFFLE_SEED) -> dict[str, list[str]]:
    """The three texts: held-out corpus paragraphs, the same with shuffled words, and
    paragraphs from another domain."""
    from . import lm
    from .tokenizer import split_words

    _, held_out = lm.split(lm.read_corpus(shipped("corpus")))
    rng = np.random.default_rng(seed)
    shuffled = []
    for paragraph in held_out:
        words = split_words(paragraph)
        shuffled.append(" ".join(words[i] for i in rng.permutation(len(words))))
    other = [
        line.strip()
        for line in shipped(*OTHER_DOMAIN).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return {"held_out": held_out, "shuffled": shuffled, "other_domain": other}


def perplexity(model, paragraphs: list[str]) -> dict:
    """{"perplexity", "words", "unknown"}: exp(mean cross-entropy per word, the closing
    <end> included) and the share of words the vocabulary lacks (they count as <unk>)."""
    from .tokenizer import windows

    C_ = model.config.context
    X, Y = windows(model.tok.stream(paragraphs, C_), C_)
    ids = [i for p in paragraphs for i in model.tok.encode(p)[0]]
    unknown = float(np.mean(np.asarray(ids) == model.tok.unk_id)) if ids else 0.0
    # batches of 256 windows: the same mean as one pass, with a quarter of the buffers
    ce = model.evaluate(X, Y, batch=256)
    return {"perplexity": math.exp(ce), "words": len(ids), "unknown": unknown}


def text_table(model=None, seed: int = SHUFFLE_SEED) -> dict[str, dict]:
    """Perplexity of the language model (the shipped one unless given) on the three texts."""
    if model is None:
        from . import lm

        model, _ = lm.LanguageModel.load(shipped("weights", "lm.npz"))
    return {name: perplexity(model, texts) for name, texts in text_sets(seed).items()}
