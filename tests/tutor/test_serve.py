"""`genai-tutor serve ssh`: an asyncssh client against a server on 127.0.0.1 (port 0, so a
free one). One test runs the real tutor; the others run a small probe program in its place
(``ServeConfig.command``), which reports its environment, terminal size and signals, so
each check is quick and exact. Every wait is bounded."""

from __future__ import annotations

import asyncio
import io
import json
import stat
import sys
import textwrap
from pathlib import Path

import asyncssh
import pytest

from tutor import cli
from tutor.serve import Classroom, ServeConfig, read_authorized_keys

WAIT = 60.0  # seconds; generous because the test machine is shared

PROBE = textwrap.dedent(r"""
    import json, os, signal, struct, sys, termios, fcntl, tty
    def size():
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))
        return cols, rows
    def say(text):
        os.write(1, (text + "\r\n").encode())
    def on_winch(sig, frame):
        say("SIZE %d %d" % size())
    def on_hup(sig, frame):
        open(os.path.join(os.environ["GENAI_TUTOR_HOME"], "saved"), "w").write("yes")
        os._exit(0)
    signal.signal(signal.SIGWINCH, on_winch)
    signal.signal(signal.SIGHUP, on_hup)
    tty.setraw(0)
    home = os.environ["GENAI_TUTOR_HOME"]
    with open(os.path.join(home, "visits"), "a") as f:
        f.write("x")
    mode = os.stat(os.path.join(home, "visits")).st_mode & 0o777
    keys = ["TERM", "COLORTERM", "GENAI_TUTOR_HOME", "GENAI_TUTOR_THREADS", "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "NO_COLOR", "SECRET_FROM_CLIENT", "COLUMNS", "LINES"]
    info = {k: os.environ.get(k) for k in keys}
    info["size"] = size()
    info["mode"] = mode
    info["pgrp_is_fg"] = os.tcgetpgrp(0) == os.getpgrp()
    say("INFO " + json.dumps(info))
    while True:
        ch = os.read(0, 1)
        if not ch or ch == b"q":
            say("BYE")
            sys.exit(0)
""")


@pytest.fixture
def probe(tmp_path: Path) -> list[str]:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    return [sys.executable, str(script)]


class Room:
    """A running classroom, its log and its data folder."""

    def __init__(self, room: Classroom, log: io.StringIO, data: Path) -> None:
        self.room, self.log, self.data = room, log, data

    def connect(self, username: str, **kw) -> asyncssh.SSHClientConnection:
        kw.setdefault("client_keys", None)
        return asyncssh.connect(
            "127.0.0.1",
            self.room.port,
            username=username,
            known_hosts=None,
            agent_path=None,
            config=None,
            connect_timeout=WAIT,
            **kw,
        )

    async def logged(self, text: str) -> None:
        for _ in range(int(WAIT * 10)):
            if text in self.log.getvalue():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{text!r} never logged; log:\n{self.log.getvalue()}")


@pytest.fixture
async def start(tmp_path: Path):
    rooms: list[Classroom] = []

    async def start_room(**options) -> Room:
        log = io.StringIO()
        data = tmp_path / "server"
        room = Classroom(ServeConfig(port=0, data_dir=data, log=log, **options))
        await room.start()
        rooms.append(room)
        return Room(room, log, data)

    yield start_room
    for room in rooms:
        await asyncio.wait_for(room.stop(grace=2.0), WAIT)


async def read_until(proc: asyncssh.SSHClientProcess, marker: bytes, seen: bytes = b"") -> bytes:
    """Bytes from the session (after ``seen``, already read) until ``marker`` appears,
    bounded by WAIT."""

    async def loop() -> bytes:
        nonlocal seen
        while marker not in seen:
            chunk = await proc.stdout.read(65536)
            if not chunk:
                raise AssertionError(f"session ended before {marker!r}; got {seen[-300:]!r}")
            seen += chunk
        return seen

    return await asyncio.wait_for(loop(), WAIT)


async def open_tty(conn, size=(80, 24), term="xterm-256color", **kw) -> asyncssh.SSHClientProcess:
    return await conn.create_process(term_type=term, term_size=size, encoding=None, **kw)


def info_of(screen: bytes) -> dict:
    line = screen.split(b"INFO ", 1)[1].split(b"\r\n", 1)[0]
    return json.loads(line)


