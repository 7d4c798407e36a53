"""SgrFolder: the terminal shows exactly the same cells with fewer bytes.

The check is an independent little terminal (``Screen`` below: cursor moves, newlines,
SGR colours and attributes, text) fed the original stream and the folded one; every
cell's character and attributes must match, and so must the attributes left at the end
of each write."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from tutor.wire import SgrFolder, WireMeter

FLAGS = {
    1: "bold",
    2: "dim",
    3: "italic",
    4: "underline",
    5: "blink",
    7: "reverse",
    8: "conceal",
    9: "strike",
    53: "overline",
}
OFF = {
    23: {"italic"},
    24: {"underline"},
    25: {"blink"},
    27: {"reverse"},
    28: {"conceal"},
    29: {"strike"},
    55: {"overline"},
    22: {"bold", "dim"},
}


class Screen:
    """Cells of (character, attributes) written by a stream of CUP, CR, LF, SGR and text."""

    def __init__(self, width: int = 40, height: int = 12) -> None:
        self.width, self.height = width, height
        self.cells: dict[tuple[int, int], tuple[str, tuple]] = {}
        self.x = self.y = 0
        self.fg = self.bg = None
        self.flags: set[str] = set()

    def attrs(self) -> tuple:
        return self.fg, self.bg, frozenset(self.flags)

    def sgr(self, params: str) -> None:
        codes = [int(c) if c else 0 for c in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.fg = self.bg = None
                self.flags = set()
            elif c in FLAGS:
                self.flags.add(FLAGS[c])
            elif c in OFF:
                self.flags -= OFF[c]
            elif c in (38, 48):
                n = 3 if codes[i + 1] == 5 else 5
                value = ("rgb" if n == 5 else "idx", *codes[i + 2 : i + n])
                if c == 38:
                    self.fg = value
                else:
                    self.bg = value
                i += n
                continue
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif 30 <= c <= 37 or 90 <= c <= 97:
                self.fg = ("ansi", c)
            elif 40 <= c <= 47 or 100 <= c <= 107:
                self.bg = ("ansi", c)
            else:
                raise AssertionError(f"the test terminal does not know SGR {c}")
            i += 1

    def feed(self, data: str) -> None:
        for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|.", data, re.S):
            if token.startswith("\x1b["):
                final, body = token[-1], token[2:-1]
                if final == "m":
                    self.sgr(body)
                elif final == "H":
                    row, col = (int(v) for v in body.split(";"))
                    self.y, self.x = row - 1, col - 1
                elif final in "hl":
                    pass  # modes: nothing drawn
                else:
                    raise AssertionError(f"unexpected sequence {token!r}")
            elif token == "\r":
                self.x = 0
            elif token == "\n":
                self.y = min(self.y + 1, self.height - 1)
            else:
                self.cells[(self.y, self.x)] = (token, self.attrs())
                self.x += 1


def same_screen(writes: list[str]) -> tuple[int, int]:
    """Feed the writes and their folded form; assert identical screens; return the byte
    counts (original, folded)."""
    plain, folded, folder = Screen(), Screen(), SgrFolder()
    before = after = 0
    for data in writes:
        out = folder.fold(data)
        plain.feed(data)
        folded.feed(out)
        assert folded.cells == plain.cells
        assert folded.attrs() == plain.attrs()  # the end of each write is exact too
        before, after = before + len(data.encode()), after + len(out.encode())
    return before, after


def test_textual_style_runs_lose_their_resets():
    row = "\x1b[3;5H" + "".join(f"\x1b[38;5;{c};48;5;17m▀\x1b[0m" for c in (20, 20, 21, 17)) + "\r\n"
    before, after = same_screen([row, row.replace("17m", "18m")])
    folded = SgrFolder().fold(row)
    assert folded.count("\x1b[0m") == 1 and "\x1b[38;5;21m▀" in folded  # only fg changes
    assert after < 0.7 * before


def test_attributes_on_and_off_take_the_shorter_way():
    writes = [
        "\x1b[1;1H\x1b[1;38;5;77mo\x1b[0m\x1b[38;5;253m real \x1b[0m\x1b[1;3;4mX\x1b[0m\x1b[3mY\x1b[0m",
        "\x1b[2;1H\x1b[7;31;42mab\x1b[27mc\x1b[39;49md\x1b[0m\x1b[2mdim\x1b[22m\x1b[1mb\x1b[0m",
    ]
    same_screen(writes)
    folded = SgrFolder().fold(writes[0])
    assert "\x1b[0;38;5;253m real " in folded  # reset+colour: as short as 22;38;5;253
    assert "\x1b[0;3mY" in folded  # shorter than 22;24;3... (bold, italic, underline off)


def test_unknown_sgr_is_passed_through_and_the_next_change_is_sent_whole():
    folder = SgrFolder()
    out = folder.fold("\x1b[38;5;9mA\x1b[0m\x1b[4:3mB\x1b[0m\x1b[38;5;9mC\x1b[0m")
    assert "\x1b[4:3m" in out and out.endswith("\x1b[0;38;5;9mC\x1b[0m")


def test_writes_end_in_the_state_the_app_left():
    folder = SgrFolder()
    assert folder.fold("\x1b[1;1H\x1b[38;5;9mA") == "\x1b[1;1H\x1b[38;5;9mA"
    assert folder.fold("\x1b[0m") == "\x1b[0m"  # a reset on its own is still sent
    assert folder.fold("\x1b[0m") == ""  # ... but not twice


@pytest.mark.parametrize("seed", range(20))
def test_random_streams_show_the_same_cells(seed):
    rng = random.Random(seed)
    pieces = [
        "0",
        "1",
        "2",
        "3",
        "4",
        "7",
        "9",
        "22",
        "23",
        "24",
        "27",
        "29",
        "39",
        "49",
        "31",
        "44",
        "97",
        "38;5;17",
        "48;5;200",
        "38;2;1;2;3",
        "48;2;9;8;7",
        "",
    ]
    writes = []
    for _ in range(6):
        parts = []
        for _ in range(rng.randrange(5, 40)):
            kind = rng.random()
            if kind < 0.45:
                parts.append("\x1b[" + ";".join(rng.sample(pieces, rng.randrange(1, 3))) + "m")
            elif kind < 0.75:
                parts.append(rng.choice("ab▀▄ ") * rng.randrange(1, 4))
            elif kind < 0.85:
                parts.append(f"\x1b[{rng.randrange(1, 12)};{rng.randrange(1, 30)}H")
            elif kind < 0.92:
                parts.append(rng.choice(["\r\n", "\n", "\x1b[?25l", "\x1b[?2026h"]))
            else:
                parts.append("\x1b[0m")
        writes.append("".join(parts))
    same_screen(writes)


async def test_a_canvas_frame_on_a_256_colour_terminal_costs_less(monkeypatch):
    """A real Textual frame of a PixelCanvas: the folded writes show the same screen."""
    from textual.app import App
    from textual.drivers.headless_driver import HeadlessDriver

    from tutor.widgets.pixels import PixelCanvas

    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "256")
    monkeypatch.setattr("textual.constants.COLOR_SYSTEM", "256")
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 4, (16, 30, 1)).astype(np.uint8).repeat(3, axis=2) * 60 for _ in range(3)]

    class Recording(HeadlessDriver):
        @property
        def is_headless(self) -> bool:  # so the app really renders and writes
            return False

        def write(self, data: str) -> None:
            self._app.written.append(data)

    class CanvasOnly(App):
        def compose(self):
            yield PixelCanvas(frames[0])

    app = CanvasOnly()
    app.written = []
    async with app.run_test(size=(40, 12)) as pilot:
        app._driver.__class__ = Recording
        canvas = app.query_one(PixelCanvas)
        assert app.console.color_system == "256" and canvas._indexed
        for frame in frames[1:]:
            canvas.update_pixels(frame)
            await pilot.pause()
            await pilot.pause()
    writes = [w for w in app.written if "\x1b[" in w]
    assert writes, "the app wrote nothing"
    before, after = same_screen(writes)
    assert after < 0.8 * before


def test_the_meter_counts_folded_bytes():
    class Driver:
        def __init__(self) -> None:
            self.written: list[str] = []

        def write(self, data: str) -> None:
            self.written.append(data)

    driver, meter = Driver(), WireMeter()
    meter.install(driver)
    driver.write("\x1b[38;5;9mA\x1b[0m\x1b[38;5;9mB\x1b[0m")
    assert driver.written == ["\x1b[38;5;9mAB\x1b[0m"] and meter.total == len(driver.written[0])
    plain_driver, plain = Driver(), WireMeter(fold=False)
    plain.install(plain_driver)
    plain_driver.write("\x1b[38;5;9mA\x1b[0m")
    assert plain_driver.written == ["\x1b[38;5;9mA\x1b[0m"]
