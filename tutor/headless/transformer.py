"""`train transformer`, `tokenize "TEXT"` and `ask "QUESTION"`: the grounding model headless.

`ask` is retrieval-augmented generation in one command: the question is embedded, the
closest documents in the store are retrieved (course facts, lesson text, and any files
given with --docs), as many of them as fit the context are written into the prompt, and
the transformer answers greedily. --no-retrieval asks the same model closed-book.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from content.paths import shipped
from tutor.headless import emit, progress_printer
from tutor.headless.args import existing_file, int_range, output_file, saved_path, seed_int

CORPUS = shipped("corpus")
SHIPPED = shipped("weights", "transformer.npz")
DEFAULT_STEPS = 3500
ANSWER_TOKENS = 16


def _error(message: str, code: int = 2) -> int:
    print(f"genai-tutor: error: {message}", file=sys.stderr)
    return code


def train_transformer(args: argparse.Namespace) -> int:
    from engine import bpe, grounding, lm

    out = None if args.no_save else saved_path(args.out, "transformer.npz")
    progress = progress_printer("training transformer", args.steps, args.json)
    _, result = grounding.train_headless(
        bpe.shipped(), lm.read_corpus(CORPUS), steps=args.steps, seed=args.seed, out=out, progress=progress
    )
    if not args.json:
        result = dict(result, loss_curve=" ".join(f"{s}:{v:.2f}" for s, v in result["loss_curve"]))
    if out is not None:
        result = dict(result, saved=str(out))
    emit(result, args.json)
    return 0


def tokenize(args: argparse.Namespace) -> int:
    from engine import bpe

    tok = bpe.shipped()
    ids = tok.encode(args.text)
    result = {
        "text": args.text,
        "tokens": [tok.piece(i) for i in ids],
        "ids": ids,
        "count": len(ids),
        "vocab_size": len(tok),
    }
    if args.json:
        emit(result, True)
    else:
        print(" | ".join(result["tokens"]))
        print(f"{len(ids)} tokens (vocabulary {len(tok)})")
    return 0


def default_store(files: tuple[Path, ...] | list[Path] = ()):
    """The course's facts, its lesson text in chunks of about 60 words, and the learner's files."""
    from engine import episodes, lm, retrieval

    store = retrieval.Store()
    store.add([fact[2] for fact in episodes.corpus_facts(lm.read_corpus(CORPUS))], "course fact")
    for line in (CORPUS / "lessons.txt").read_text(encoding="utf-8").splitlines():
        store.add(retrieval.chunk(line), "lesson text")
    for path in files:
        store.add_file(path)
    return store


def ask_result(model, tok, question: str, store=None, k: int = 3) -> dict:
    """The `ask` command's JSON record (also used by tests): retrieved documents, prompt, answer."""
    from engine import grounding

    hits = store.search(question, k) if store is not None else []
    # A document sharing no word with the question (cosine 0) is listed but not used.
    relevant = [h for h in hits if h.score > 0]
    prompt, fits = grounding.grounded_prompt(
        tok, question, [h.document.text for h in relevant], model.config.context, ANSWER_TOKENS
    )
    used = [h in relevant and fits[relevant.index(h)] for h in hits]
    text, pieces = grounding.answer(model, tok, prompt, ANSWER_TOKENS)
    return {
        "question": question,
        "retrieval": store is not None,
        "documents": [
            {"text": h.document.text, "source": h.document.source, "score": round(h.score, 4), "in_prompt": u}
            for h, u in zip(hits, used)
        ],
        "prompt": prompt,
        "answer": text,
        "tokens": [p for p in pieces if p["token"] != "\n"],
    }


def ask(args: argparse.Namespace) -> int:
    from content.paths import weights_for
    from engine import bpe
    from engine.transformer import Transformer
    from engine.weights import WeightsError

    if not args.question.strip():
        return _error("the question is empty")
    files = list(args.docs)
    path = args.weights if args.weights is not None else weights_for("transformer.npz")[0]
    try:
        model, _ = Transformer.load(path)
    except WeightsError as exc:
        return _error(f"{exc}; run 'genai-tutor train transformer' to make it", 1)
    try:
        store = None if args.no_retrieval else default_store(files)
    except (OSError, UnicodeDecodeError) as exc:
        return _error(f"--docs: cannot read the file ({exc})")
    result = ask_result(model, bpe.shipped(), args.question, store, args.k)
    if args.json:
        emit(result, True)
        return 0
    for doc in result["documents"]:
        mark = "" if doc["in_prompt"] else "  (did not fit the context)"
        print(f"  {doc['score']:.3f}  [{doc['source']}] {doc['text'][:60]}{mark}")
    print("answer:", result["answer"])
    print("tokens:", "  ".join(f"{t['token']!r} {t['prob'] * 100:.1f}%" for t in result["tokens"]))
    return 0


def register(models: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add `train transformer` and the top-level `tokenize` and `ask` commands."""
    p = models.add_parser("transformer", help="the tiny transformer that reads its context (grounding lab)")
    p.add_argument("--steps", type=int_range(1, 1_000_000), default=DEFAULT_STEPS)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument(
        "--out",
        type=output_file(".npz"),
        default=None,
        help="where to save (default: transformer.npz in your data folder)",
    )
    p.add_argument("--no-save", action="store_true", help="train and report, keep no weights")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=train_transformer)

    t = commands.add_parser("tokenize", help="cut text into the byte-level BPE tokens the transformer reads")
    t.add_argument("text")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.set_defaults(handler=tokenize)

    a = commands.add_parser("ask", help="answer a question with the transformer, grounded by retrieval")
    a.add_argument("question")
    a.add_argument(
        "--docs",
        action="append",
        default=[],
        metavar="FILE",
        type=existing_file,
        help="a text file of your own documents (one per paragraph); may be repeated",
    )
    a.add_argument("--no-retrieval", action="store_true", help="answer closed-book, from memory only")
    a.add_argument(
        "--k", type=int_range(1, 20), default=3, help="how many documents to retrieve (1..20, default 3)"
    )
    a.add_argument(
        "--weights",
        type=existing_file,
        default=None,
        help="a weights file (default: yours from 'train transformer' if any, else the shipped one)",
    )
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.set_defaults(handler=ask)
