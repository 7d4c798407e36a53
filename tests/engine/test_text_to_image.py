"""engine.text_to_image and the free-vector conditioning of engine.diffusion it relies on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine import captions as C
from engine import clip as clip_mod
from engine import diffusion as D
from engine import images as imgs
from engine import text_to_image as T
from engine import weights

F32 = np.float32


# ------------------------------------------------ free condition vectors, learned null


def vector_conditioned(dim=3, width=4, **kw):
    """A tiny model reading a 4-number condition per row: row r's condition is fixed,
    and the data's mean follows its first number."""
    cfg = dict(
        shape=(dim,),
        hidden=12,
        layers=2,
        emb=8,
        batch=16,
        seed=5,
        cond_vec=width,
        learned_null=True,
        p_uncond=0.3,
        guidance=2.0,
    )
    cfg.update(kw)
    rng = np.random.default_rng(0)
    conds = rng.standard_normal((64, width)).astype(F32)
    data = (conds[:, :1] + 0.1 * rng.standard_normal((64, dim))).astype(F32)
    return D.Diffusion(D.DiffusionConfig(**cfg), data, conditions=lambda rows: conds[rows]), conds


def test_learned_null_gradient_matches_finite_differences():
    model, _ = vector_conditioned()
    model.step()  # builds one batch in model._net_inp
    rng = np.random.default_rng(2)
    model.null[...] = rng.standard_normal(4).astype(F32)
    inp, target = model._net_inp.copy(), np.ascontiguousarray(model._target[:, : model.k])
    dropped = np.zeros(len(inp), bool)
    dropped[[0, 3, 7, 11]] = True
    w = model.width

    def loss_at(null):
        x = inp.copy()
        x[dropped, w:] = null
        pred = model.net.forward(x).astype(np.float64)
        return np.mean((pred - target) ** 2)

    x = inp.copy()
    x[dropped, w:] = model.null
    loss = model.loss_and_grads(x, target, dropped)
    assert loss == pytest.approx(loss_at(model.null), rel=1e-5)
    analytic = model.null_grad.copy()
    assert np.any(analytic != 0)
    h = 1e-2
    for j in range(4):
        up, down = model.null.astype(np.float64), model.null.astype(np.float64)
        up[j] += h
        down[j] -= h
        numeric = (loss_at(up) - loss_at(down)) / (2 * h)
        assert numeric == pytest.approx(analytic[j], rel=0.05, abs=2e-4)


def test_learned_null_trains_and_guidance_mixes_with_it():
    model, conds = vector_conditioned()
    before = model.null.copy()
    model.train(20)
    assert not np.allclose(model.null, before)  # the null vector learns
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(F32)
    c = conds[:5]
    cond, uncond = model.predict_eps(x, 300, cond=c), model.predict_eps(x, 300)
    # ∅ is the (EMA) learned vector, not zeros
    assert np.allclose(uncond, model.predict_eps(x, 300, cond=np.tile(model.ema_null, (5, 1))))
    assert not np.allclose(uncond, model.predict_eps(x, 300, cond=np.zeros_like(c)))
    assert np.allclose(model.guided_eps(x, 300, c, 2.5), uncond + 2.5 * (cond - uncond), atol=1e-5)


def test_one_hot_models_keep_a_zero_null():
    model = D.Diffusion(
        D.DiffusionConfig(shape=(2,), hidden=8, layers=1, emb=4, batch=8, cond=(3,)),
        np.zeros((6, 2), F32),
        np.zeros(6, np.int64),
    )
    model.train(3)
    assert not np.any(model.null) and not np.any(model.ema_null)
    assert "null" not in model.arrays()


def test_vector_conditioned_model_follows_its_condition_and_round_trips(tmp_path):
    model, _ = vector_conditioned(hidden=32, lr=3e-3, batch=64, ema=0.9)
    model.train(500)
    c = np.zeros((40, 4), F32)
    c[:20, 0], c[20:, 0] = -1.5, 1.5
    out, _ = model.sample(40, steps=30, seed=0, cond=c)
    assert out[:20].mean() < -0.8 and out[20:].mean() > 0.8
    back = D.Diffusion.load(model.save(tmp_path / "v.npz"))
    assert np.array_equal(back.ema_null, model.ema_null)
    a, _ = model.sample(4, steps=5, seed=1, cond=c[:4])
    b, _ = back.sample(4, steps=5, seed=1, cond=c[:4])
    assert np.allclose(a, b, atol=1e-6)
    arrays, meta = weights.load(tmp_path / "v.npz", "diffusion", D.VERSION)
    del arrays["null"]
    weights.save(tmp_path / "broken.npz", arrays, meta)
    with pytest.raises(weights.WeightsError, match="null"):
        D.Diffusion.load(tmp_path / "broken.npz")


# ------------------------------------------------------------ reading pictures back


