"""engine.evaluation and its metrics: precision/recall on k-NN manifolds, memorisation,
Spearman's rank correlation, FID-lite's small-sample bias, the table and perplexity."""

import itertools

import numpy as np
import pytest

from engine import evaluation as E
from engine import image_metrics as M
from engine import images, metrics

# ------------------------------------------------------------------ plain references


def reference_precision_recall(real, fake, k):
    """Kynkäänniemi et al. 2019 written out with loops: a point is inside the other set's
    manifold if it lies within some point's distance to that point's k-th other neighbour."""

    def radius(points, i):
        d = sorted(np.linalg.norm(points[i] - points[j]) for j in range(len(points)) if j != i)
        return d[min(k, len(d)) - 1]

    def share(points, centres):
        radii = [radius(centres, j) for j in range(len(centres))]
        hits = [
            any(np.linalg.norm(p - c) <= r + 1e-12 for c, r in zip(centres, radii, strict=True))
            for p in points
        ]
        return sum(hits) / len(points)

    return share(fake, real), share(real, fake)


def reference_spearman(a, b):
    """Average ranks by counting (rank = #smaller + (#equal + 1) / 2), then Pearson."""

    def ranks(x):
        x = list(x)
        return np.array([sum(v < xi for v in x) + (sum(v == xi for v in x) + 1) / 2 for xi in x])

    ra, rb = ranks(a), ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


# ------------------------------------------------------------------ precision / recall


def test_precision_recall_identical_sets_score_one():
    x = np.random.default_rng(0).normal(size=(60, 5))
    pr = M.precision_recall(x, x.copy())
    assert pr == {"precision": 1.0, "recall": 1.0}


def test_precision_recall_disjoint_far_sets_score_zero():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(50, 4))
    fake = rng.normal(size=(50, 4)) + 100.0
    assert M.precision_recall(real, fake) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_a_subset_is_precise_but_does_not_recall():
    rng = np.random.default_rng(2)
    real = np.concatenate([rng.normal(size=(40, 2)) * 0.3 + c for c in ([0, 0], [8, 0], [0, 8], [8, 8])])
    fake = rng.normal(size=(160, 2)) * 0.3  # one of the four clusters only
    pr = M.precision_recall(real, fake)
    assert pr["precision"] >= 0.9
    assert pr["recall"] <= 0.3


@pytest.mark.parametrize("k", [1, 3, 5])
def test_precision_recall_matches_the_plain_reference(k):
    rng = np.random.default_rng(k)
    real = rng.normal(size=(30, 3))
    fake = rng.normal(size=(25, 3)) * 1.5 + 0.5
    pr = M.precision_recall(real, fake, k)
    p, r = reference_precision_recall(real, fake, k)
    assert pr["precision"] == pytest.approx(p)
    assert pr["recall"] == pytest.approx(r)
    assert 0 < p < 1 and 0 < r < 1  # a case that can go either way


def test_knn_radii_against_sorting():
    x = np.random.default_rng(3).normal(size=(20, 4))
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    expected = np.sort(d, axis=1)[:, 3]  # column 0 is the point itself
    np.testing.assert_allclose(M.knn_radii(x, 3), expected, rtol=1e-9)


# ------------------------------------------------------------------ Spearman


def test_spearman_without_ties_is_the_closed_form():
    rng = np.random.default_rng(4)
    for _ in range(20):
        a, b = rng.permutation(12), rng.normal(size=12)
        d = metrics.average_ranks(a) - metrics.average_ranks(b)
        closed = 1 - 6 * np.sum(d**2) / (12 * (12**2 - 1))
        assert metrics.spearman(a, b) == pytest.approx(closed)


def test_spearman_with_ties_matches_the_plain_reference():
    rng = np.random.default_rng(5)
    for _ in range(20):
        ratings = rng.integers(1, 6, 12)  # 1..5 over 12 samples: ties certain
        scores = np.round(rng.normal(size=12), 1)
        assert metrics.spearman(ratings, scores) == pytest.approx(reference_spearman(ratings, scores))


