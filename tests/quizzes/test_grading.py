import pytest

from content.schema import Question
from quizzes.grading import grade, normalise, shuffled_order
from tests.quizzes import gap, multi, order, single, truefalse


@pytest.mark.parametrize(
    ("typed", "accepted"),
    [
        ("Éncoder", "encoder"),
        ("  ENCODER. ", "encoder"),
        ("Gaußian", "gaussian"),
        ("gaussian", "Gaußian"),
        ("naïve   bayes", "Naive Bayes"),
        ("“softmax”", "softmax"),
        ("ｌａｔｅｎｔ", "latent"),
    ],
)
def test_gap_ignores_case_accents_spacing_and_outer_punctuation(typed, accepted):
    assert grade(gap("q", answers=(accepted,)), typed).correct


def test_normalise_keeps_inner_punctuation():
    assert normalise("  Next-Token!  ") == "next token"
    assert normalise("next token") == normalise("next–token") == normalise("next-token")
    assert normalise("p(x)") != normalise("px")
    assert normalise("...") == ""


def test_gap_any_accepted_answer_counts_and_expected_is_the_first():
    question = gap("q", answers=("variational autoencoder", "VAE"))
    assert grade(question, "vae").correct
    result = grade(question, "GAN")
    assert not result.correct
    assert result.expected == "variational autoencoder"
    assert "GAN" in result.detail


@pytest.mark.parametrize("response", ["", "   ", None, 3, ["encoder"]])
def test_gap_empty_or_wrong_type_is_wrong(response):
    assert not grade(gap("q"), response).correct


def test_single():
    question = single("q", answer=1)
    assert grade(question, 1).correct
    wrong = grade(question, 2)
    assert not wrong.correct and wrong.expected == "b" and "c" in wrong.detail


@pytest.mark.parametrize("response", [None, -1, 3, "1", 1.0, True, [1]])
def test_single_bad_responses_are_wrong_not_errors(response):
    assert not grade(single("q", answer=1), response).correct


def test_multi_needs_the_exact_set():
    question = multi("q")
    assert grade(question, {0, 2}).correct
    assert grade(question, [2, 0]).correct
    assert grade(question, (0, 2)).correct
    assert not grade(question, {0}).correct
    assert not grade(question, {0, 1, 2}).correct
    result = grade(question, {0, 1})
    assert "c" in result.detail and "b" in result.detail
    assert result.expected == "a; c"


@pytest.mark.parametrize("response", [None, 0, "02", {0, 9}, {True, 2}, set()])
def test_multi_bad_responses_are_wrong(response):
    assert not grade(multi("q"), response).correct


def test_truefalse():
    assert grade(truefalse("q", answer=False), False).correct
    result = grade(truefalse("q", answer=False), True)
    assert not result.correct and result.expected == "False"


@pytest.mark.parametrize("response", [None, 1, "true", 0])
def test_truefalse_needs_a_bool(response):
    assert not grade(truefalse("q", answer=True), response).correct


def test_order():
    question = order("q", n=4)
    assert grade(question, [0, 1, 2, 3]).correct
    assert grade(question, (0, 1, 2, 3)).correct
    result = grade(question, [0, 2, 1, 3])
    assert not result.correct
    assert "position 2" in result.detail and "step 1" in result.detail
    assert result.expected == "step 0 → step 1 → step 2 → step 3"


@pytest.mark.parametrize(
    "response", [None, [0, 1, 2], [0, 1, 2, 2], [0, 1, 2, 9], "0123", [0, 1, 2, 3.0], [False, 1, 2, 3]]
)
def test_order_bad_responses_are_wrong(response):
    assert not grade(order("q", n=4), response).correct


def test_unknown_kind_is_a_content_error():
    with pytest.raises(ValueError, match="unknown kind"):
        grade(Question("q", "L01", "essay", "Write", "Because."), "text")


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_shuffled_order_is_a_deterministic_never_correct_permutation(n):
    for seed in range(30):
        question = order(f"q{seed}", n=n)
        shown = shuffled_order(question, seed)
        assert sorted(shown) == list(range(n))
        assert shown != list(range(n))
        assert shown == shuffled_order(question, seed)


def test_shuffled_order_varies_with_seed_and_handles_one_item():
    question = order("q", n=6)
    assert len({tuple(shuffled_order(question, s)) for s in range(10)}) > 1
    assert shuffled_order(order("q", n=1), 0) == [0]
