"""engine.images: the procedural sprites and the shipped UCI digits."""

import numpy as np

from engine import images as I


def test_sprites_shapes_ranges_and_captions():
    s = I.sprites(300, seed=0)
    assert s.images.shape == (300, 16, 16, 3) and s.images.dtype == np.float32
    assert s.images.min() >= 0.0 and s.images.max() <= 1.0
    for ids, vocab in (
        (s.shape, I.SHAPES),
        (s.colour, I.COLOURS),
        (s.position, I.POSITIONS),
        (s.size, I.SIZES),
    ):
        assert ids.shape == (300,) and set(np.unique(ids)) == set(range(len(vocab)))
    assert len(s.captions) == 300
    i = 7
    assert s.captions[i] == I.caption(s.shape[i], s.colour[i], s.position[i], s.size[i])
    assert I.COLOURS[s.colour[i]] in s.captions[i] and I.SHAPES[s.shape[i]] in s.captions[i]
    assert I.caption(5, 0, 0, 0) == "a small red heart on the left"


def test_sprites_deterministic_and_seed_dependent():
    a, b, c = I.sprites(50, seed=4), I.sprites(50, seed=4), I.sprites(50, seed=5)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.captions == b.captions
    assert not np.array_equal(a.images, c.images)


def test_sprite_is_drawn_in_its_colour_at_its_position():
    s = I.sprites(200, seed=1)
    for i in range(200):
        img = s.images[i]
        bg = img[0, 0] if s.position[i] != 2 else img[15, 15]
        diff = np.abs(img - bg).sum(axis=2)
        ys, xs = np.nonzero(diff > 0.5)
        assert len(ys) > 0, s.captions[i]
        cx, cy = xs.mean() + 0.5, ys.mean() + 0.5
        ex, ey = I.CENTRES[s.position[i]]
        assert abs(cx - ex) < 2.0 and abs(cy - ey) < 2.5, s.captions[i]
        # the most saturated pixel is close to the named colour
        y, x = np.unravel_index(np.argmax(diff), diff.shape)
        assert np.abs(img[y, x] - I.PALETTE[s.colour[i]]).max() < 0.1, s.captions[i]


def test_sprites_are_never_identical():
    s = I.sprites(400, seed=2)
    flat = s.images.reshape(len(s), -1)
    d = ((flat[:, None, :] - flat[None, :, :]) ** 2).mean(axis=2)
    d[np.arange(len(s)), np.arange(len(s))] = np.inf
    assert d.min() > 1e-5


def test_digits_shipped_file():
    images, labels = I.digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert images.max() == 16 and images.min() == 0
    assert labels.shape == (1797,) and set(np.unique(labels)) == set(range(10))
    x, y = I.digits_float()
    assert x.dtype == np.float32 and x.max() == 1.0
    np.testing.assert_array_equal(y, labels)


def test_digits_accepts_a_directory(tmp_path):
    images, labels = I.digits()
    np.savez(tmp_path / "digits.npz", images=images[:5], labels=labels[:5])
    im, lab = I.digits(tmp_path)
    assert im.shape == (5, 8, 8)


def test_the_first_sprites_of_a_set_are_drawn_without_the_rest():
    whole, head = I.sprites(300, seed=4), I.sprites(300, seed=4, first=7)
    assert len(head) == 7 and np.array_equal(head.images, whole.images[:7])
    assert head.captions == whole.captions[:7] and np.array_equal(head.size, whole.size[:7])
