"""The temperature lab (L03): a tiny language model's next-token bars, warped live.

The learner types a prompt (or picks one), sees the model's next-token probabilities
after temperature, top-k and top-p (with the untempered distribution faint beside them),
samples one token at a time, generates a few, or draws 1000 samples and compares the
histogram with the bars. The model is the shipped word-level MLP language model; the
"model" knob swaps in an untrained one that the learner can train live with Space.
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

PROMPTS = ["The capital of France is", "The weather today is", "Anna wakes up at",
           "In winter the weather is", "A language model", "The capital of Japan is"]
TEMPERATURES = [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0]
PRESETS = {"custom": None, "coding T 0.2": 0.2, "chat T 0.7": 0.7, "chat T 1.0": 1.0,
           "creative T 1.5": 1.5}
BAR_ROWS, HIST_ROWS, MANY = 8, 5, 1000
KEYS = "1 sample · g gen N · m ×1000 · i prompt · c clear"
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

Keys: `i` edit the prompt (Enter done) · `w` next preset prompt · `1` sample one ·
`g` generate N · `m` sample 1000 times · `c` clear the generated text · `t` `k` `p`
temperature, top-k, top-p · `o` presets (coding 0.2, chat 0.7-1.0, creative 1.5) ·
`n` N · `e` new seed · `f` shipped / untrained model (Space trains it) · `v` the code.
"""


def _temperature(value: float) -> str:
    return f"{value:g}"


class PromptInput(Input):
    """The prompt box: Enter or Escape hands the keys back to the lab."""

    BINDINGS = [Binding("escape", "done", "Done", show=False)]

    def action_done(self) -> None:
        self.screen.query_one("#knobs", KnobPanel).focus()


