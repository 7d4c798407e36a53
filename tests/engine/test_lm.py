"""The MLP language model: gradients against a float64 numpy reference and finite
differences, stable cross-entropy, training, determinism, saving, the shipped weights."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine import lm, sampling
from engine.tokenizer import Tokenizer
from engine.weights import WeightsError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "content" / "weights" / "lm.npz"
TEXT = ["the cat sat on the mat .", "the dog sat on the log .", "a cat and a dog ."] * 4


def tiny(seed=0, **kw):
    config = lm.LMConfig(context=3, embed=4, hidden=8, batch=16, seed=seed, min_count=1, **kw)
    model = lm.LanguageModel(Tokenizer.from_texts(TEXT, 1), config)
    model.attach(TEXT, TEXT[:3])
    return model


def reference_loss(model, params, X, Y):
    """Plain float64 numpy: embed, concatenate, tanh layer, linear layer, mean CE."""
    V, D, C, H = len(model.tok), model.config.embed, model.config.context, model.config.hidden
    sizes = [V * D, C * D * H, H, H * V, V]
    E, W1, b1, W2, b2 = np.split(params.astype(np.float64), np.cumsum(sizes)[:-1])
    E, W1, W2 = E.reshape(V, D), W1.reshape(C * D, H), W2.reshape(H, V)
    x = E[X].reshape(len(X), C * D)
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    lse = z.max(1) + np.log(np.exp(z - z.max(1, keepdims=True)).sum(1))
    return float(np.mean(lse - z[np.arange(len(Y)), Y]))


def reference_grad(model, params, X, Y):
    """The same model's gradient by hand in float64 (backprop written out)."""
    V, D, C, H = len(model.tok), model.config.embed, model.config.context, model.config.hidden
    sizes = [V * D, C * D * H, H, H * V, V]
    E, W1, b1, W2, b2 = np.split(params.astype(np.float64), np.cumsum(sizes)[:-1])
    E, W1, W2 = E.reshape(V, D), W1.reshape(C * D, H), W2.reshape(H, V)
    B = len(X)
    x = E[X].reshape(B, C * D)
    h = np.tanh(x @ W1 + b1)
    z = h @ W2 + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = p.copy()
    dz[np.arange(B), Y] -= 1
    dz /= B
    dW2, db2 = h.T @ dz, dz.sum(0)
    dpre = (dz @ W2.T) * (1 - h**2)
    dW1, db1 = x.T @ dpre, dpre.sum(0)
    dx = (dpre @ W1.T).reshape(B, C, D)
    dE = np.zeros_like(E)
    np.add.at(dE, X, dx)
    return np.concatenate([dE.ravel(), dW1.ravel(), db1, dW2.ravel(), db2])


def test_loss_and_gradient_match_the_numpy_reference():
    model = tiny()
    X, Y = model.train_X[:16], model.train_Y[:16]
    X[0, :] = X[0, 0]  # the same word twice in one context: its gradients must add up
    loss = model.loss_and_grad(X, Y)
    assert loss == pytest.approx(reference_loss(model, model.params, X, Y), rel=1e-5)
    np.testing.assert_allclose(model.grads, reference_grad(model, model.params, X, Y), rtol=1e-3, atol=1e-6)


def test_reference_gradient_matches_finite_differences():
    model = tiny()
    X, Y = model.train_X[:8], model.train_Y[:8]
    params = model.params.astype(np.float64)
    grad = reference_grad(model, params, X, Y)
    rng = np.random.default_rng(0)
    h = 1e-6
    for i in rng.choice(params.size, 40, replace=False):
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        numeric = (reference_loss(model, up, X, Y) - reference_loss(model, down, X, Y)) / (2 * h)
        assert numeric == pytest.approx(grad[i], rel=1e-4, abs=1e-8)


def test_engine_gradient_matches_finite_differences_in_float32():
    model = tiny()
    X, Y = model.train_X[:8], model.train_Y[:8]
    model.loss_and_grad(X, Y)
    grad = model.grads.copy()
    for i in np.argsort(-np.abs(grad))[:12]:  # the largest gradients: above float32 noise
        keep = model.params[i]
        model.params[i] = keep + 1e-2
        up = model.loss_and_grad(X, Y)
        model.params[i] = keep - 1e-2
        down = model.loss_and_grad(X, Y)
        model.params[i] = keep
        assert (up - down) / 2e-2 == pytest.approx(grad[i], rel=3e-2, abs=1e-4)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [50.0, 50.0, 50.0]], np.float32)
    grad = np.empty_like(logits)
    loss = lm.softmax_xent(logits, np.array([1, 2], np.int32), grad, 1.0)
    assert math.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx((1e4 + math.log(3)) / 2, rel=1e-6)
    np.testing.assert_allclose(grad.sum(1), 0.0, atol=1e-6)