def test_read_attributes_reads_fresh_real_sprites():
    s = imgs.sprites(400, 31337)
    truth = np.stack([s.shape, s.colour, s.position, s.size], axis=1)
    read = T.read_attributes(s.images)
    assert np.mean(np.all(read == truth, axis=1)) >= 0.98
    assert np.all(T.read_attributes(np.full((2, 16, 16, 3), 0.1, F32))[:, 2:] == -1)


def test_requested_right_checks_only_stated_attributes():
    read = np.array([[1, 2, 3, 0], [1, 2, 3, 1]])
    assert T.requested_right(read, np.array([[1, 2, -1, 0], [1, 2, -1, 0]])).tolist() == [True, False]


def test_prompt_slots_and_attribute_names():
    assert T.prompt_slots("on the right, a tiny yellow diamond").tolist() == [3, 2, 1, 0]
    assert T.prompt_slots("a big small circle").tolist() == [0, -1, -1, 1]  # first word wins
    assert T.prompt_slots("something violet").tolist() == [-1, 5, -1, -1]
    assert T.attribute_names(np.array([5, 0, 4, -1])) == {
        "shape": "heart",
        "colour": "red",
        "position": "centre",
        "size": "?",
    }


def test_combo_index_numbers_all_combinations_in_order():
    assert np.array_equal(T.combo_index(C.all_combinations()), np.arange(360))


def test_training_set_and_caption_bank_keep_the_held_out_parts_out():
    images, attrs = T.training_set()
    assert len(images) == len(attrs) > 15000 and not np.any(C.is_held_out(attrs))
    texts = T.bank_captions(per_combo=4, seed=1)
    assert len(texts) == 360 * 4
    # each combination's captions describe it: two of four state all four attributes,
    # the last joins two training phrasings with "and"
    for i in (0, 7, 359):
        combo = C.all_combinations()[i]
        group = texts[4 * i : 4 * i + 4]
        slots = np.array([T.prompt_slots(x) for x in group])
        assert np.all((slots == combo) | (slots < 0))
        assert np.all(slots[:2] >= 0)
        assert " and " in group[3]
    # marks of three held-out phrasings that no training template has
    for mark in ("and the shape is", ": a ", ", the "):
        assert not any(mark in x for x in texts)
        assert any(mark in t for t in C.HELD_OUT_TEMPLATES)
    enc = clip_mod.pretrained()
    bank = T.caption_bank(enc, per_combo=4, seed=1)
    assert bank.shape == (360, 4, enc.config.embed)
    # the conditions are the encoder's unit embeddings times √E
    np.testing.assert_allclose(np.linalg.norm(bank, axis=2), np.sqrt(enc.config.embed), rtol=1e-5)
    np.testing.assert_allclose(bank[7, 2], np.sqrt(32) * enc.encode_texts([texts[7 * 4 + 2]])[0], atol=1e-5)


def test_clip_score_is_clipped_cosine_times_100():
    enc = clip_mod.pretrained()
    s = imgs.sprites(6, 3)
    texts = list(s.captions[::-1])
    expected = 100 * np.maximum(np.sum(enc.encode_images(s.images) * enc.encode_texts(texts), 1), 0)
    np.testing.assert_allclose(enc.clip_score(s.images, texts), expected, rtol=1e-5)
    # a sprite's own caption fits it better than another sprite's
    assert enc.clip_score(s.images, s.captions).mean() > enc.clip_score(s.images, texts).mean() + 10
    with pytest.raises(ValueError, match="row for row"):
        enc.clip_score(s.images, texts[:2])


# ------------------------------------------------------------------ the tiny model


@pytest.fixture(scope="module")
def tiny():
    images, attrs = T.training_set()
    data = (images[:400], attrs[:400])
    pixel = T.new_model(
        "pixel", 0, config=replace(T.RECIPES["pixel"]["config"], hidden=24, batch=16), data=data
    )
    pixel.diffusion.train(5)
    ae = T.train_autoencoder(data[0], 5, config=replace(T.AUTOENCODER, hidden=16))
    latent = T.new_model(
        "latent",
        0,
        autoencoder=ae,
        data=data,
        config=replace(T.RECIPES["latent"]["config"], hidden=24, batch=16),
    )
    latent.diffusion.train(5)
    return pixel, latent


def test_generate_film_ends_at_the_pictures_and_prompts_are_checked(tiny):
    for model in tiny:
        images, film = model.generate("a red heart", n=3, steps=4, record=True, seed=2)
        assert images.shape == (3, 16, 16, 3) and images.min() >= 0 and images.max() <= 1
        assert film is not None and len(film) == 5 and film[0][0] == 1000 and film[-1][0] == 0
        np.testing.assert_allclose(film[-1][1], images, atol=1e-5)  # x_0 is the picture
        again, _ = model.generate("a red heart", n=3, steps=4, seed=2)
        assert np.array_equal(images, again)
        with pytest.raises(ValueError, match="no known word"):
            model.generate("zebra", n=1, steps=2)
    assert T.TextToImage.unknown_words("a red zebra") == ["zebra"]