def test_spearman_known_values_and_constant_input():
    assert metrics.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert metrics.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (1.5, 1.5, 3, 4) and (1, 2, 3, 4): deviations (-1, -1, .5, 1.5) and
    # (-1.5, -.5, .5, 1.5), so by hand 4.5 / sqrt(4.5 * 5)
    assert metrics.spearman([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / np.sqrt(4.5 * 5))
    np.testing.assert_array_equal(metrics.average_ranks([3, 1, 3, 2]), [3.5, 1, 3.5, 2])
    assert np.isnan(metrics.spearman([3, 3, 3], [1, 2, 3]))
    with pytest.raises(ValueError):
        metrics.spearman([1, 2], [1, 2, 3])


# ------------------------------------------------------------------ memorisation


def test_a_planted_copy_is_always_found():
    train = images.sprites(1000, 0).images
    fresh = images.sprites(40, 1).images
    for seed, position in itertools.product(range(5), (0, 17, 39)):
        planted, index = E.plant_copy(fresh, train, position, seed)
        mem = M.memorisation(planted, train)
        assert mem["copy"][position]
        assert mem["distance"][position] == pytest.approx(0.0, abs=1e-6)
        np.testing.assert_array_equal(train[mem["index"][position]], train[index])
        assert mem["copies"] == 1  # and nothing else is flagged


def test_memorisation_nearest_image_matches_brute_force():
    train = images.sprites(200, 3).images
    samples = images.sprites(10, 4).images
    mem = M.memorisation(samples, train)
    d = np.sqrt(((samples[:, None].astype(np.float64) - train[None]) ** 2).mean(axis=(2, 3, 4)))
    np.testing.assert_array_equal(mem["index"], d.argmin(axis=1))
    np.testing.assert_allclose(mem["distance"], d.min(axis=1), atol=1e-7)
    assert mem["median_distance"] == pytest.approx(np.median(d.min(axis=1)), abs=1e-7)


# ------------------------------------------------------------------ FID-lite bias


def test_fid_lite_small_sample_bias_shrinks_as_n_grows():
    train = images.sprites(4000, 0).images
    fresh = images.sprites(1024, 9).images  # the same distribution: truth is ~0
    scores = [M.fid_lite(train, fresh[:n]) for n in (32, 128, 512, 1024)]
    assert all(a > b for a, b in itertools.pairwise(scores)), scores
    assert scores[0] > 4 * scores[-1]


# ------------------------------------------------------------------ the table (shipped models)


@pytest.fixture(scope="module")
def evaluator():
    return E.Evaluator()


def test_draws_are_prefix_stable(evaluator):
    first, attrs = (a.copy() for a in evaluator.samples("ddim", 20, 3))
    evaluator.sets.pop(("ddim", 3))  # draw again from nothing, more this time
    more, more_attrs = evaluator.samples("ddim", 40, 3)
    np.testing.assert_array_equal(first, more[:20])
    np.testing.assert_array_equal(attrs, more_attrs[:20])


def test_table_rows_hold_every_figure(evaluator):
    rows = evaluator.table(32, 0)
    assert [r["family"] for r in rows] == list(E.ROWS)
    for r in rows:
        assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1
        assert 0 <= r["attribute_accuracy"] <= 1 and r["fid_lite"] > 0
        assert r["copies"] == 0 and r["nearest_train_median"] > M.COPY_RMS
        assert (r["clipscore"] is None) == (r["family"] in ("gan", "vae"))
    by = {r["family"]: r for r in rows}
    assert by["real"]["attribute_accuracy"] >= 0.9  # the classifier knows real sprites
    assert by["ddim"]["attribute_accuracy"] > by["gan"]["attribute_accuracy"]
    # the same row again: the same numbers (cached samples, deterministic metrics)
    assert evaluator.row("gan", 32, 0) == by["gan"]


def test_clipscore_prefers_the_right_prompt(evaluator):
    real, attrs = evaluator.samples("real", 32, 0)
    right = evaluator.clipscore(real, attrs)
    wrong = evaluator.clipscore(real, np.roll(attrs, 1, axis=0))
    assert right.mean() > wrong.mean()
    assert E.prompt_of(attrs[0]).startswith("a ")


def test_ratings_agreement_with_each_metric(evaluator):
    x, names = E.rating_set(evaluator, 0)
    assert x.shape == (12, 16, 16, 3) and sorted(set(names)) == sorted(E.FAMILIES)
    scores = evaluator.per_sample(x, 32, 0)
    assert set(scores) == set(E.METRIC_NAMES)
    agree = E.agreement(scores["classifier"], scores)
    assert agree["classifier"] == pytest.approx(1.0)


def test_perplexity_held_out_beats_shuffled_and_other_domain():
    from engine import lm
    from engine.paths import shipped

    model, _ = lm.LanguageModel.load(shipped("weights", "lm.npz"))
    t = E.text_table(model)
    _, val = lm.split(lm.read_corpus(shipped("corpus")))
    model.attach(val[:1], val)  # the model's own validation figure
    assert t["held_out"]["perplexity"] == pytest.approx(model.perplexity())
    assert t["held_out"]["perplexity"] < t["other_domain"]["perplexity"]
    assert t["held_out"]["perplexity"] < t["shuffled"]["perplexity"]
    assert t["shuffled"]["words"] == t["held_out"]["words"]
    assert t["other_domain"]["unknown"] > t["held_out"]["unknown"]


def test_evaluator_loads_the_files_it_is_given(tmp_path):
    """A learner's own weights file replaces the shipped one: a missing one is an error
    naming the file, and only the models a learner can train are accepted."""
    from engine.weights import WeightsError

    ev = E.Evaluator({"gan": tmp_path / "mine.npz"})
    with pytest.raises(WeightsError, match="mine.npz"):
        ev.model("gan")
    with pytest.raises(ValueError, match="clip"):
        E.Evaluator({"clip": tmp_path / "x.npz"})