async def test_a_learner_sees_home_in_the_real_tutor(start) -> None:
    room = await start()
    async with room.connect("alice") as conn:
        proc = await open_tty(conn)
        screen = await read_until(proc, b"genai-tutor")
        screen = await read_until(proc, b"Lessons", screen)  # Home's course map
        screen = await read_until(proc, b"\x1b[24;1H", screen)  # down to the last row
        assert b"\x1b[25;1H" not in screen  # painted at 80x24
        home = room.data / "learners" / "alice"
        assert home.is_dir() and stat.S_IMODE(home.stat().st_mode) == 0o700
    await room.logged("disconnect alice after")
    assert "connect alice from 127.0.0.1 (1 of 30 sessions)" in room.log.getvalue()
    assert not room.room.sessions


async def test_the_real_tutor_repaints_after_a_resize(start) -> None:
    """Home is idle when the resize comes. This timed out under the parallel run: a
    pytest-xdist worker has COLUMNS=80 and LINES=24 in its environment, the server passed
    them on, and Textual (shutil.get_terminal_size) then read 80x24 at every SIGWINCH and
    repainted at the old size. The server now drops them (DROP_ENV)."""
    room = await start()
    async with room.connect("alice") as conn:
        proc = await open_tty(conn)
        screen = await read_until(proc, b"Lessons")
        await read_until(proc, b"\x1b[24;1H", screen)
        proc.change_terminal_size(100, 30)
        await read_until(proc, b"\x1b[30;")  # the app paints on its new last row (any column)


async def test_an_answer_given_over_ssh_is_there_after_reconnecting(start) -> None:
    """The real tutor: Home, Enter opens a lesson, c its quiz, Enter answers; after a
    disconnect the answer is in the learner's store, and the next session opens it."""
    import sqlite3

    room = await start()
    async with room.connect("lena") as conn:
        proc = await open_tty(conn)
        await read_until(proc, b"Lessons")
        await asyncio.sleep(1.0)  # let Home take focus before the first key
        proc.stdin.write(b"\r")
        await read_until(proc, b"Check yourself")
        proc.stdin.write(b"c")
        await read_until(proc, b"Question 1 of")
        await asyncio.sleep(0.3)
        proc.stdin.write(b"\r")
        await read_until(proc, b"Next (n)")  # the feedback and the Next button: answered
    await room.logged("disconnect lena after")
    db = room.data / "learners" / "lena" / "progress.db"
    with sqlite3.connect(db) as store:
        (answers,) = store.execute("SELECT COUNT(*) FROM quiz_answer").fetchone()
    assert answers == 1
    async with room.connect("lena") as conn:  # the same learner finds the same store
        proc = await open_tty(conn)
        await read_until(proc, b"Lessons")
    assert [p.name for p in (room.data / "learners").iterdir()] == ["lena"]


