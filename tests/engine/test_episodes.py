"""Reading episodes: seeded, answers copied from the gold document, test names unseen."""

import pytest

from engine import bpe, episodes, grounding


def test_episodes_are_seeded_and_answerable_from_the_gold_document():
    gen1, gen2 = episodes.Generator(3), episodes.Generator(3)
    a = [gen1.episode() for _ in range(50)]
    assert a == [gen2.episode() for _ in range(50)]
    for ep in a:
        assert f" {ep.answer}" in " " + ep.documents[ep.gold]
        assert ep.prompt().endswith(f"Question: {ep.question}\nAnswer:")
        assert ep.completion() == f" {ep.answer}\n"


def test_test_names_never_appear_in_training_episodes():
    train, test = episodes.Generator(0, "train"), episodes.Generator(0, "test")
    train_text = " ".join(" ".join(train.episode().documents) for _ in range(400))
    for _ in range(50):
        ep = test.episode()
        if not ep.answer.isdigit():
            assert episodes.is_test_name(ep.answer)
            assert f" {ep.answer} " not in train_text.replace(".", " ")


def test_corpus_facts_come_from_the_corpus_text():
    facts = episodes.corpus_facts(
        ["The capital of France is Paris. People in Kesh speak Lumari.", "The capital of France is Paris."]
    )
    assert facts == [
        ("What is the capital of France?", "Paris", "The capital of France is Paris."),
        ("What language do people in Kesh speak?", "Lumari", "People in Kesh speak Lumari."),
    ]


def test_batches_learn_the_questions_and_answers_not_the_documents():
    tok = bpe.shipped()
    ep = episodes.Episode(
        ("The capital of Drosmia is Velkor.",), "What is the capital of Drosmia?", "Velkor", 0
    )
    ids, learn = grounding.encode_episode(tok, ep)
    X, Y = grounding.make_batch([(ids, learn), (ids[:5], [True] * 5)], 128)
    assert X.shape == (2, len(ids) - 1)
    learned = [t for t in Y[0] if t >= 0]
    assert tok.decode(learned) == "Question: What is the capital of Drosmia?\nAnswer: Velkor\n"
    assert list(Y[1, :4]) == ids[1:5] and (Y[1, 4:] == -1).all()
    more = episodes.Episode(ep.documents, ep.question, ep.answer, 0, (("Why?", "Because"),))
    ids, learn = grounding.encode_episode(tok, more)
    assert tok.decode(ids).endswith("Answer: Velkor\nQuestion: Why?\nAnswer: Because\n")
    assert tok.decode([i for i, keep in zip(ids, learn) if keep]).endswith(
        "Answer: Velkor\nQuestion: Why?\nAnswer: Because\n"
    )
    assert "Document" not in tok.decode([i for i, keep in zip(ids, learn) if keep])


def test_several_questions_ask_about_different_facts():
    gen = episodes.Generator(1)
    eps = [gen.episode(max_questions=3) for _ in range(100)]
    assert any(ep.more for ep in eps)
    for ep in eps:
        asked = [ep.question] + [q for q, _ in ep.more]
        assert len(set(asked)) == len(asked)
        for _, a in ep.more:
            assert any(f" {a}" in " " + d for d in ep.documents)


def test_grounded_prompt_keeps_what_fits_best_last():
    tok = bpe.shipped()
    texts = ["Best doc.", "x " * 200, "Third doc."]
    prompt, used = grounding.grounded_prompt(tok, "Why?", texts, 128)
    assert used == [True, False, True]
    assert prompt == "Document: Third doc.\nDocument: Best doc.\nQuestion: Why?\nAnswer:"


def test_hard_episodes_repeat_one_relation_about_different_subjects():
    gen = episodes.Generator(2)
    eps = [gen.episode(3, 4, hard=1.0) for _ in range(60)]
    for ep in eps:
        assert len(ep.documents) >= 2
        openers = [d.split(".")[0] for d in ep.documents]
        # the same sentence frame (names removed) opens every document ...
        frames = {" ".join(w for w in o.split() if not w[0].isupper() and not w.isdigit()) for o in openers}
        assert len(frames) == 1, ep.documents
        # ... about a different subject each time, and the gold document answers the question
        assert len(set(openers)) == len(openers)
        assert f" {ep.answer}" in " " + ep.documents[ep.gold]
    # without the option the held-out episodes are the ones every figure so far was measured on
    first = episodes.Generator(0, "test").episode()
    assert first.documents[0] == "Silhu works at a shop called Cebek." and first.answer == "Cebek"


def test_free_names_and_filler_widen_training_and_keep_the_split():
    """Training may spell names from the tokenizer's pieces (any token, 1 to 5 of them) and
    put corpus sentences around a document's facts; the split by name still holds, the
    stream is seeded, and without the options nothing else is drawn (the held-out episodes
    stay the ones every figure was measured on)."""
    import re

    tok = bpe.shipped()
    pieces = [tok.piece(i) for i in range(len(tok))]
    text = "The capital of Drosmia is Velkor. Birds can fly. Question: why? No."
    # no sentence in the episodes' own format, none of one or two words
    assert episodes.filler_sentences([text]) == ["Birds can fly.", "The capital of Drosmia is Velkor."]
    syllable_word = re.compile("^(" + "|".join(sorted(episodes.SYLLABLES, key=len, reverse=True)) + ")+$")

    def stream(split: str) -> list[episodes.Episode]:
        gen = episodes.Generator(4, split, pieces, free=1.0, filler=["Birds can fly."], chatter=1.0)
        return [gen.episode(3, 4) for _ in range(100)]

    eps = stream("train")
    assert eps == stream("train")
    names = {ep.answer for ep in eps if not ep.answer.isdigit()}
    assert sum(not syllable_word.match(n.lower()) for n in names) > 0.9 * len(names)
    assert len({len(tok.encode(" " + n)) for n in names}) >= 5  # names of many lengths in tokens
    assert not any(episodes.is_test_name(n) for n in names)
    assert all(episodes.is_test_name(ep.answer) for ep in stream("test") if not ep.answer.isdigit())
    for ep in eps:
        assert all(d.count("Birds can fly.") == 1 for d in ep.documents)
        assert f" {ep.answer}" in " " + ep.documents[ep.gold]
    # the filler stands before, between and after facts
    assert any(d.startswith("Birds") for ep in eps for d in ep.documents)
    assert any(d.endswith("Birds can fly.") for ep in eps for d in ep.documents)
    plain = episodes.Generator(0, "test", pieces, 0.0, ["Birds can fly."], 0.0)
    default = episodes.Generator(0, "test")
    assert [plain.episode() for _ in range(20)] == [default.episode() for _ in range(20)]
    with pytest.raises(ValueError):
        episodes.Generator(0, "train", free=0.5)  # free names need pieces to spell them from
