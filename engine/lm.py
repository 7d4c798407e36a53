"""A tiny neural language model: the previous few words in, a score for every word out.

This is the model of Bengio et al. (2003), as in Karpathy's makemore part 2::

    context ids (B, C) ──► embedding table E[V, D] ──► concatenated (B, C*D)
        ──► tanh(x W1 + b1) (B, H) ──► logits = h W2 + b2 (B, V)
        ──► softmax cross-entropy against the true next word

Training (one step, explicit backward, no autograd)::

    x      = gather(E, ids)                     fused kernel
    logits = mlp.forward(x)                     BLAS matmuls + fused bias/tanh (engine.nn)
    loss, dlogits = softmax_xent(logits, y)     fused kernel, log-sum-exp for stability
    dx     = mlp.backward(dlogits)              BLAS + fused tanh backward
    dE     = scatter_add(dx, ids)               fused kernel: each row goes back to its word
    Adam over ONE flat buffer holding E, W1, b1, W2, b2

Validation perplexity = exp(mean cross-entropy on held-out paragraphs); a model that knew
nothing would score the vocabulary size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numba import prange

from . import kernels as K
from . import runtime, sampling
from . import weights as W
from .nn import MLP, Adam
from .runtime import kernel, parallel_kernel, register_warmup
from .tokenizer import Tokenizer, windows

F32 = np.float32
MODEL, VERSION = "lm", 1
MAX_VOCAB = 200_000  # words; the shipped model has 1,233


# ------------------------------------------------------------------------ kernels


@kernel
def embed_gather(table, ids, out):
    """out[b, c*D:(c+1)*D] = table[ids[b, c]]: the context's word vectors side by side."""
    B, C = ids.shape
    D = table.shape[1]
    for b in range(B):
        for c in range(C):
            row = ids[b, c]
            for d in range(D):
                out[b, c * D + d] = table[row, d]


@kernel
def embed_scatter(dx, ids, dtable):
    """dtable = 0, then dtable[ids[b, c]] += dx[b, c*D:(c+1)*D] (a word used twice adds up)."""
    B, C = ids.shape
    D = dtable.shape[1]
    dtable[:, :] = 0.0
    for b in range(B):
        for c in range(C):
            row = ids[b, c]
            for d in range(D):
                dtable[row, d] += dx[b, c * D + d]


@kernel
def softmax_xent(logits, targets, grad, scale):
    """Mean cross-entropy of softmax(logits) against target ids; grad = scale (p - onehot) / B.

    Per row: m = max z, lse = m + log(sum exp(z - m)), loss = lse - z[target]. Every
    exponent is <= 0, so large logits cannot overflow.
    """
    B, V = logits.shape
    inv = scale / B
    total = 0.0
    for b in range(B):
        m = logits[b, 0]
        for v in range(1, V):
            m = max(m, logits[b, v])
        s = 0.0
        for v in range(V):
            e = math.exp(logits[b, v] - m)
            grad[b, v] = e
            s += e
        t = targets[b]
        total += m + math.log(s) - logits[b, t]
        k = np.float32(inv / s)
        for v in range(V):
            grad[b, v] *= k
        grad[b, t] -= np.float32(inv)
    return scale * total / B


@parallel_kernel
def softmax_xent_parallel(logits, targets, grad, scale):
    """``softmax_xent`` with the rows shared over threads. Each row's loss is kept and
    the total is summed in row order afterwards, so the result is the serial one."""
    B, V = logits.shape
    inv = scale / B
    row_loss = np.empty(B)
    for b in prange(B):
        m = logits[b, 0]
        for v in range(1, V):
            m = max(m, logits[b, v])
        s = 0.0
        for v in range(V):
            e = math.exp(logits[b, v] - m)
            grad[b, v] = e
            s += e
        t = targets[b]
        row_loss[b] = m + math.log(s) - logits[b, t]
        k = np.float32(inv / s)
        for v in range(V):
            grad[b, v] *= k
        grad[b, t] -= np.float32(inv)
    total = 0.0
    for b in range(B):
        total += row_loss[b]
    return scale * total / B