async def test_session_env_size_and_resize_reach_the_child(start, probe, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # as in a pytest-xdist worker: the server's own size
    monkeypatch.setenv("LINES", "24")
    room = await start(command=probe)
    async with room.connect("bob") as conn:
        proc = await open_tty(
            conn, size=(80, 24), term="screen-256color", env={"NO_COLOR": "1", "SECRET_FROM_CLIENT": "x"}
        )
        info = info_of(await read_until(proc, b"INFO "))
        assert info["TERM"] == "screen-256color"
        assert info["COLORTERM"] is None
        assert info["NO_COLOR"] == "1" and info["SECRET_FROM_CLIENT"] is None
        assert info["COLUMNS"] is None and info["LINES"] is None  # they would pin the size
        assert info["GENAI_TUTOR_HOME"] == str(room.data / "learners" / "bob")
        assert info["GENAI_TUTOR_THREADS"] == info["OMP_NUM_THREADS"] == info["OPENBLAS_NUM_THREADS"] == "1"
        assert info["size"] == [80, 24]
        assert info["mode"] == 0o600  # the child's files are private
        assert info["pgrp_is_fg"], "the pty is the child's controlling terminal"
        proc.change_terminal_size(123, 41)
        await read_until(proc, b"SIZE 123 41")
        proc.change_terminal_size(100000, 100000)  # clamped: no screen of 10^10 cells
        await read_until(proc, b"SIZE 500 300")
        proc.stdin.write(b"q")
        await read_until(proc, b"BYE")
        await asyncio.wait_for(proc.wait_closed(), WAIT)
        assert proc.exit_status == 0
    await room.logged("disconnect bob after")
    assert "exit 0" in room.log.getvalue()


async def test_learners_have_separate_folders_that_persist(start, probe) -> None:
    room = await start(command=probe)
    for name in ("carol", "dave", "carol"):
        async with room.connect(name) as conn:
            proc = await open_tty(conn)
            info = info_of(await read_until(proc, b"INFO "))
            assert info["GENAI_TUTOR_HOME"].endswith(f"learners/{name}")
            proc.stdin.write(b"q")
            await asyncio.wait_for(proc.wait_closed(), WAIT)
    learners = room.data / "learners"
    assert (learners / "carol" / "visits").read_text() == "xx"
    assert (learners / "dave" / "visits").read_text() == "x"


async def test_only_listed_keys_get_in_and_only_as_their_learner(start, probe, tmp_path) -> None:
    alice_key = asyncssh.generate_private_key("ssh-ed25519")
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    keys_file = tmp_path / "keys"
    keys_file.write_text("# the class\n\nalice " + alice_key.export_public_key().decode())
    room = await start(command=probe, authorized_keys=read_authorized_keys(keys_file))
    with pytest.raises(asyncssh.PermissionDenied):
        async with room.connect("alice", client_keys=[stranger]):
            pass
    with pytest.raises(asyncssh.PermissionDenied):
        async with room.connect("bob", client_keys=[alice_key]):
            pass
    with pytest.raises(asyncssh.PermissionDenied):
        async with room.connect("alice", client_keys=None, password="guess"):
            pass
    async with room.connect("alice", client_keys=[alice_key]) as conn:
        proc = await open_tty(conn)
        await read_until(proc, b"INFO ")
    assert not (room.data / "learners" / "bob").exists()


async def test_a_routers_key_may_open_any_learner(start, probe, tmp_path) -> None:
    router = asyncssh.generate_private_key("ssh-ed25519")
    keys_file = tmp_path / "keys"
    keys_file.write_text("* " + router.export_public_key().decode())
    room = await start(command=probe, authorized_keys=read_authorized_keys(keys_file))
    for name in ("nora", "omar"):
        async with room.connect(name, client_keys=[router]) as conn:
            proc = await open_tty(conn)
            assert info_of(await read_until(proc, b"INFO "))["GENAI_TUTOR_HOME"].endswith(name)
    with pytest.raises(asyncssh.PermissionDenied):
        async with room.connect("..", client_keys=[router]):
            pass


async def test_max_sessions_says_the_class_is_full(start, probe) -> None:
    room = await start(command=probe, max_sessions=1)
    async with room.connect("erin") as first:
        proc = await open_tty(first)
        await read_until(proc, b"INFO ")
        async with room.connect("frank") as second:
            late = await open_tty(second)
            await read_until(late, b"the class is full")
            await asyncio.wait_for(late.wait_closed(), WAIT)
            assert late.exit_status == 1
    await room.logged("refused frank: the class is full")


async def test_commands_subsystems_and_bad_names_are_refused(start, probe) -> None:
    room = await start(command=probe)
    async with room.connect("gina") as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.run("touch /tmp/genai-tutor-should-not-exist")
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_process(subsystem="sftp")
        no_tty = await conn.create_process(encoding=None)  # a "shell" without a terminal
        await read_until(no_tty, b"needs a terminal")
    for bad in ("..", ".hidden", "a/b", "x" * 33, "with space"):
        with pytest.raises(asyncssh.PermissionDenied):
            async with room.connect(bad):
                pass
    # Nothing was started and no folder made, for gina (no terminal) or the bad names.
    assert [p.name for p in room.data.iterdir()] == ["serve"]
    assert "refused gina: no terminal" in room.log.getvalue()
    assert "refused '..' from 127.0.0.1" in room.log.getvalue()


async def test_idle_session_is_closed(start, probe) -> None:
    room = await start(command=probe, idle_timeout=1.0)
    async with room.connect("hank") as conn:
        proc = await open_tty(conn)
        await read_until(proc, b"without a key press")
        await asyncio.wait_for(proc.wait_closed(), WAIT)
    await room.logged("disconnect hank after")
    assert "(idle)" in room.log.getvalue()
    assert (room.data / "learners" / "hank" / "saved").read_text() == "yes"


async def test_stop_hangs_up_every_session_and_keeps_the_host_key(start, probe) -> None:
    room = await start(command=probe)
    key_file = room.data / "serve" / "ssh_host_ed25519_key"
    first_key = key_file.read_bytes()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    async with room.connect("ivy") as conn:
        proc = await open_tty(conn)
        await read_until(proc, b"INFO ")
        await asyncio.wait_for(room.room.stop(grace=2.0), WAIT)
        await read_until(proc, b"shutting down")
    assert (room.data / "learners" / "ivy" / "saved").read_text() == "yes"
    assert not room.room.sessions
    again = await start(command=probe)
    assert key_file.read_bytes() == first_key
    async with again.connect("ivy"):
        pass


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--port", "0"], "out of range"),
        (["--port", "65536"], "out of range"),
        (["--max-sessions", "0"], "out of range"),
        (["--idle-timeout", "soon"], "is not a number of seconds"),
        (["--host", ""], "not a host"),
        (["--authorized-keys", "/no/such/file"], "not a readable file"),
    ],
)
def test_bad_serve_arguments_fail_at_parse_time(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.build_parser().parse_args(["serve", "ssh", *argv])
    assert stop.value.code == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_authorized_keys_file_errors_name_the_line(tmp_path) -> None:
    bad = tmp_path / "keys"
    bad.write_text("# ok\nalice not-a-key\n")
    with pytest.raises(ValueError, match=r"keys:2: not a public key"):
        read_authorized_keys(bad)
    bad.write_text("../root ssh-ed25519 AAAA\n")
    with pytest.raises(ValueError, match=r"keys:1: expected 'LEARNER KEYTYPE"):
        read_authorized_keys(bad)


async def test_sigterm_stops_the_server_and_hangs_up_the_tutors(tmp_path) -> None:
    """The real command: `serve ssh` in its own process, a learner in the real tutor, then
    SIGTERM: the tutor is hung up, the server logs it and exits 0."""
    import os
    import signal
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, GENAI_TUTOR_HOME=str(tmp_path / "server"))
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tutor",
        "serve",
        "ssh",
        "--port",
        str(port),
        "--max-sessions",
        "2",
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(Path(cli.__file__).parents[1]),
    )
    log = b""
    try:
        while b"serving genai-tutor" not in log:
            log += await asyncio.wait_for(server.stderr.readline(), WAIT)
        conn = await asyncssh.connect(
            "127.0.0.1",
            port,
            username="judy",
            known_hosts=None,
            client_keys=None,
            agent_path=None,
            config=None,
        )
        async with conn:
            proc = await open_tty(conn)
            await read_until(proc, b"genai-tutor")
            server.send_signal(signal.SIGTERM)
            await read_until(proc, b"shutting down")
            await asyncio.wait_for(proc.wait_closed(), WAIT)
        _, rest = await asyncio.wait_for(server.communicate(), WAIT)
        log += rest
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    assert server.returncode == 0
    text = log.decode()
    assert "connect judy from 127.0.0.1 (1 of 2 sessions)" in text
    assert "disconnect judy after" in text and "signal SIGHUP" in text
    assert text.rstrip().endswith("stopped")
    assert (tmp_path / "server" / "learners" / "judy" / "progress.db").is_file()