def test_training_lowers_the_loss_and_is_deterministic():
    a, b = tiny(seed=3), tiny(seed=3)
    start = a.evaluate(a.train_X, a.train_Y)
    first = a.train(150)
    b.train(150)
    assert a.evaluate(a.train_X, a.train_Y) < 0.5 * start
    assert first["steps"] == 150 and not first["diverged"]
    assert np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, tiny(seed=4).params)


def test_generation_is_seeded():
    model = tiny()
    model.train(100)
    ids, _ = model.tok.encode("the cat")
    one = model.generate(ids, 12, np.random.default_rng(9), temperature=1.5)
    two = model.generate(ids, 12, np.random.default_rng(9), temperature=1.5)
    assert one == two
    greedy = model.generate(ids, 5, np.random.default_rng(0), temperature=0.0)
    assert greedy[0] == sampling.greedy(model.next_logits(ids))


def test_save_and_load_round_trip(tmp_path):
    model = tiny()
    model.train(20)
    path = model.save(tmp_path / "lm.npz", val_perplexity=1.0)
    again, meta = lm.LanguageModel.load(path)
    assert np.array_equal(again.params, model.params) and again.tok.vocab == model.tok.vocab
    assert meta["config"]["hidden"] == 8 and meta["steps"] == 20
    with pytest.raises(WeightsError, match="no weights file"):
        lm.LanguageModel.load(tmp_path / "missing.npz")


def test_train_headless_reports_the_metrics(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("\n".join(TEXT * 3))
    out = tmp_path / "w.npz"
    result = lm.train_headless(corpus, steps=30, seed=1, out=out, context=3, embed=4, hidden=8, min_count=1)
    assert set(result) == {"steps", "seconds", "train_loss", "val_perplexity", "vocab_size"}
    assert result["steps"] == 30 and result["val_perplexity"] < result["vocab_size"]
    assert lm.LanguageModel.load(out)[1]["val_perplexity"] == result["val_perplexity"]


# ------------------------------------------------------------------ shipped weights


@pytest.fixture(scope="module")
def shipped():
    return lm.LanguageModel.load(SHIPPED)


def test_shipped_model_knows_the_capital_of_france(shipped):
    model, _ = shipped
    ids, unknown = model.tok.encode("The capital of France is")
    probs = sampling.warp(model.next_logits(ids), 1.0)
    assert unknown == []
    assert model.tok.vocab[int(np.argmax(probs))] == "Paris"
    assert probs[model.tok.index["Paris"]] > 0.5


def test_shipped_model_perplexity_is_far_below_the_vocabulary_size(shipped):
    model, meta = shipped
    assert meta["val_perplexity"] < len(model.tok) / 50
    assert "1,233" in (ROOT / "content" / "corpus" / "README.md").read_text()


def test_sample_command_json(capsys):
    from tutor.cli import main

    assert (
        main(
            [
                "sample",
                "The capital of Atlantis is",
                "--temperature",
                "0.7",
                "--top-k",
                "5",
                "--seed",
                "3",
                "--tokens",
                "4",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"prompt_tokens", "next", "entropy", "continuation", "unknown"}
    assert out["unknown"] == ["Atlantis"] and out["prompt_tokens"][3] == "<unk>"
    assert len(out["next"]) == 5 and sum(r["prob"] for r in out["next"]) == pytest.approx(1.0, abs=1e-5)
    assert (
        main(
            [
                "sample",
                "The capital of Atlantis is",
                "--temperature",
                "0.7",
                "--top-k",
                "5",
                "--seed",
                "3",
                "--tokens",
                "4",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == out  # same seed, same text


def test_sample_command_rejects_bad_values(capsys):
    from tutor.cli import main

    with pytest.raises(SystemExit) as stop:  # rejected at parse time
        main(["sample", "hi", "--temperature", "11"])
    assert stop.value.code == 2
    assert "out of range [0, 10]" in capsys.readouterr().err
