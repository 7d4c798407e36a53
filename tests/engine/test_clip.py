"""engine.clip: every kernel against numpy and finite differences, the whole model's
gradients against the plain-numpy reference (itself checked by finite differences in
float64), determinism, weights, and the shipped model's figures."""

import itertools

import numpy as np
import pytest

from engine import captions as C
from engine import clip, images
from engine.weights import WeightsError
from tests import reference as ref

F32 = np.float32


def numeric_grad(f, x, picks, h):
    """Central differences of the scalar f() w.r.t. x.flat[picks] (x changed in place)."""
    out = []
    for i in picks:
        old = x.flat[i]
        x.flat[i] = old + h
        up = f()
        x.flat[i] = old - h
        down = f()
        x.flat[i] = old
        out.append((up - down) / (2 * h))
    return np.array(out)


def tiny(seed=3, **kw):
    cfg = {
        "width": 8,
        "hidden": 12,
        "embed": 6,
        "max_len": 16,
        "seed": seed,
        "train_n": 300,
        "batch": 8,
        "captions": 4,
    }
    cfg.update(kw)
    return clip.CLIP(clip.ClipConfig(**cfg))


# -------------------------------------------------------------------- kernels


def test_embed_tokens_and_scatter_backward_match_numpy():
    rng = np.random.default_rng(0)
    emb, pos = rng.normal(size=(7, 5)).astype(F32), rng.normal(size=(4, 5)).astype(F32)
    ids, positions = np.array([3, 1, 3, 6, 0], np.int64), np.array([0, 1, 2, 0, 1], np.int64)
    out = np.empty((5, 5), F32)
    clip.embed_tokens(ids, positions, emb, pos, out)
    np.testing.assert_allclose(out, emb[ids] + pos[positions], rtol=1e-6)
    dout = rng.normal(size=(5, 5)).astype(F32)
    demb, dpos = np.full_like(emb, 9.0), np.full_like(pos, 9.0)
    clip.embed_tokens_backward(ids, positions, dout, demb, dpos)
    want_e, want_p = np.zeros_like(emb), np.zeros_like(pos)
    np.add.at(want_e, ids, dout)
    np.add.at(want_p, positions, dout)
    np.testing.assert_allclose(demb, want_e, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dpos, want_p, rtol=1e-6, atol=1e-6)


def test_segment_mean_and_backward():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(6, 3)).astype(F32)
    offsets = np.array([0, 1, 4, 6], np.int64)
    out = np.empty((3, 3), F32)
    clip.segment_mean(h, offsets, out)
    want = np.stack([h[0:1].mean(0), h[1:4].mean(0), h[4:6].mean(0)])
    np.testing.assert_allclose(out, want, rtol=1e-6)
    w = rng.normal(size=(3, 3)).astype(F32)  # loss = sum(w * out)
    dh = np.empty_like(h)
    clip.segment_mean_backward(w, offsets, dh)

    def loss():
        clip.segment_mean(h, offsets, out)
        return float(np.sum(w * out.astype(np.float64)))

    num = numeric_grad(loss, h, range(h.size), 1e-2)
    np.testing.assert_allclose(dh.ravel(), num, rtol=1e-3, atol=1e-4)