# ------------------------------------------------------------------ serve web


@pytest.fixture
async def web_room(tmp_path: Path):
    """`serve web` on 127.0.0.1 and a free port, through aiohttp's runner."""
    from aiohttp import web

    from tutor.serve import make_web_server

    made = []

    async def start_web(**options):
        log = io.StringIO()
        data = tmp_path / "server"
        room = Classroom(ServeConfig(port=0, data_dir=data, log=log, **options))
        header = options.pop("user_header", None)
        server = make_web_server(room, user_header=header)
        runner = web.AppRunner(await server._make_app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        made.append(runner)
        port = runner.addresses[0][1]
        return Room(room, log, data), f"http://127.0.0.1:{port}", server

    yield start_web
    for runner in made:
        await asyncio.wait_for(runner.cleanup(), WAIT)


async def test_web_asks_a_name_then_runs_the_tutor_with_its_data(web_room) -> None:
    import aiohttp

    room, url, server = await web_room()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(url + "/") as page:
            assert page.status == 200 and "Your name in this class" in await page.text()
        async with http.get(url + "/", params={"learner": "../etc"}) as page:
            assert page.status == 400 and "is not a learner name" in await page.text()
        async with http.get(url + "/", params={"learner": "kim"}) as page:
            assert page.status == 200 and "data-session-websocket-url" in await page.text()
        async with http.ws_connect(url + "/ws?width=80&height=24") as ws:  # the cookie says kim
            seen = b""

            async def until_title() -> None:
                nonlocal seen
                while b"genai-tutor" not in seen:
                    message = await ws.receive()
                    assert message.type == aiohttp.WSMsgType.BINARY, message
                    seen += message.data

            await asyncio.wait_for(until_title(), WAIT)
            assert server.active == 1
    await room.logged("disconnect kim (web) after")
    assert "connect kim (web) from 127.0.0.1 (1 of 30 sessions)" in room.log.getvalue()
    home = room.data / "learners" / "kim"
    assert (home / "progress.db").is_file() and stat.S_IMODE(home.stat().st_mode) == 0o700


async def test_web_full_class_and_missing_name(web_room) -> None:
    import aiohttp

    room, url, server = await web_room(max_sessions=1)
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/ws?width=80&height=24") as refused:
            assert refused.status == 403  # no name yet: no tutor
        server.active = 1  # one tab is open (the counter the websocket handler keeps)
        async with http.get(url + "/", params={"learner": "lee"}) as page:
            assert page.status == 503 and "the class is full" in await page.text()
        async with http.get(url + "/ws?width=80&height=24", cookies={"genai_tutor_learner": "lee"}) as late:
            assert late.status == 503
    assert "refused lee (web): the class is full" in room.log.getvalue()
    assert not (room.data / "learners").exists()


def _browser() -> str | None:
    import shutil

    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


# textual-serve's page draws the terminal with xterm.js on a canvas (WebGL or 2D), so the
# text is not in the DOM. The test serves textual.js with one line added that keeps each
# terminal object in ``window.genaiTerminals``; the check then reads xterm's own screen
# buffer, which is exactly what the canvas is drawn from.
TERMINAL_MADE = "t.forEach((e=>{const t=new w(e,{ping:r});"
EXPOSE = "(window.genaiTerminals=window.genaiTerminals||[]).push(t);"
SCREEN_JS = """() => (window.genaiTerminals || []).map(t => {
    const buffer = t.terminal.buffer.active, rows = [];
    for (let y = 0; y < t.terminal.rows; y++) rows.push(buffer.getLine(y).translateToString(true));
    return {cols: t.terminal.cols, rows: rows};
})"""


async def test_web_page_shows_home_in_a_real_browser(web_room) -> None:
    """Debian's chromium driven by Playwright: the start page, a name, then Home's screen
    in the page's terminal."""
    try:
        playwright = __import__("playwright.async_api", fromlist=["async_playwright"])
    except ImportError:
        pytest.skip("Playwright is not installed (pip install 'genai-tutor[browser]')")
    executable = _browser()
    if executable is None:
        pytest.skip("no chromium executable on this machine (Debian: apt-get install chromium)")
    room, url, server = await web_room()
    server.public_url = url  # the page builds its websocket address from this

    async def expose_terminals(route) -> None:
        response = await route.fetch()
        script = await response.text()
        assert TERMINAL_MADE in script, "textual-serve's textual.js changed: update TERMINAL_MADE"
        await route.fulfill(response=response, body=script.replace(TERMINAL_MADE, TERMINAL_MADE + EXPOSE))

    async with playwright.async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=executable, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 700})
            await page.route("**/js/textual.js", expose_terminals)
            await page.route("https://fonts.googleapis.com/**", lambda route: route.abort())  # offline
            await page.goto(url + "/", timeout=WAIT * 1000)
            await page.fill("input[name=learner]", "mia")
            await page.click("button[type=submit]")
            await page.wait_for_url("**/?learner=mia", timeout=WAIT * 1000)
            shown = f"({SCREEN_JS})().some(s => s.rows.join('\\n').includes('Lessons'))"
            await page.wait_for_function(shown, timeout=WAIT * 1000)
            screens = await page.evaluate(SCREEN_JS)
            first_byte = await page.evaluate("document.body.classList.contains('-first-byte')")
        finally:
            await browser.close()
    assert len(screens) == 1 and first_byte  # one terminal, and the intro dialog gave way to it
    text = "\n".join(screens[0]["rows"])
    assert "genai-tutor" in text and "Lessons" in text, text  # Home: its title and course map
    assert "L01 What a generative model is" in text and "L13 " in text, text
    assert screens[0]["cols"] >= 80, screens[0]  # the page sized the app to the viewport
    await room.logged("connect mia (web)")
    assert (room.data / "learners" / "mia" / "progress.db").is_file()
