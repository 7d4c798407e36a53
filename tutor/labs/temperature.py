"""The temperature lab (L03): a tiny language model's next-token bars, warped live.

The learner types a prompt (or picks one), sees the model's next-token probabilities
after temperature, top-k and top-p (with the untempered distribution faint beside them),
samples one token at a time, generates a few, or draws 1000 samples and compares the
histogram with the bars. The model is the shipped word-level MLP language model; the
"weights" knob swaps in an untrained one that the learner can train live with Space.
The "model" knob (x) switches to the grounding transformer (sub-word tokens, 128 of
context), and then the context line is shaded by its attention for the next token.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from content.safe import plain
from tutor.labs.base import Knob, KnobPanel, LabScreen
from tutor.widgets.bars import ProbabilityBars

PROMPTS = [
    "The capital of France is",
    "The weather today is",
    "Anna wakes up at",
    "In winter the weather is",
    "A language model",
    "The capital of Japan is",
]
TEMPERATURES = [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0]
PRESETS = {"custom": None, "coding T 0.2": 0.2, "chat T 0.7": 0.7, "chat T 1.0": 1.0, "creative T 1.5": 1.5}
BAR_ROWS, HIST_ROWS, MANY = 8, 5, 1000
KEYS = "1 sample · g gen N · m ×1000 · i prompt · x model"
MODELS = ["word MLP", "transformer"]
SHADES = ["", "on #3a3000", "on #5f4f00", "on #877000"]
TRAIN_CHUNK = 8

HELP = """\
A tiny **language model** trained on this course's corpus (weather reports, capitals,
daily routines and the lesson text) scores every word it knows as the next one.

- **Tokens** here are whole words and punctuation (1,233 of them). A word the corpus
  never used becomes `<unk>` and is listed as *never seen*. Real models use sub-word
  pieces, so they can spell any word.
- **Bars**: the upper half (`▀`) is the probability the next token is drawn from,
  *after* temperature, top-k and top-p; the faint lower half (`▄`) is the model's own
  untempered distribution (T = 1, no filters).
- **Entropy** (bits) measures the spread: 0 = certain, 1 = a coin flip, 10 ≈ a choice
  among 1,000 equally likely tokens.
- **Order**, as in LLM libraries: temperature → top-k → top-p → renormalise → draw.
- **Histogram**: `m` draws 1000 tokens with the current settings; the frequencies
  (upper) should match the probabilities (faint).