# Logits (rows x vocabulary) from which the loss runs on every compute thread: the serial
# pass must take >= ~100 us (~7 ns a logit, benchmarks/bench_scaling.py --thresholds).
XENT_PARALLEL_MIN = 16 * 1024


def cross_entropy(logits, targets, grad, scale: float) -> float:
    """``softmax_xent``, on every compute thread for a large enough batch."""
    return runtime.launch(
        softmax_xent_parallel, softmax_xent, logits.size, XENT_PARALLEL_MIN, logits, targets, grad, scale
    )


# ------------------------------------------------------------------------- model


@dataclass
class LMConfig:
    context: int = 5  # words of context the model sees
    embed: int = 24  # size of each word vector
    hidden: int = 256  # tanh units
    batch: int = 128
    lr: float = 3e-3
    min_count: int = 3  # a word needs this many uses in the corpus to get a token
    seed: int = 0


class LanguageModel:
    """Embedding + MLP next-word model over a flat float32 parameter buffer."""

    def __init__(self, tokenizer: Tokenizer, config: LMConfig | None = None):
        self.tok, self.config = tokenizer, config or LMConfig()
        c = self.config
        V, D, C = len(tokenizer), c.embed, c.context
        self.mlp = MLP([C * D, c.hidden, V], activation="tanh", seed=c.seed)
        n_emb = V * D
        self.params = np.zeros(n_emb + self.mlp.n_params, F32)
        self.grads = np.zeros(self.params.shape, F32)
        self.params[n_emb:] = self.mlp.params
        self.mlp.bind(self.params[n_emb:], self.grads[n_emb:])
        self.emb = self.params[:n_emb].reshape(V, D)
        self.demb = self.grads[:n_emb].reshape(V, D)
        rng = np.random.default_rng(c.seed)
        self.emb[...] = rng.standard_normal((V, D), dtype=F32)
        self.mlp.layers[-1].W[...] *= F32(0.1)  # start near uniform: loss ~ log V
        self.opt = Adam(self.params, self.grads, lr=c.lr)
        self.rng = np.random.default_rng(c.seed + 1)
        self.steps = 0
        self.train_X: np.ndarray | None = None
        self.train_Y: np.ndarray | None = None
        self.val_X: np.ndarray | None = None
        self.val_Y: np.ndarray | None = None
        self._x: dict[int, np.ndarray] = {}
        self._dlogits: dict[int, np.ndarray] = {}

    # -- data ----------------------------------------------------------------------
    def attach(self, train_paragraphs: Iterable[str], val_paragraphs: Iterable[str] = ()) -> None:
        """Turn paragraphs into (context, next word) windows for training and validation."""
        C = self.config.context
        self.train_X, self.train_Y = windows(self.tok.stream(train_paragraphs, C), C)
        val = list(val_paragraphs)
        if val:
            self.val_X, self.val_Y = windows(self.tok.stream(val, C), C)

    # -- forward / backward ----------------------------------------------------------
    def _buffers(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        if batch not in self._x:
            self._x[batch] = np.empty((batch, self.config.context * self.config.embed), F32)
            self._dlogits[batch] = np.empty((batch, len(self.tok)), F32)
        return self._x[batch], self._dlogits[batch]

    def logits(self, ids: np.ndarray) -> np.ndarray:
        """Next-word logits (B, V) for context windows ids (B, C). Valid until the next call."""
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        x, _ = self._buffers(ids.shape[0])
        embed_gather(self.emb, ids, x)
        return self.mlp.forward(x)

    def loss_and_grad(self, X: np.ndarray, Y: np.ndarray) -> float:
        """Mean cross-entropy on the batch; fills ``self.grads`` with its gradient."""
        X = np.ascontiguousarray(X, dtype=np.int32)
        Y = np.ascontiguousarray(Y, dtype=np.int32)
        logits = self.logits(X)
        _, dlogits = self._buffers(X.shape[0])
        loss = cross_entropy(logits, Y, dlogits, 1.0)
        dx = self.mlp.backward(dlogits)
        embed_scatter(dx, X, self.demb)
        return float(loss)

    # -- training --------------------------------------------------------------------
    def step(self) -> float:
        """One Adam step on a random batch of training windows; returns its loss."""
        if self.train_X is None or self.train_Y is None:
            raise RuntimeError("attach() training text before training")
        idx = self.rng.integers(0, self.train_X.shape[0], self.config.batch)
        loss = self.loss_and_grad(self.train_X[idx], self.train_Y[idx])
        self.opt.step()
        self.steps += 1
        return loss

    def train(self, n: int) -> dict:
        """``n`` steps; returns {"loss": mean train loss, "steps": total steps so far}."""
        losses = [self.step() for _ in range(int(n))]
        loss = float(np.mean(losses)) if losses else float("nan")
        return {"loss": loss, "steps": self.steps, "diverged": not math.isfinite(loss)}

    def evaluate(self, X: np.ndarray | None = None, Y: np.ndarray | None = None, batch: int = 1024) -> float:
        """Mean cross-entropy (nats per word) on held-out windows (default: validation)."""
        X = self.val_X if X is None else X
        Y = self.val_Y if Y is None else Y
        assert X is not None and Y is not None, "no validation windows attached"
        total = 0.0
        for start in range(0, X.shape[0], batch):
            xb = np.ascontiguousarray(X[start : start + batch])
            logits = self.logits(xb)
            _, scratch = self._buffers(xb.shape[0])
            total += (
                cross_entropy(logits, np.ascontiguousarray(Y[start : start + batch]), scratch, 1.0)
                * xb.shape[0]
            )
        return total / X.shape[0]

    def perplexity(self) -> float:
        return math.exp(self.evaluate())

    # -- using it ------------------------------------------------------------------------
    def context_ids(self, ids: list[int]) -> np.ndarray:
        """The last ``context`` ids, left-padded with ``<end>`` like a paragraph start."""
        C = self.config.context
        window = ([self.tok.end_id] * C + list(ids))[-C:]
        return np.asarray([window], dtype=np.int32)

    def next_logits(self, ids: list[int]) -> np.ndarray:
        """Logits (V,) for the word after ``ids`` (a copy)."""
        return self.logits(self.context_ids(ids))[0].copy()

    def generate(
        self,
        ids: list[int],
        n: int,
        rng: np.random.Generator,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        stop_at_end: bool = True,
        banned: list[int] | None = None,
    ) -> list[int]:
        """The generation loop: score, warp, draw one token, append, repeat ``n`` times.

        ``banned`` token ids (e.g. ``<unk>``) get probability 0 before the warps."""
        ids, new = list(ids), []
        for _ in range(int(n)):
            logits = self.next_logits(ids)
            if banned:
                logits[banned] = -np.inf
            probs = sampling.warp(logits, temperature, top_k, top_p)
            token = sampling.sample(probs, rng)
            ids.append(token)
            new.append(token)
            if stop_at_end and token == self.tok.end_id:
                break
        return new

    # -- saving ------------------------------------------------------------------------
    def save(self, path: str | Path, **meta) -> Path:
        arrays = {"params": self.params.copy(), "vocab": np.array(self.tok.vocab)}
        record = {
            "model": MODEL,
            "version": VERSION,
            "config": asdict(self.config),
            "steps": self.steps,
            "vocab_size": len(self.tok),
            **meta,
        }
        return W.save(path, arrays, record)

    @classmethod
    def load(cls, path: str | Path) -> tuple[LanguageModel, dict]:
        """Rebuild a saved model; raises weights.WeightsError with a plain message."""
        arrays, meta = W.load(path, MODEL, VERSION, allow_text=frozenset({"vocab"}))
        config = W.model_config(meta, LMConfig, path)
        vocab = arrays.get("vocab")
        if vocab is None or vocab.dtype.kind != "U" or vocab.ndim != 1 or not 2 <= len(vocab) <= MAX_VOCAB:
            raise W.unusable(path, f"it has no vocabulary of 2 to {MAX_VOCAB:,} words")
        words = [str(w) for w in vocab]
        # The vocabulary is printed by `sample` and the temperature lab: a word holding ESC
        # or another control character could drive the terminal, and split_words never
        # makes one, so such a file was not written by training.
        odd = next(
            (i for i, w in enumerate(words) if not w or any(c.isspace() or not c.isprintable() for c in w)),
            None,
        )
        if odd is not None:
            raise W.unusable(
                path,
                f"vocabulary word {odd} ({words[odd].encode('unicode_escape').decode()!r}) "
                "is empty or holds spaces or control characters",
            )
        with W.building(path):
            model = cls(Tokenizer(words), config)
            W.fill(model.params, arrays, "params", path)
            model.steps = int(meta.get("steps", 0))
        return model, meta


# ---------------------------------------------------------------------- corpus + CLI


def read_corpus(folder: str | Path) -> list[str]:
    """Every non-empty line of every .txt file in ``folder`` (sorted by name): one paragraph each."""
    paragraphs = []
    for path in sorted(Path(folder).glob("*.txt")):
        paragraphs += [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return paragraphs


def split(paragraphs: list[str], every: int = 10) -> tuple[list[str], list[str]]:
    """Every ``every``-th paragraph is held out for validation (deterministic)."""
    train = [p for i, p in enumerate(paragraphs) if i % every != every - 1]
    val = [p for i, p in enumerate(paragraphs) if i % every == every - 1]
    return train, val


def build(paragraphs: list[str], config: LMConfig) -> LanguageModel:
    """A fresh model whose vocabulary comes from the training paragraphs."""
    train, val = split(paragraphs)
    model = LanguageModel(Tokenizer.from_texts(train, config.min_count), config)
    model.attach(train, val)
    return model


def train_headless(
    corpus: str | Path,
    steps: int = 6000,
    seed: int = 0,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    **config,
) -> dict:
    """Train from scratch with a step-decay learning rate; optionally save; return metrics."""
    start = time.perf_counter()
    model = build(read_corpus(corpus), LMConfig(seed=seed, **config))
    base_lr, chunk, losses = model.config.lr, 100, []
    for done in range(0, steps, chunk):
        model.opt.lr = base_lr * (0.1 if done >= 0.75 * steps else 1.0)
        losses.append(model.train(min(chunk, steps - done))["loss"])
        if progress is not None:
            progress(min(done + chunk, steps), steps)
    train_loss = float(np.mean(losses[-3:])) if losses else float("nan")
    ppl = model.perplexity()
    result = {
        "steps": model.steps,
        "seconds": round(time.perf_counter() - start, 2),
        "train_loss": round(train_loss, 4),
        "val_perplexity": round(ppl, 3),
        "vocab_size": len(model.tok),
    }
    if out is not None:
        model.save(out, train_loss=result["train_loss"], val_perplexity=result["val_perplexity"])
    return result


def _warm_up() -> None:
    K.warm_up_activations("tanh")
    model = LanguageModel(Tokenizer(["a", "b", "."]), LMConfig(context=2, embed=2, hidden=3, batch=2))
    X = np.zeros((2, 2), np.int32)
    model.loss_and_grad(X, np.array([2, 3], np.int32))
    model.opt.step()
    model.next_logits([2])
    if runtime.parallel_possible():
        softmax_xent_parallel(np.zeros((2, 3), np.float32), X[:, 0].copy(), np.empty((2, 3), np.float32), 1.0)


register_warmup("lm", _warm_up, needs=("nn", "sampling"))