class TemperatureLab(LabScreen):
    LAB_ID = "temperature"
    LAB_TITLE = "The temperature lab"
    HELP_MD = HELP
    CODE = ("engine.sampling:warp", "engine.sampling:tempered_softmax",
            "engine.sampling:top_k_top_p", "engine.sampling:draw",
            "engine.lm:LanguageModel.generate")
    TRAINS = True          # only the untrained model ("f") has anything to learn
    autoplay = False       # the shipped model is ready: never start by training it
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
        self.notice = self.weights_error = ""
        self.loss: float | None = None
        self.last_picks: list[int] = []

    # ------------------------------------------------------------------ knobs

    def knobs(self) -> list[Knob]:
        return [
            Knob("temperature", "Temperature", TEMPERATURES, index=TEMPERATURES.index(1.0), key="t",
                 fmt=_temperature),
            Knob("top_k", "Top-k", [0, 1, 2, 3, 5, 10, 20, 50], key="k",
                 fmt=lambda v: "off" if v == 0 else str(v)),
            Knob("top_p", "Top-p", [1.0, 0.95, 0.9, 0.8, 0.5, 0.2], key="p",
                 fmt=lambda v: "off" if v >= 1 else f"{v:g}"),
            Knob("preset", "Preset", list(PRESETS), key="o"),
            Knob("prompt", "Prompt", PROMPTS, key="w",
                 fmt=lambda v: v if len(v) <= 15 else v[:14] + "…"),
            Knob("tokens", "Generate N", [5, 10, 20, 50], index=1, key="n"),
            Knob("model", "Model", ["shipped", "untrained"], key="f", resets=True),
        ]

    def knob(self, name: str) -> Knob:
        return next(k for k in self.knob_list if k.name == name)

    def on_knob(self, knob: Knob) -> None:
        if knob.name == "preset" and PRESETS[knob.value] is not None:
            self.knob("temperature").index = TEMPERATURES.index(PRESETS[knob.value])
            self.query_one("#knobs", KnobPanel).redraw()
        elif knob.name == "temperature" and PRESETS[self.knob("preset").value] != knob.value:
            self.knob("preset").index = 0
            self.query_one("#knobs", KnobPanel).redraw()
        if knob.name == "prompt":
            self.query_one("#prompt", Input).value = knob.value  # -> on_input_changed
            return
        if knob.resets:
            self.action_reset()
            return
        self.counts = None
        self.call_after_refresh(self.refresh_view)   # we hold self.lock here

    # ------------------------------------------------------------------ worker side

    def build(self) -> None:
        from engine import lm
        from engine.weights import WeightsError
        from tutor.headless.lm import CORPUS, WEIGHTS

        self.rng = np.random.default_rng(self.seed)
        self.generated, self.counts, self.loss, self.notice = [], None, None, ""
        if self.knob_value("model") == "shipped":
            try:
                self.model, _ = lm.LanguageModel.load(WEIGHTS)
                return
            except WeightsError as exc:
                self.weights_error = plain(str(exc))  # shown as a notification (markup) by draw()
                self.notice = "No usable weights: untrained model. Space trains it."
                self.knob("model").index = 1       # the panel is redrawn by draw()
        self.model = lm.build(lm.read_corpus(CORPUS), lm.LMConfig(seed=self.seed))
        self.notice = self.notice or "Untrained: the bars are nearly flat. Space trains it."

    def work(self) -> dict:
        from engine import lm
        from tutor.headless.lm import CORPUS

        if self.model.train_X is None:   # the shipped model: load its text on demand
            self.model.attach(*lm.split(lm.read_corpus(CORPUS)))
        metrics = self.model.train(TRAIN_CHUNK)
        self.loss = metrics["loss"]
        return {"loss": metrics["loss"], "steps": TRAIN_CHUNK, "diverged": metrics["diverged"]}

    # ------------------------------------------------------------------ layout

    def compose_lab(self) -> ComposeResult:
        with Horizontal(id="temp-prompt-row"):
            yield Static("Prompt ", id="temp-prompt-label")
            yield PromptInput(self.prompt, id="prompt", compact=True)
        yield Static(id="temp-text")
        yield ProbabilityBars(id="temp-bars", main_label="after T, top-k, top-p",
                              ref_label="untempered", max_label_width=10)
        yield Static(id="temp-info")
        yield ProbabilityBars(id="temp-hist", main_label="sampled frequency",
                              ref_label="probability", max_label_width=10)
        yield Static(KEYS, id="temp-keys")

    DEFAULT_CSS = """
    #temp-prompt-row { height: 1; }
    #temp-prompt-label { width: 7; color: $text-muted; }
    #prompt { width: 1fr; }
    #temp-text { height: 2; padding: 0 1; }
    #temp-bars { margin: 0 1; }
    #temp-info { height: 2; padding: 0 1; color: $text-muted; }
    #temp-hist { margin: 0 1; }
    #temp-keys { dock: bottom; height: 1; padding: 0 1; color: $text-muted; }
    """

    def draw(self, metrics: dict) -> None:
        if "loss" in metrics:
            self.counts = None
        else:                                       # after a build: build() may switch the model
            self.query_one("#knobs", KnobPanel).redraw()
        if self.weights_error:
            self.notify(f"{self.weights_error}. Train from scratch with Space here, or run "
                        "'genai-tutor train lm'.", severity="warning", timeout=10)
            self.weights_error = ""
        self.refresh_view()

    # ------------------------------------------------------------------ the distribution

    def distribution(self) -> tuple[np.ndarray, np.ndarray]:
        """(untempered, warped) next-token probabilities after prompt + generated text."""
        from engine import sampling

        logits = self.model.next_logits(self.prompt_ids + self.generated)
        base = sampling.softmax(logits, 1.0)
        probs = sampling.warp(logits, self.knob_value("temperature"), self.knob_value("top_k"),
                              self.knob_value("top_p"))
        return base, probs

    def refresh_view(self) -> None:
        if self.model is None:
            return
        from engine import sampling

        with self.lock:
            self.prompt_ids, self.unknown = self.model.tok.encode(self.prompt)
            self.base, self.probs = self.distribution()
        vocab = self.model.tok.vocab
        order = np.argsort(-self.base, kind="stable")[:BAR_ROWS]
        self.query_one("#temp-bars", ProbabilityBars).update_bars(
            [(vocab[i], float(self.probs[i]), float(self.base[i])) for i in order])
        kept = int(np.count_nonzero(self.probs))
        info = Text()
        info.append(f"entropy {sampling.entropy_bits(self.probs):.2f} bits "
                    f"(T=1: {sampling.entropy_bits(self.base):.2f})")
        info.append(f" · kept {kept}/{len(vocab)}")
        if self.unknown:
            info.append(f"\nnever seen: {', '.join(self.unknown)} (became <unk>)", style="bold")
        elif self.loss is not None:
            info.append(f"\ntraining: step {self.model.steps}, loss {self.loss:.2f}")
        elif self.notice:
            info.append("\n" + self.notice, style="bold")
        self.query_one("#temp-info", Static).update(info)
        self.query_one("#temp-text", Static).update(self.context_text())
        hist = self.query_one("#temp-hist", ProbabilityBars)
        if self.counts is None:
            hist.update_bars([])
            hist.display = False
        else:
            top = np.argsort(-self.counts, kind="stable")[:HIST_ROWS]
            hist.update_bars([(vocab[i], self.counts[i] / MANY, float(self.probs[i])) for i in top])
            hist.display = True

    def context_text(self) -> Text:
        """The prompt as the model sees it, then the generated tokens (the newest reversed)."""
        vocab = self.model.tok.vocab
        text = Text(overflow="ellipsis")
        words = [(vocab[i], "dim" if vocab[i] == "<unk>" else "") for i in self.prompt_ids]
        for n, i in enumerate(self.generated):
            last = n == len(self.generated) - 1
            words.append(("¶" if i == self.model.tok.end_id else vocab[i],
                          "bold reverse" if last else "bold green"))
        for n, (word, style) in enumerate(words):
            if n and word not in ".,!?;:":
                text.append(" ")
            text.append(word, style=style)
        tail = len(text.plain) - 100          # two rows: keep the end in view
        return text[tail:] if tail > 0 else text

    # ------------------------------------------------------------------ actions

    def on_input_changed(self, event: Input.Changed) -> None:
        self.prompt = event.value
        self.generated, self.counts = [], None
        self.refresh_view()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#knobs", KnobPanel).focus()

    def action_edit_prompt(self) -> None:
        self.query_one("#prompt", Input).focus()

    def _append(self, count: int) -> None:
        from engine import sampling

        if self.model is None:
            return
        added = 0
        with self.lock:
            for _ in range(count):
                _, probs = self.distribution()
                token = sampling.sample(probs, self.rng)
                self.generated.append(token)
                added += 1
                if token == self.model.tok.end_id:
                    break
        self.counts = None
        if self.generated and self.generated[-1] == self.model.tok.end_id and count > 1:
            self.notify("The model ended the paragraph (¶). Press c to clear.")
        self.refresh_view()

    def action_sample_one(self) -> None:
        self._append(1)

    def action_generate(self) -> None:
        self._append(self.knob_value("tokens"))

    def action_sample_many(self) -> None:
        from engine import sampling

        if self.model is None or self.probs is None:
            return
        picks = sampling.sample_many(self.probs, MANY, self.rng)
        self.counts = np.bincount(picks, minlength=self.probs.size)
        self.refresh_view()

    def action_clear(self) -> None:
        self.generated, self.counts = [], None
        self.refresh_view()