def test_l2_normalise_and_backward():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(4, 5)).astype(F32)
    u, norms = np.empty_like(f), np.empty(4, F32)
    clip.l2_normalise(f, u, norms)
    np.testing.assert_allclose(u, f / np.linalg.norm(f, axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, rtol=1e-6)
    w = rng.normal(size=(4, 5)).astype(F32)
    df = np.empty_like(f)
    clip.l2_normalise_backward(u, norms, w, df)

    def loss():
        clip.l2_normalise(f, u, norms)
        return float(np.sum(w * u.astype(np.float64)))

    num = numeric_grad(loss, f, range(f.size), 1e-2)
    np.testing.assert_allclose(df.ravel(), num, rtol=2e-2, atol=2e-3)


def test_contrastive_loss_closed_forms():
    n = 6
    grad = np.empty((n, n), F32)
    # all logits equal: every softmax is uniform, the loss is log N
    assert clip.contrastive_loss(np.zeros((n, n), F32), np.eye(n, dtype=F32), grad) == pytest.approx(
        np.log(n), rel=1e-6
    )
    # identity targets: CLIP's loss, the mean of the two cross-entropies
    rng = np.random.default_rng(3)
    logits = (3 * rng.normal(size=(n, n))).astype(F32)
    x = logits.astype(np.float64)
    rows = -np.mean(np.diag(x - np.log(np.exp(x).sum(1, keepdims=True))))
    cols = -np.mean(np.diag(x - np.log(np.exp(x).sum(0, keepdims=True))))
    assert clip.contrastive_loss(logits, np.eye(n, dtype=F32), grad) == pytest.approx(
        (rows + cols) / 2, rel=1e-5
    )


@pytest.mark.parametrize("soft", [False, True])
def test_contrastive_loss_gradient(soft):
    rng = np.random.default_rng(4)
    n = 5
    logits = (2 * rng.normal(size=(n, n))).astype(F32)
    match = np.eye(n, dtype=F32)
    if soft:  # caption 1 is also true of images 0 and 3, ...
        match[0, 1] = match[3, 1] = match[2, 4] = 1.0
    grad = np.empty_like(logits)
    clip.contrastive_loss(logits, match, grad)
    scratch = np.empty_like(logits)
    num = numeric_grad(
        lambda: clip.contrastive_loss(logits, match, scratch), logits, range(logits.size), 1e-2
    )
    np.testing.assert_allclose(grad.ravel(), num, rtol=1e-2, atol=1e-4)
    x = logits.astype(np.float64)
    tr, tc = match / match.sum(1, keepdims=True), match / match.sum(0, keepdims=True)
    pr = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    pc = np.exp(x) / np.exp(x).sum(0, keepdims=True)
    np.testing.assert_allclose(grad, ((pr - tr) + (pc - tc)) / (2 * n), atol=1e-6)


def test_patchify_matches_reference_and_keeps_every_pixel():
    x = np.random.default_rng(5).random((3, 16, 16, 3)).astype(F32)
    for k in (2, 4, 8):
        p = clip.patchify(x, k)
        assert p.shape == (3 * (16 // k) ** 2, k * k * 3)
        np.testing.assert_array_equal(p.reshape(3, (16 // k) ** 2, -1), ref.patchify(x, k))
        assert np.isclose(p.sum(), x.sum(), rtol=1e-5)
    with pytest.raises(ValueError, match="does not divide"):
        clip.patchify(x, 5)


# -------------------------------------------------------------- the whole model


def _batch(model, seed=0):
    model.rng = np.random.default_rng(seed)
    return model.sample_batch()


def _token_lists(ids, offsets):
    return [list(ids[a:b]) for a, b in itertools.pairwise(offsets)]


@pytest.mark.parametrize("patch", [4, 8])
def test_gradients_match_the_numpy_reference(patch):
    model = tiny(patch=patch, batch=24)
    images, ids, positions, offsets, match, _ = _batch(model)
    assert match.sum() > len(match)  # the batch has partial captions true of others
    out = model.loss(images, ids, positions, offsets, match)
    p = ref.clip_params_from_engine(model)
    loss, want = ref.clip_loss(
        p, images.astype(np.float64), _token_lists(ids, offsets), match.astype(np.float64), patch
    )
    assert out["loss"] == pytest.approx(loss, rel=1e-4)
    got = ref.clip_grads_from_engine(model)
    assert set(got) == set(want)
    for name in want:
        scale = np.abs(want[name]).max() + 1e-8
        np.testing.assert_allclose(got[name], want[name], atol=2e-4 * scale + 1e-6, err_msg=name)


def test_reference_gradients_match_finite_differences_for_every_layer():
    model = tiny(seed=5)
    images, ids, _positions, offsets, match, _ = _batch(model, 1)
    p = ref.clip_params_from_engine(model)
    x, tokens, m = images.astype(np.float64), _token_lists(ids, offsets), match.astype(np.float64)
    _, grads = ref.clip_loss(p, x, tokens, m, 4)
    rng = np.random.default_rng(6)
    used = sorted(set(ids))
    for name, arr in p.items():
        if name == "tok_emb":  # only the rows of words in the batch get gradient
            picks = [w * arr.shape[1] + j for w in used[:3] for j in range(2)]
        elif name == "txt_pos":
            picks = list(range(6))
        else:
            picks = list(rng.choice(arr.size, min(6, arr.size), replace=False))
        num = numeric_grad(lambda: ref.clip_loss(p, x, tokens, m, 4)[0], arr, picks, 1e-5)
        np.testing.assert_allclose(grads[name].flat[picks], num, rtol=1e-5, atol=1e-8, err_msg=name)


def test_engine_gradients_match_finite_differences_in_float32():
    model = tiny(seed=7)
    images, ids, positions, offsets, match, _ = _batch(model, 2)
    model.loss(images, ids, positions, offsets, match)
    grads = model.grads.copy()
    rng = np.random.default_rng(8)
    picks = list(rng.choice(model.params.size, 25, replace=False)) + [model.params.size - 1]

    def loss():
        return model.loss(images, ids, positions, offsets, match, backward=False)["loss"]

    num = numeric_grad(loss, model.params, picks, 1e-2)
    np.testing.assert_allclose(grads[picks], num, rtol=5e-2, atol=2e-3)


def test_training_is_deterministic_and_seed_dependent():
    a, b, c = tiny(seed=1), tiny(seed=1), tiny(seed=2)
    for m in (a, b, c):
        m.train(4)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_training_lowers_the_loss_and_keeps_the_scale_in_range():
    model = tiny(seed=0, width=16, hidden=32, embed=8, batch=32, lr=5e-3)
    first = model.train(5)["loss"]
    for _ in range(6):
        last = model.train(20)
    assert last["loss"] < first - 0.3
    assert 0.0 <= model.p["logit_scale"][0] <= clip.MAX_SCALE
    assert 1 / 100 <= model.temperature <= 1.0


def test_embeddings_are_unit_vectors_and_texts_need_a_known_word():
    model = tiny()
    u = model.encode_images(images.sprites(5, 0).images)
    v = model.encode_texts(["a red heart", "on the left, a big blue cross"])
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match="no known word"):
        model.encode_texts(["zebra photographs"])
    with pytest.raises(ValueError, match="patch"):
        clip.CLIP(clip.ClipConfig(patch=5))


def test_save_load_round_trip_and_bad_files(tmp_path):
    model = tiny()
    model.train(2)
    path = model.save(tmp_path / "c.npz")
    back = clip.CLIP.load(path)
    np.testing.assert_array_equal(back.params, model.params)
    assert back.config == model.config and back.steps == 2
    with pytest.raises(WeightsError):
        clip.CLIP.load(tmp_path / "missing.npz")


def test_training_sprites_never_show_a_held_out_pair():
    s = clip.training_sprites(2000, 0)
    assert not C.is_held_out(clip.sprite_attributes(s)).any()
    model = tiny()
    _, attrs, _, _, _, slots = model._training_data()
    assert not C.is_held_out(attrs).any()
    # every caption in the bank is true of its combination and uses a training template
    combos = C.training_combinations()
    owners = np.repeat(combos, model.config.captions, axis=0)
    assert all(C.match_matrix(owners[i : i + 1], slots[i : i + 1])[0, 0] for i in range(0, len(owners), 97))


def test_evaluation_queries_use_only_held_out_phrasings():
    data = clip.evaluation_set(300, 11)
    _texts, attrs = data["phrasings"]
    assert not C.is_held_out(attrs).any()
    _, held = data["combinations"]
    assert C.is_held_out(held).all() and len(held) > 0
    gallery = {tuple(a) for a in data["attrs"]}
    assert all(tuple(a) in gallery for a in np.concatenate([attrs, held]))


# -------------------------------------------------------------- shipped weights


@pytest.fixture(scope="module")
def shipped():
    try:
        return clip.pretrained()
    except WeightsError as exc:
        pytest.fail(f"shipped CLIP weights missing: {exc}")


def test_shipped_model_meets_the_bars(shipped):
    figures = clip.evaluate(shipped)
    for name, bar in clip.BARS.items():
        assert figures[name] >= bar, (name, figures[name])


def test_shipped_model_search_finds_the_described_sprite(shipped):
    s = images.sprites_with(*C.all_combinations().T, seed=9)  # each combination once
    top, cos = shipped.search("a big blue cross at the top", s.images, n=3)
    assert np.all(np.diff(cos) <= 0)
    i = top[0]
    assert (
        images.SHAPES[s.shape[i]],
        images.COLOURS[s.colour[i]],
        images.POSITIONS[s.position[i]],
        images.SIZES[s.size[i]],
    ) == ("cross", "blue", "top", "large")


def test_project_2d_is_pca_of_the_union():
    rng = np.random.default_rng(9)
    a = rng.normal(size=(40, 6)) * [5, 2, 1, 0.1, 0.1, 0.1]
    b = rng.normal(size=(30, 6)) * [5, 2, 1, 0.1, 0.1, 0.1] + 1.0
    pa, pb = clip.project_2d(a, b)
    both = np.concatenate([a, b])
    sv = np.linalg.svd(both - both.mean(0), compute_uv=False)
    got = np.concatenate([pa, pb])
    np.testing.assert_allclose(got.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose((got**2).sum(0), sv[:2] ** 2, rtol=1e-9)
    np.testing.assert_allclose(clip.project_2d(a, b)[0], pa)  # deterministic signs


def test_image_token_arithmetic():
    assert clip.image_tokens(224, 16) == 196 and clip.image_tokens(224, 14) == 256
    assert [clip.image_tokens(16, k) for k in (2, 4, 8)] == [64, 16, 4]
    with pytest.raises(ValueError):
        clip.image_tokens(16, 0)


def test_patch_similarity_shape_and_agrees_with_encoding_a_one_patch_image():
    model = tiny()
    s = images.sprites(1, 0)
    sim = model.patch_similarity(s.images[0], ["a red heart", "a blue square", "left"])
    assert sim.shape == (16, 3) and np.all(np.abs(sim) <= 1 + 1e-5)
    # the mean of the patch tokens, projected, is the sprite's own embedding direction
    model.p["img_pos"][...] = 0.0
    flat = np.tile(s.images[:, :4, :4, :], (1, 4, 4, 1))  # 16 copies of patch 0
    whole = model.encode_images(flat)[0] @ model.encode_texts(["a red heart"])[0]
    sim = model.patch_similarity(flat[0], ["a red heart"])
    np.testing.assert_allclose(sim[:, 0], whole, rtol=1e-4, atol=1e-5)


def test_shipped_model_modality_gap_and_patch_words(shipped):
    s = images.sprites(200, 4)
    attrs = clip.sprite_attributes(s)
    texts, slots = C.random_captions(attrs, np.random.default_rng(0))
    gap = shipped.modality_gap(s.images, texts, C.match_matrix(attrs, slots))
    assert gap["matching"] > gap["mismatched"] + 0.2 and gap["centre_distance"] > 0
    red_heart = images.sprites_with([5], [0], [4], [1], seed=1).images[0]
    words = list(images.COLOURS)
    sim = shipped.patch_similarity(red_heart, words)
    centre_patches = [5, 6, 9, 10]  # the middle 2x2 patches: the heart
    assert all(words[j] == "red" for j in sim[centre_patches].argmax(axis=1))


def test_temperature_and_batch_knobs():
    model = tiny()
    model.set_temperature(0.5)
    model.train(3)
    assert model.temperature == pytest.approx(0.5, rel=1e-5)
    model.set_temperature(None)
    model.train(3)
    assert model.temperature != pytest.approx(0.5, rel=1e-5)
    model.set_batch(5)
    assert len(model.sample_batch()[0]) == 5
    with pytest.raises(ValueError):
        model.set_temperature(5.0)
    with pytest.raises(ValueError):
        model.set_batch(1)


def test_display_batch_and_rank_texts(shipped):
    sprites, texts = clip.display_batch(8, seed=1)
    attrs = clip.sprite_attributes(sprites)
    assert len(np.unique(attrs, axis=0)) == 8 and not C.is_held_out(attrs).any()
    sim = shipped.encode_images(sprites.images) @ shipped.encode_texts(texts).T
    assert (np.argmax(sim, axis=1) == np.arange(8)).all()  # the diagonal wins
    order, cos = shipped.rank_texts(sprites.images[3], texts)
    assert order[0] == 3 and np.all(np.diff(cos) <= 0)