- **Model** (`x`): the word-level MLP above, which reads only the previous five words,
  or a small **transformer** (2 layers, 4 heads) that reads up to 128 sub-word tokens
  (byte-level BPE, 1,024 pieces; `␣` marks a piece's leading space, `⏎` a new line).
  With the transformer, the context line is shaded by its **attention**: how much
  weight the last position (the one predicting the next token) puts on each earlier
  token, in the last layer, averaged over the heads. The most-read token is reversed.
  It was trained by `genai-tutor train transformer`, not here: Space trains only the
  word model.

Keys: `i` edit the prompt (Enter done) · `w` next preset prompt · `1` sample one ·
`g` generate N · `m` sample 1000 times · `c` clear the generated text · `t` `k` `p`
temperature, top-k, top-p · `o` presets (coding 0.2, chat 0.7-1.0, creative 1.5) ·
`n` N · `u` show or mask `<unk>` · `e` new seed · `f` weights: yours, shipped or untrained
(Space trains it) · `x` word model or transformer · `v` the code.
"""


def _temperature(value: float) -> str:
    return f"{value:g}"


class PromptInput(Input):
    """The prompt box: Enter or Escape hands the keys back to the lab."""

    BINDINGS = [Binding("escape", "done", "Done", show=False)]

    def action_done(self) -> None:
        self.screen.query_one("#knobs", KnobPanel).focus()


class PieceTokenizer:
    """The BPE tokenizer as the lab reads a tokenizer: ``encode`` gives (ids, unknown
    words), ``vocab`` the bar labels; a byte-level tokenizer has no unknown words."""

    def __init__(self, bpe) -> None:
        self.bpe = bpe
        self.vocab = [self.label(i) for i in range(len(bpe))]
        self.index = {label: i for i, label in enumerate(self.vocab)}
        self.end_id = 10  # the byte "\n": the end of a paragraph

    def encode(self, text: str) -> tuple[list[int], list[str]]:
        return self.bpe.encode(text), []

    def piece(self, i: int) -> str:
        return self.bpe.piece(i)

    def label(self, i: int) -> str:
        """A piece as a bar label: a leading space shows as ␣, a new line as ⏎."""
        piece = self.bpe.piece(i).replace("\n", "⏎")
        return "␣" + piece[1:] if piece.startswith(" ") else piece


class TransformerLM:
    """The transformer behind the lab's bars: the same three calls as engine.lm's model
    (``next_logits``, ``generate``, ``tok``), plus the attention of the position that
    predicts the next token (last layer, mean over heads), kept from ``next_logits``."""

    train_X = None

    def __init__(self, model, bpe) -> None:
        self.model, self.tok = model, PieceTokenizer(bpe)
        self.attention: np.ndarray | None = None

    def window(self, ids: list[int]) -> list[int]:
        """The tokens the model reads: the last ``context`` of them."""
        return list(ids)[-self.model.config.context :] if ids else [self.tok.end_id]

    def next_logits(self, ids: list[int]) -> np.ndarray:
        logits, _ = self.model.start(self.window(ids))
        self.attention = self.model.attention()[-1][0, :, -1, :].mean(0).astype(np.float64)
        return logits.astype(np.float64)

    def generate(
        self,
        ids: list[int],
        n: int,
        rng: np.random.Generator,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        banned: list[int] | None = None,
    ) -> list[int]:
        new, _ = self.model.generate(
            self.window(ids), n, rng, temperature, top_k, top_p, stop=self.tok.end_id
        )
        return new


class TemperatureLab(LabScreen):
    LAB_ID = "temperature"
    LAB_TITLE = "The temperature lab"
    KERNELS = ("lm", "sampling")  # the language model and its sampler
    HELP_MD = HELP
    CODE = (
        "engine.sampling:warp",
        "engine.sampling:tempered_softmax",
        "engine.sampling:top_k_top_p",
        "engine.sampling:draw",
        "engine.lm:LanguageModel.next_logits",
        "engine.lm:LanguageModel.generate",
        "engine.sampling:sample_many",
        "engine.transformer:Transformer.start",
        "engine.transformer:Transformer.generate",
        "engine.transformer:Transformer.attention",
    )
    PLAY = "Train"  # only an untrained model ("f") has much to learn
    autoplay = False  # the shipped model is ready: never start by training it
    AUTO_FOCUS = "#knobs"  # keys drive the lab; `i` moves into the prompt box

    BINDINGS = [
        Binding("1", "sample_one", "Sample 1", id="temperature.one"),
        Binding("g", "generate", "Generate N", id="temperature.generate"),
        Binding("m", "sample_many", "×1000", id="temperature.many"),
        Binding("i", "edit_prompt", "Prompt", id="temperature.prompt"),
        Binding("c", "clear", "Clear", id="temperature.clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.prompt = PROMPTS[0]
        self.prompt_ids: list[int] = []
        self.unknown: list[str] = []
        self.generated: list[int] = []
        self.rng = np.random.default_rng(self.seed)
        self.base = self.probs = None
        self.counts: np.ndarray | None = None
        self.notice_text = ""
        self.loss: float | None = None
        self.last_picks: list[int] = []

    # ------------------------------------------------------------------ knobs

    def knobs(self) -> list[Knob]:
        return [
            Knob(
                "temperature",
                "Temperature",
                TEMPERATURES,
                index=TEMPERATURES.index(1.0),
                key="t",
                fmt=_temperature,
                help="Divide the logits by T before the softmax",
            ),
            Knob(
                "top_k",
                "Top-k",
                [0, 1, 2, 3, 5, 10, 20, 50],
                key="k",
                fmt=lambda v: "off" if v == 0 else str(v),
                help="Keep only the k likeliest tokens",
            ),
            Knob(
                "top_p",
                "Top-p",
                [1.0, 0.95, 0.9, 0.8, 0.5, 0.2],
                key="p",
                fmt=lambda v: "off" if v >= 1 else f"{v:g}",
                help="Keep the smallest set reaching p",
            ),
            Knob("preset", "Preset", list(PRESETS), key="o", help="Typical settings for a task"),
            Knob(
                "prompt",
                "Prompt",
                PROMPTS,
                key="w",
                fmt=lambda v: v if len(v) <= 15 else v[:14] + "…",
                help="A ready-made prompt",
            ),
            Knob(
                "tokens", "Generate N", [5, 10, 20, 50], index=1, key="n", help="How many tokens g generates"
            ),
            Knob(
                "unk",
                "Show <unk>",
                ["masked", "shown"],
                key="u",
                help="The unknown-word token: masked out when sampling, or allowed",
            ),
            self.weights_knob("f"),
            Knob(
                "model",
                "Model",
                MODELS,
                key="x",
                resets=True,
                help="The word-level MLP (5 words back) or the transformer (128 sub-word tokens)",
            ),
        ]

    def preset_values(self, name: str) -> dict | None:
        temperature = PRESETS.get(name)
        return None if temperature is None else {"temperature": temperature}

    def on_knob(self, knob: Knob) -> None:
        if knob.name == "prompt":
            self.query_one("#prompt", Input).value = knob.value  # -> on_input_changed
            return
        if knob.resets:
            self.action_reset()
            return
        self.submit(self._forget_counts)

    def _forget_counts(self) -> dict:
        self.counts = None
        return {}

    # ------------------------------------------------------------------ worker side

    def build(self) -> None:
        from engine import lm
        from engine.weights import WeightsError
        from tutor.headless.lm import CORPUS

        self.rng = np.random.default_rng(self.seed)
        self.generated, self.counts, self.loss, self.notice_text = [], None, None, ""
        if self.knob_value("model") == "transformer":
            self.model = self._transformer()
            return
        path = self.weights_file("lm.npz")
        if path is not None:
            try:
                self.model, _ = lm.LanguageModel.load(path)
                return
            except WeightsError as exc:
                self.weights_label = "weights: untrained"
                self.tell(
                    f"{plain(str(exc))}. Train from scratch with Space here, or run 'genai-tutor train lm'.",
                    "warning",
                )
        self.model = lm.build(lm.read_corpus(CORPUS), lm.LMConfig(seed=self.seed))
        self.notice_text = "Untrained: the bars are nearly flat. Space trains it."

    def _transformer(self) -> TransformerLM:
        """Worker: the grounding transformer (yours, shipped, or untrained) behind the bars."""
        from engine import bpe
        from engine.transformer import Transformer, TransformerConfig
        from engine.weights import WeightsError

        tok = bpe.shipped()
        path = self.weights_file("transformer.npz")
        if path is not None:
            try:
                return TransformerLM(Transformer.load(path)[0], tok)
            except WeightsError as exc:
                self.weights_label = "weights: untrained"
                self.tell(f"{plain(str(exc))}. Run 'genai-tutor train transformer' to make it.", "warning")
        self.notice_text = "Untrained transformer: the bars are nearly flat."
        return TransformerLM(Transformer(TransformerConfig(vocab=len(tok), seed=self.seed)), tok)

    def advance(self) -> dict:
        from engine import lm
        from tutor.headless.lm import CORPUS

        if isinstance(self.model, TransformerLM):
            self.playing = False
            self.tell(
                "Space trains the word model only; the transformer trains with "
                "'genai-tutor train transformer' (minutes, not seconds)."
            )
            return {"steps": 0}

        if self.model.train_X is None:  # shipped weights: load the text on demand
            self.model.attach(*lm.split(lm.read_corpus(CORPUS)))
        metrics = self.model.train(TRAIN_CHUNK)
        self.loss = metrics["loss"]
        self.counts = None
        return {"loss": metrics["loss"], "steps": TRAIN_CHUNK, "diverged": metrics["diverged"]}

    def release_lab(self) -> None:
        self.base = self.probs = self.counts = None

    # ------------------------------------------------------------------ layout

    def compose_lab(self) -> ComposeResult:
        with Horizontal(id="temp-prompt-row"):
            yield Static("Prompt ", id="temp-prompt-label")
            yield PromptInput(self.prompt, id="prompt", compact=True)
        yield Static(id="temp-text")
        yield ProbabilityBars(
            id="temp-bars", main_label="after T, top-k, top-p", ref_label="untempered", max_label_width=10
        )
        yield Static(id="temp-info")
        yield ProbabilityBars(
            id="temp-hist", main_label="sampled frequency", ref_label="probability", max_label_width=10
        )
        yield Static(KEYS, id="temp-keys")

    DEFAULT_CSS = """
    #temp-prompt-row { height: 1; }
    #temp-prompt-label { width: 7; color: $text-muted; }
    #prompt { width: 1fr; }
    #temp-text { height: 2; padding: 0 1; }
    #temp-bars { margin: 0 1; }
    #temp-info { height: 2; padding: 0 1; color: $foreground; }
    #temp-hist { margin: 0 1; }
    #temp-keys { dock: bottom; height: 1; padding: 0 1; color: $text-muted; }
    """

    def headline(self, frame: dict) -> str:
        info = frame.get("info")
        return info.plain.split("\n")[0] if info is not None else ""

    def draw(self, frame: dict) -> None:
        if "bars" not in frame:
            return
        self.query_one("#knobs", KnobPanel).redraw()
        self.query_one("#temp-bars", ProbabilityBars).update_bars(frame["bars"])
        self.query_one("#temp-info", Static).update(frame["info"])
        self.query_one("#temp-text", Static).update(frame["text"])
        hist = self.query_one("#temp-hist", ProbabilityBars)
        hist.update_bars(frame["hist"])
        hist.display = bool(frame["hist"])
        if frame.get("ended"):
            self.notice("The model ended the paragraph (¶). Press c to clear.")

    # ------------------------------------------------------------------ the distribution (worker)

    def mask(self) -> list[int]:
        """Token ids never drawn: <unk> unless the learner asked to see it."""
        if self.knob_value("unk") == "shown" or self.model is None:
            return []
        return [i for i, w in enumerate(self.model.tok.vocab) if w == "<unk>"]

    def distribution(self) -> tuple[np.ndarray, np.ndarray]:
        """(untempered, warped) next-token probabilities after prompt + generated text."""
        from engine import sampling

        logits = self.model.next_logits(self.prompt_ids + self.generated)
        base = sampling.softmax(logits, 1.0)
        logits[self.mask()] = -np.inf
        probs = sampling.warp(
            logits, self.knob_value("temperature"), self.knob_value("top_k"), self.knob_value("top_p")
        )
        return base, probs

    def view(self, metrics: dict) -> dict:
        from content.safe import visible as safe
        from engine import sampling

        if self.model is None:
            return {}
        self.prompt_ids, self.unknown = self.model.tok.encode(self.prompt)
        self.base, self.probs = self.distribution()
        vocab = self.model.tok.vocab
        order = np.argsort(-self.base, kind="stable")[:BAR_ROWS]
        bars = [(safe(vocab[i]), float(self.probs[i]), float(self.base[i])) for i in order]
        kept = int(np.count_nonzero(self.probs))
        info = Text()
        info.append(
            f"entropy {sampling.entropy_bits(self.probs):.2f} bits "
            f"(T=1: {sampling.entropy_bits(self.base):.2f})"
        )
        info.append(f" · kept {kept}/{len(vocab)}")
        if self.unknown:
            info.append(
                f"\nnever seen: {', '.join(safe(w) for w in self.unknown)} (became <unk>)", style="bold"
            )
        elif isinstance(self.model, TransformerLM) and self.model.attention is not None:
            att = self.model.attention
            top = int(np.argmax(att))
            ids = self.model.window(self.prompt_ids + self.generated)
            info.append(
                f"\nattention: {safe(self.model.tok.label(ids[top]))} {att[top] * 100:.0f}% "
                "(last layer, mean of heads)"
            )
        elif self.loss is not None:
            info.append(f"\ntraining: step {self.model.steps}, loss {self.loss:.2f}")
        elif self.notice_text:
            info.append("\n" + self.notice_text, style="bold")
        hist = []
        if self.counts is not None:
            top = np.argsort(-self.counts, kind="stable")[:HIST_ROWS]
            hist = [(safe(vocab[i]), self.counts[i] / MANY, float(self.probs[i])) for i in top]
        return dict(metrics, bars=bars, info=info, text=self.context_text(), hist=hist)

    def context_text(self) -> Text:
        """The prompt as the model sees it, then the generated tokens (the newest reversed)."""
        from content.safe import visible as safe

        if isinstance(self.model, TransformerLM):
            return self.attention_text()
        vocab = self.model.tok.vocab
        text = Text(overflow="ellipsis")
        words = [(vocab[i], "dim" if vocab[i] == "<unk>" else "") for i in self.prompt_ids]
        for n, i in enumerate(self.generated):
            last = n == len(self.generated) - 1
            words.append(
                ("¶" if i == self.model.tok.end_id else vocab[i], "bold reverse" if last else "bold green")
            )
        for n, (word, style) in enumerate(words):
            if n and word not in ".,!?;:":
                text.append(" ")
            text.append(safe(word), style=style)
        tail = len(text.plain) - 100  # two rows: keep the end in view
        return text[tail:] if tail > 0 else text

    def attention_text(self) -> Text:
        """Transformer: the context as pieces, shaded by the next token's attention on each;
        generated pieces bold green, the most-read piece reversed."""
        from content.safe import visible as safe

        model = self.model
        ids = model.window(self.prompt_ids + self.generated)
        first_new = len(ids) - len(self.generated)
        att = model.attention if model.attention is not None else np.zeros(len(ids))
        peak = float(att.max()) if att.size else 0.0
        top = int(np.argmax(att)) if peak > 0 else -1
        text = Text(overflow="ellipsis")
        for n, i in enumerate(ids):
            style = "bold green" if n >= first_new else ""
            if peak > 0 and att[n] > 0.02:
                style += " " + SHADES[min(3, int(4 * att[n] / peak))]
            if n == top:
                style = "bold reverse"
            text.append(safe(model.tok.piece(i).replace("\n", "⏎")), style=style.strip())
        tail = len(text.plain) - 100  # two rows: keep the end in view
        return text[tail:] if tail > 0 else text

    # ------------------------------------------------------------------ actions

    def on_input_changed(self, event: Input.Changed) -> None:
        prompt = event.value
        self.submit(lambda: self._set_prompt(prompt))

    def _set_prompt(self, prompt: str) -> dict:
        self.prompt = prompt
        self.generated, self.counts = [], None
        return {}

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#knobs", KnobPanel).focus()

    def action_edit_prompt(self) -> None:
        self.query_one("#prompt", Input).focus()

    def _append(self, count: int) -> dict:
        """Worker: the model's own generation loop, with this lab's warps and mask."""
        if self.model is None:
            return {}
        ids = self.prompt_ids + self.generated
        new = self.model.generate(
            ids,
            count,
            self.rng,
            self.knob_value("temperature"),
            self.knob_value("top_k"),
            self.knob_value("top_p"),
            banned=self.mask(),
        )
        self.generated.extend(new)
        self.counts = None
        ended = bool(new) and new[-1] == self.model.tok.end_id and count > 1
        return {"ended": ended}

    def action_sample_one(self) -> None:
        self.submit(lambda: self._append(1))

    def action_generate(self) -> None:
        n = self.knob_value("tokens")
        self.submit(lambda: self._append(n))

    def action_sample_many(self) -> None:
        self.submit(self._sample_many)

    def _sample_many(self) -> dict:
        from engine import sampling

        if self.model is None or self.probs is None:
            return {}
        picks = sampling.sample_many(self.probs, MANY, self.rng)
        self.counts = np.bincount(picks, minlength=self.probs.size)
        return {}

    def action_clear(self) -> None:
        self.submit(lambda: self._set_prompt(self.prompt))
