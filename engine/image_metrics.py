"""Metrics for generated images: copies, FID-lite, precision/recall and attribute accuracy.

Nearest-training-neighbour check ("is a sample a copy?")
    For each sample, the root-mean-square pixel distance (values in [0, 1]) to the
    closest training image. A sample is flagged as a copy when that distance is below
    :data:`COPY_RMS` = 0.004 (about one grey level out of 255 per pixel on average):
    a near pixel-exact reproduction. The threshold is tight on purpose: the sprite set
    is dense (each of its 360 attribute combinations has ~55 jittered variants among
    the 20,000 training sprites), so a *fresh* sprite from another seed typically lies
    0.01-0.03 from its nearest training sprite. Measured on 6,000 fresh sprites against
    the 20,000 training sprites: none below 0.004, the closest at 0.0046. On digits
    (integer levels / 16) only an exact copy comes this close.

FID-lite
    The Fréchet distance between two Gaussians fitted to features of real and of
    generated images (the idea of FID, Heusel et al. 2017, without the Inception
    network)::

        d^2 = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r^1/2 S_g S_r^1/2)^1/2)

    Features (:func:`fid_features`): a FIXED random one-layer network, 32 ReLU units on
    the flattened image centred at 0.5, weights N(0, 1/D) drawn from seed 20170610 (the
    same for every run and machine). Any other feature function can be passed in.
    Square roots of symmetric positive semi-definite matrices go through ``eigh`` (see
    :func:`sqrtm_psd`), in float64. With few samples FID-lite is biased upwards.
    Measured against the 20,000 training sprites: fresh real sprites score ~0.02 with
    64 samples, ~0.005 with 256 and ~0.0015 with 1,000; the shipped 2-D-latent VAE's
    samples ~0.02, ~0.01 and ~0.008. So: use at least 256 samples, and compare only
    numbers computed with the same number of samples.

Precision and recall (Kynkäänniemi et al. 2019)
    FID-lite is one number for two questions: are the samples good, and do they cover
    everything the data holds? Precision and recall separate them, in the same
    FID-lite features. Around every real point draw a ball reaching its k-th nearest
    real neighbour (k = :data:`PR_K` = 3, the paper's choice); the union of the balls is
    an estimate of the real *manifold*. **Precision** is the share of samples inside it.
    Swap the roles (balls around the samples) and the share of real points inside the
    samples' manifold is **recall**. A model that draws a few perfect sprites over and
    over scores high precision and low recall; a blurry one the other way round. Both
    sets should hold the same number of points (the radii shrink as a set grows).

Memorisation
    :func:`memorisation` reports, for every sample, its nearest training image and the
    RMS pixel distance to it, and flags copies below :data:`COPY_RMS` (above).

Attribute accuracy (sprites)
    A small MLP (768 -> 256 ReLU -> two softmax heads) the engine trains on sprites,
    shipped as content/weights/sprite_classifier.npz. Each head has one extra class,
    "none", trained on junk images (blends of two sprites, noise, empty backgrounds), so
    blurry or broken samples are not forced into a shape. A sample counts as
    recognised when both heads pick a real class (not "none") with probability at least
    :data:`CONFIDENCE` = 0.8. ``attribute_accuracy`` is the share of samples
    recognised; ``attribute_agreement`` also checks the predicted classes against
    given attributes (for conditional models).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from . import images as imgs
from . import nn, weights
from .runtime import kernel, register_warmup

F32 = np.float32
COPY_RMS = 0.004
CONFIDENCE = 0.8
FEATURE_DIM, FEATURE_SEED = 32, 20170610
N_SHAPE, N_COLOUR = len(imgs.SHAPES) + 1, len(imgs.COLOURS) + 1  # + "none"
CLASSIFIER_VERSION = 1


# ------------------------------------------------------ nearest training neighbour


def nearest_neighbours(
    samples: np.ndarray, train: np.ndarray, chunk: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """(RMS pixel distance, index) of each sample's nearest training image.

    The search ranks ||b||^2 - 2 x.b, which orders the training images as the squared
    distance does (||x||^2 is the same for the whole row), in one (chunk, N) buffer
    updated in place: 128 samples against 20,000 sprites is 10 MiB, not several copies."""
    a = np.asarray(samples, F32).reshape(len(samples), -1)
    b = np.ascontiguousarray(np.asarray(train, F32).reshape(len(train), -1))
    bb = np.einsum("ij,ij->i", b, b)
    dist = np.empty(len(a), np.float64)
    index = np.empty(len(a), np.int64)
    for s in range(0, len(a), chunk):
        x = a[s : s + chunk]
        d2 = x @ b.T
        d2 *= F32(-2.0)
        d2 += bb[None, :]
        j = np.argmin(d2, axis=1)
        index[s : s + chunk] = j
        # recompute the winners exactly (the expanded form loses precision near 0)
        dist[s : s + chunk] = np.sqrt(np.mean((x.astype(np.float64) - b[j]) ** 2, axis=1))
    return dist, index


def copies(samples: np.ndarray, train: np.ndarray, threshold: float = COPY_RMS) -> np.ndarray:
    """Boolean mask: which samples are (near-)copies of a training image."""
    return nearest_neighbours(samples, train)[0] < threshold


def memorisation(samples: np.ndarray, train: np.ndarray, threshold: float = COPY_RMS) -> dict:
    """Each sample's nearest training image: {"distance", "index", "copy"} arrays, and
    the summary numbers "median_distance", "min_distance" and "copies"."""
    dist, index = nearest_neighbours(samples, train)
    copy = dist < threshold
    return {
        "distance": dist,
        "index": index,
        "copy": copy,
        "median_distance": float(np.median(dist)) if len(dist) else float("nan"),
        "min_distance": float(dist.min()) if len(dist) else float("nan"),
        "copies": int(copy.sum()),
    }


# ------------------------------------------------------------------------ FID-lite


def sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix via eigh (float64)."""
    a = np.asarray(a, np.float64)
    w, v = np.linalg.eigh((a + a.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """Squared Fréchet (2-Wasserstein) distance between N(mu1, cov1) and N(mu2, cov2)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1 = sqrtm_psd(cov1)
    middle = s1 @ np.asarray(cov2, np.float64) @ s1
    w = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    tr_sqrt = float(np.sum(np.sqrt(np.clip(w, 0.0, None))))
    d = float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2.0 * tr_sqrt)
    return max(d, 0.0)


_feature_weights: dict[int, np.ndarray] = {}


FEATURE_CHUNK = 2048
"""Rows centred at a time: centring a whole training set at once (20 000 sprites) would
copy all of it (~60 MiB) for a result of 2.5 MiB."""


def fid_features(images: np.ndarray) -> np.ndarray:
    """The documented FID-lite features: ReLU((x - 0.5) @ W), W fixed from FEATURE_SEED."""
    x = np.asarray(images, F32).reshape(len(images), -1)
    d = x.shape[1]
    w = _feature_weights.get(d)
    if w is None:
        rng = np.random.default_rng(FEATURE_SEED)
        w = _feature_weights[d] = (rng.standard_normal((d, FEATURE_DIM)) / math.sqrt(d)).astype(F32)
    out = np.empty((len(x), FEATURE_DIM), F32)
    for s in range(0, len(x), FEATURE_CHUNK):
        np.maximum((x[s : s + FEATURE_CHUNK] - F32(0.5)) @ w, 0.0, out=out[s : s + FEATURE_CHUNK])
    return out


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def fid_lite(real: np.ndarray, fake: np.ndarray, features=fid_features) -> float:
    """FID-lite between two image sets (each (N, ...)); 0 for identical statistics."""
    mu1, c1 = gaussian_fit(features(real))
    mu2, c2 = gaussian_fit(features(fake))
    return frechet_distance(mu1, c1, mu2, c2)


# ------------------------------------------------------- precision and recall

PR_K = 3


def sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) squared Euclidean distances in float64, never negative."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0)


def knn_radii(points: np.ndarray, k: int = PR_K) -> np.ndarray:
    """Distance from each point to its k-th nearest OTHER point of the same set."""
    x = np.asarray(points, np.float64)
    if len(x) < 2:
        return np.zeros(len(x))
    d2 = sq_dists(x, x)
    np.fill_diagonal(d2, np.inf)
    k = min(int(k), len(x) - 1)
    return np.sqrt(np.partition(d2, k - 1, axis=1)[:, k - 1])


def manifold_share(points: np.ndarray, centres: np.ndarray, k: int = PR_K) -> float:
    """Share of ``points`` inside at least one k-NN ball around ``centres``."""
    p, c = np.asarray(points, np.float64), np.asarray(centres, np.float64)
    if len(p) == 0 or len(c) < 2:
        return 0.0
    radii = knn_radii(c, k)
    inside = sq_dists(p, c) <= (radii**2)[None, :]
    return float(inside.any(axis=1).mean())


def precision_recall(real_features: np.ndarray, fake_features: np.ndarray, k: int = PR_K) -> dict:
    """{"precision", "recall"} of samples against real data, both given as features
    (:func:`fid_features`); see the module docstring."""
    return {
        "precision": manifold_share(fake_features, real_features, k),
        "recall": manifold_share(real_features, fake_features, k),
    }


def precision_recall_images(real: np.ndarray, fake: np.ndarray, k: int = PR_K, features=fid_features) -> dict:
    """Precision and recall of two image sets, measured in FID-lite's features."""
    return precision_recall(features(real), features(fake), k)


# ------------------------------------------------------- sprite attribute classifier


@kernel
def _two_head_ce(logits, ys, yc, ns, grad):
    """Softmax cross-entropy of heads logits[:, :ns] and logits[:, ns:], mean over rows."""
    n, m = logits.shape
    total = 0.0
    for i in range(n):
        for lo, hi, y in ((0, ns, ys[i]), (ns, m, yc[i])):
            mx = logits[i, lo]
            for j in range(lo, hi):
                mx = max(mx, logits[i, j])
            s = 0.0
            for j in range(lo, hi):
                s += math.exp(logits[i, j] - mx)
            total += math.log(s) + mx - logits[i, lo + y]
            for j in range(lo, hi):
                p = math.exp(logits[i, j] - mx) / s
                grad[i, j] = (p - (1.0 if j == lo + y else 0.0)) / n
    return total / n


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def junk_images(n: int, seed: int) -> np.ndarray:
    """Images that are not a valid sprite: blends of two sprites, noise, empty frames."""
    rng = np.random.default_rng(seed)
    a = imgs.sprites(n, seed + 1).images
    b = imgs.sprites(n, seed + 2).images
    kind = rng.integers(0, 3, n)
    t = rng.uniform(0.3, 0.7, (n, 1, 1, 1)).astype(F32)
    out = np.where((kind == 0)[:, None, None, None], t * a + (1 - t) * b, a)
    noise = rng.uniform(0, 1, a.shape).astype(F32)
    out = np.where((kind == 1)[:, None, None, None], t * noise + (1 - t) * a, out)
    empty = np.broadcast_to(a[:, :1, :1, :], a.shape)
    out = np.where((kind == 2)[:, None, None, None], empty, out)
    return np.clip(out, 0, 1).astype(F32)


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """What a classifier weights file's config may hold (checked before building)."""

    hidden: int = 256
    seed: int = 0


class SpriteClassifier:
    def __init__(self, hidden: int = 256, seed: int = 0):
        self.mlp = nn.MLP(
            [imgs.SIZE * imgs.SIZE * 3, hidden, N_SHAPE + N_COLOUR], activation="relu", seed=seed
        )
        self.hidden, self.seed = hidden, seed

    def logits(self, images: np.ndarray) -> np.ndarray:
        return self.mlp.forward(np.asarray(images, F32).reshape(len(images), -1)).copy()

    def predict(self, images: np.ndarray):
        """(shape id, shape prob, colour id, colour prob); id len(SHAPES) = "none"."""
        z = self.logits(images)
        ps, pc = _softmax(z[:, :N_SHAPE]), _softmax(z[:, N_SHAPE:])
        return ps.argmax(1), ps.max(1), pc.argmax(1), pc.max(1)

    def recognised(self, images: np.ndarray, confidence: float = CONFIDENCE) -> np.ndarray:
        s, sp, c, cp = self.predict(images)
        return (s < N_SHAPE - 1) & (c < N_COLOUR - 1) & (sp >= confidence) & (cp >= confidence)

    def train(
        self,
        steps: int = 12000,
        n: int = 40000,
        seed: int = 7,
        batch: int = 128,
        lr: float = 1e-3,
        progress=None,
    ) -> dict:
        s = imgs.sprites(n, seed)
        junk = junk_images(n // 4, seed + 100)
        x = np.concatenate([s.images, junk]).reshape(n + len(junk), -1)
        ys = np.concatenate([s.shape, np.full(len(junk), N_SHAPE - 1)]).astype(np.int64)
        yc = np.concatenate([s.colour, np.full(len(junk), N_COLOUR - 1)]).astype(np.int64)
        rng = np.random.default_rng(seed)
        opt = nn.Adam(self.mlp.params, self.mlp.grads, lr=lr)
        grad = np.empty((batch, N_SHAPE + N_COLOUR), F32)
        loss = 0.0
        for t in range(int(steps)):
            idx = rng.integers(0, len(x), batch)
            xb = x[idx] + rng.normal(0, 0.03, (batch, x.shape[1])).astype(F32)
            z = self.mlp.forward(xb)
            loss = _two_head_ce(z, ys[idx], yc[idx], N_SHAPE, grad)
            self.mlp.backward(grad)
            opt.step()
            if progress is not None and (t + 1) % 100 == 0:
                progress(t + 1, steps)
        return {"loss": float(loss)}

    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        meta = {
            "model": "sprite_classifier",
            "version": CLASSIFIER_VERSION,
            "config": {"hidden": self.hidden, "seed": self.seed},
            **(extra or {}),
        }
        return weights.save(path, {"params": self.mlp.params}, meta)

    @classmethod
    def load(cls, path: str | Path | None = None) -> SpriteClassifier:
        path = weights.default_dir() / "sprite_classifier.npz" if path is None else path
        arrays, meta = weights.load(path, "sprite_classifier", CLASSIFIER_VERSION)
        config = weights.model_config(meta, ClassifierConfig, path)
        with weights.building(path):
            model = cls(**dataclasses.asdict(config))
            weights.fill(model.mlp.params, arrays, "params", path)
        return model


_shipped: list[SpriteClassifier] = []


def shipped_classifier() -> SpriteClassifier:
    """The shipped classifier, loaded once (raises weights.WeightsError if missing)."""
    if not _shipped:
        _shipped.append(SpriteClassifier.load())
    return _shipped[0]


def attribute_accuracy(
    images: np.ndarray, classifier: SpriteClassifier | None = None, confidence: float = CONFIDENCE
) -> float:
    """Share of sprite images whose shape AND colour are recognised with confidence."""
    clf = shipped_classifier() if classifier is None else classifier
    return float(np.mean(clf.recognised(images, confidence)))


def attribute_agreement(
    images: np.ndarray,
    shape: np.ndarray,
    colour: np.ndarray,
    classifier: SpriteClassifier | None = None,
    confidence: float = CONFIDENCE,
) -> float:
    """Share recognised AND matching the given shape and colour ids."""
    clf = shipped_classifier() if classifier is None else classifier
    s, _, c, _ = clf.predict(images)
    ok = clf.recognised(images, confidence) & (s == shape) & (c == colour)
    return float(np.mean(ok))


def train_classifier(steps: int = 12000, seed: int = 0, out: str | Path | None = None, progress=None) -> dict:
    """Train and save the shipped classifier; report accuracy on fresh held-out sprites."""
    clf = SpriteClassifier(seed=seed)
    fit = clf.train(steps=steps, progress=progress)
    test = imgs.sprites(2000, 99)
    s, _, c, _ = clf.predict(test.images)
    result = {
        "loss": fit["loss"],
        "attribute_accuracy": attribute_accuracy(test.images, clf),
        "shape_accuracy": float(np.mean(s == test.shape)),
        "colour_accuracy": float(np.mean(c == test.colour)),
        "junk_accepted": attribute_accuracy(junk_images(1000, 555), clf),
    }
    path = weights.default_dir() / "sprite_classifier.npz" if out is None else Path(out)
    clf.save(path, extra={k: v for k, v in result.items()})
    return {**result, "out": str(path)}


def _warm_up() -> None:
    z = np.zeros((2, N_SHAPE + N_COLOUR), F32)
    y = np.zeros(2, np.int64)
    _two_head_ce(z, y, y, N_SHAPE, np.empty_like(z))


register_warmup("image_metrics", _warm_up, needs=("nn", "images"))
