"""engine.image_metrics: copy check, FID-lite and its matrix square root, classifier."""

import numpy as np
import pytest

from engine import image_metrics as M
from engine import images


def test_sqrtm_psd_against_a_plain_reference():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    spd = a @ a.T + 0.1 * np.eye(6)
    root = M.sqrtm_psd(spd)
    np.testing.assert_allclose(root @ root, spd, atol=1e-9)
    np.testing.assert_allclose(root, root.T, atol=1e-12)
    # reference: Denman-Beavers iteration, no eigendecomposition
    y, z = spd.copy(), np.eye(6)
    for _ in range(60):
        y, z = (y + np.linalg.inv(z)) / 2, (z + np.linalg.inv(y)) / 2
    np.testing.assert_allclose(root, y, atol=1e-8)


def test_frechet_distance_closed_forms():
    mu = np.zeros(3)
    cov = np.diag([1.0, 2.0, 3.0])
    assert M.frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-9)
    # equal covariances: only the squared mean shift remains
    assert M.frechet_distance(mu, cov, mu + [1, 2, 2], cov) == pytest.approx(9.0)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert M.frechet_distance([0.0], [[4.0]], [1.0], [[9.0]]) == pytest.approx(1.0 + 1.0)


def test_fid_lite_zero_with_itself_and_grows_with_a_shift():
    real = images.sprites(400, 0).images
    assert M.fid_lite(real, real) == pytest.approx(0.0, abs=1e-6)
    small = M.fid_lite(real, np.clip(real + 0.05, 0, 1))
    large = M.fid_lite(real, np.clip(real + 0.2, 0, 1))
    assert 0 < small < large
    # a fresh draw of the same distribution is closer than a shifted one
    assert M.fid_lite(real, images.sprites(400, 1).images) < small


def test_fid_features_fixed_and_documented_size():
    x = images.sprites(10, 0).images
    f = M.fid_features(x)
    assert f.shape == (10, M.FEATURE_DIM) and (f >= 0).all()
    np.testing.assert_array_equal(f, M.fid_features(x))


def test_fid_features_in_row_blocks_match_the_formula():
    """Features are computed FEATURE_CHUNK rows at a time (no centred copy of a whole
    training set); across block boundaries they equal ReLU((x - 0.5) @ W)."""
    x = images.sprites(M.FEATURE_CHUNK + 50, 2).images
    f = M.fid_features(x)
    flat = x.reshape(len(x), -1).astype(np.float64)
    w = M._feature_weights[flat.shape[1]].astype(np.float64)
    np.testing.assert_allclose(f, np.maximum((flat - 0.5) @ w, 0.0), rtol=1e-4, atol=1e-5)


def test_nearest_neighbour_flags_copies_not_fresh_samples():
    train = images.sprites(3000, 1).images
    fresh = images.sprites(64, 2).images
    dist, idx = M.nearest_neighbours(train[:10], train)
    np.testing.assert_array_equal(idx, np.arange(10))
    assert np.all(dist < 1e-6)
    copied = np.clip(train[100:110] + np.random.default_rng(0).normal(0, 0.002, train[:10].shape), 0, 1)
    assert M.copies(copied, train).all()
    assert not M.copies(fresh, train).any()
    # brute-force reference for the distances
    d_ref = np.sqrt(((fresh[:5, None] - train[None]) ** 2).reshape(5, len(train), -1).mean(-1))
    dist, idx = M.nearest_neighbours(fresh[:5], train)
    np.testing.assert_allclose(dist, d_ref.min(1), rtol=1e-5)
    np.testing.assert_array_equal(idx, d_ref.argmin(1))


def test_classifier_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, M.N_SHAPE + M.N_COLOUR)).astype(np.float32)
    ys, yc = np.array([0, 3, 6, 2]), np.array([1, 6, 0, 5])
    g = np.empty_like(z)
    M._two_head_ce(z, ys, yc, M.N_SHAPE, g)
    h = 1e-2
    for i, j in [(0, 0), (1, 3), (2, 8), (3, 13)]:
        up, down = z.copy(), z.copy()
        up[i, j] += h
        down[i, j] -= h
        num = (
            M._two_head_ce(up, ys, yc, M.N_SHAPE, np.empty_like(z))
            - M._two_head_ce(down, ys, yc, M.N_SHAPE, np.empty_like(z))
        ) / (2 * h)
        assert g[i, j] == pytest.approx(num, abs=1e-3)


def test_shipped_classifier_recognises_real_sprites_and_rejects_junk():
    clf = M.shipped_classifier()
    real = images.sprites(500, 123)
    assert M.attribute_accuracy(real.images) >= 0.95
    assert M.attribute_agreement(real.images, real.shape, real.colour) >= 0.95
    assert M.attribute_accuracy(M.junk_images(300, 9), clf) <= 0.1
    noise = np.random.default_rng(0).uniform(0, 1, (100, 16, 16, 3)).astype(np.float32)
    assert M.attribute_accuracy(noise, clf) <= 0.1


def test_tiny_classifier_training_learns(tmp_path):
    clf = M.SpriteClassifier(hidden=32, seed=1)
    test = images.sprites(300, 50)
    before = M.attribute_agreement(test.images, test.shape, test.colour, clf)
    clf.train(steps=300, n=2000, seed=3)
    after = M.attribute_agreement(test.images, test.shape, test.colour, clf, confidence=0.3)
    assert after > before + 0.2
    back = M.SpriteClassifier.load(clf.save(tmp_path / "c.npz"))
    np.testing.assert_array_equal(back.mlp.params, clf.mlp.params)