def test_seeds_in_one_batch_are_the_pictures_of_each_seed_alone(tiny):
    """DDIM draws no noise after the start, so picture k of a batch over ``seeds`` is
    generate(n=1, seed=seeds[k]) to float rounding; DDPM's first picture starts alike."""
    for model in tiny:
        batch, film = model.generate(
            "a small blue star", seeds=[7, 3, 11], steps=5, guidance=3.0, record=True
        )
        alone = [
            model.generate("a small blue star", n=1, seed=k, steps=5, guidance=3.0)[0][0] for k in (7, 3, 11)
        ]
        np.testing.assert_allclose(batch, np.stack(alone), atol=2e-5)
        assert film is not None and film[-1][1].shape == (3, 16, 16, 3)
        assert not np.allclose(batch[0], batch[1], atol=1e-2)  # different seeds, different pictures
        ddpm, _ = model.generate("a small blue star", seeds=[7, 3], steps=5, sampler="ddpm")
        first, _ = model.generate("a small blue star", n=2, seed=7, steps=5, sampler="ddpm")
        assert ddpm.shape == (2, 16, 16, 3) and not np.array_equal(
            ddpm, first
        )  # seed 3's start, not 7's stream
    with pytest.raises(ValueError, match="one prompt"):
        tiny[0].generate(["a red heart", "a blue star"], seeds=[1, 2], steps=2)
    with pytest.raises(ValueError, match="at least one seed"):
        tiny[0].generate("a red heart", seeds=[], steps=2)


def test_latent_model_works_in_the_small_grid(tiny):
    _, latent = tiny
    assert latent.kind == "latent" and latent.diffusion.config.dim == 64 == np.prod(T.LATENT_GRID)
    assert latent.diffusion.config.scale > 0


def test_text_to_image_round_trips(tiny, tmp_path):
    for model in tiny:
        path = model.save(tmp_path / f"{model.kind}.npz")
        back = T.TextToImage.load(path, model.text_encoder)
        assert back.kind == model.kind
        a, _ = model.generate("a small blue box", n=2, steps=3, seed=4)
        b, _ = back.generate("a small blue box", n=2, steps=3, seed=4)
        np.testing.assert_allclose(a, b, atol=1e-6)
    plain = D.Diffusion(D.DiffusionConfig(shape=(2,), hidden=4, layers=1, emb=4), np.zeros((3, 2), F32))
    plain.save(tmp_path / "plain.npz")
    with pytest.raises(weights.WeightsError, match="not a text-to-image"):
        T.TextToImage.load(tmp_path / "plain.npz")


def test_evaluation_prompts_use_held_out_phrasings_and_combinations():
    texts, slots = T.held_out_phrasing_prompts(100)
    assert len(texts) == 100 and np.all(slots >= 0) and not np.any(C.is_held_out(slots))
    templates = [t.split("{")[0] for t in C.HELD_OUT_TEMPLATES]
    assert all(any(text.startswith(p) for p in templates) for text in texts if text[0] != "o")
    ctexts, cslots = T.held_out_combination_prompts()
    assert len(ctexts) == 40 and np.all(C.is_held_out(cslots))


def test_evaluate_reports_every_figure(tiny):
    figures = T.evaluate(tiny[0], n=6, steps=3, sweep=(0.0, 3.0), train_images=T.training_set()[0][:50])
    for key in ("held_out_phrasings", "held_out_combinations", "clip_score", "copies"):
        assert key in figures
    assert set(figures["sweep"]) == {"0", "3"}
    assert 0 <= figures["held_out_phrasings"] <= 1


# ------------------------------------------------------------ the shipped weights


@pytest.mark.slow
@pytest.mark.parametrize("kind, floor, combinations", [("pixel", 0.90, 0.80), ("latent", 0.85, 0.90)])
def test_shipped_models_keep_their_measured_figures(kind, floor, combinations):
    """The README's figures (held-out phrasings: pixel 94 %, latent 86 %; combinations
    85 % and 97.5 %) against the issue's bars (90 % pixel, 85 % latent), at the shipped
    default guidance."""
    model = t2i_pretrained(kind)
    assert model.diffusion.config.guidance == T.GUIDANCE
    figures = T.evaluate(model, sweep=(0.0, model.diffusion.config.guidance))
    assert figures["held_out_phrasings"] >= floor
    assert figures["held_out_combinations"] >= combinations
    assert figures["copies"] == 0
    low, high = figures["sweep"]["0"], figures["sweep"][f"{model.diffusion.config.guidance:g}"]
    assert high["clip_score"] > low["clip_score"] and high["accuracy"] > low["accuracy"]


def t2i_pretrained(kind):
    return T.TextToImage.load(T.pretrained_path(kind))
