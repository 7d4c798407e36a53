"""`genai-tutor serve ssh`: a classroom on one host, one tutor process per SSH session.

Why this shape: a learner types ``ssh -p 2222 alice@host`` and needs no account and no
install. Each session that asks for a terminal gets its own ``python -m tutor`` in a
pseudo-terminal, so one learner's crash, lab or memory never touches another's, and the
app runs exactly as it does locally (Textual reads the pty; the server only forwards bytes).

* **Identity** is the SSH user name (letters, digits, ``-``, ``_``, ``.``; not starting
  with a dot). With ``--authorized-keys`` only listed keys get in, and a key only opens the
  learner it is listed under. The file has one key per line,
  ``LEARNER KEYTYPE BASE64 [comment]`` (e.g. ``alice ssh-ed25519 AAAA... alice@laptop``);
  blank lines and lines starting with ``#`` are ignored. The learner ``*`` marks a
  trusted router's key (e.g. sshpiper's upstream key) that may open any learner.
* **Data**: each learner's progress lives in ``<server data folder>/learners/<name>``
  (0700), passed to the child as ``GENAI_TUTOR_HOME``. The host key is generated on first
  start and kept at ``<server data folder>/serve/ssh_host_ed25519_key``.
* **Never a shell**: exec and subsystem requests are refused, forwarding, agent, X11, SCP
  and SFTP are off; the only program ever started is the tutor.
* **Fair share**: each child's engine gets one compute thread; ``--max-sessions`` caps
  the class ("the class is full"); an idle session is closed after ``--idle-timeout``.
* **Stopping**: on SIGTERM (or Ctrl+C) every child gets SIGHUP, like a terminal that hung
  up; the store commits after every answer, so nothing is lost. Children still running
  after a grace period get SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import re
import signal
import struct
import sys
import termios
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

import asyncssh

from content.paths import ENV_HOME, SOURCE_ROOT, private_dir, user_home

LEARNER_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,31}$")
ANY_LEARNER = "*"  # in --authorized-keys: a router's key, trusted to name the learner
NAME_RULE = "use 1 to 32 letters, digits, '-', '_' or '.', not starting with '.'"
# Environment the server's own shell may carry that must not reach a learner's tutor.
# COLUMNS and LINES above all: Textual sizes its screen with shutil.get_terminal_size(),
# which prefers them to the pty's size, so a tutor started with them ignores every resize.
DROP_ENV = (
    "COLORTERM",
    "TERM",
    ENV_HOME,
    "SSH_CLIENT",
    "SSH_CONNECTION",
    "SSH_TTY",
    "SSH_AUTH_SOCK",
    "TERM_PROGRAM",
    "TERM_PROGRAM_VERSION",
    "COLUMNS",
    "LINES",
)
WEB_DRIVER_ENV = ("TERM_PROGRAM", "TERM_PROGRAM_VERSION", "COLUMNS")  # textual-serve sets these
# What a client may send (ssh -o SendEnv=NO_COLOR): accessibility and slow links only.
CLIENT_ENV = ("NO_COLOR", "GENAI_TUTOR_LOW_BANDWIDTH")
ONE_THREAD = {
    "GENAI_TUTOR_THREADS": "1",
    "GENAI_TUTOR_BLAS_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
HANGUP_GRACE = 5.0  # seconds a child has after SIGHUP before SIGTERM, then SIGKILL
READ_CHUNK = 65536
MAX_COLUMNS, MAX_ROWS = 500, 300


def valid_learner(name: str) -> bool:
    """Whether ``name`` can be a learner (and so a folder name): no '/', no '..'."""
    return bool(LEARNER_NAME.match(name))


def learner_name(text: str) -> str:
    """argparse type for a learner name."""
    if not valid_learner(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a learner name: {NAME_RULE}")
    return text


def read_authorized_keys(path: Path) -> dict[bytes, str]:
    """Parse a ``LEARNER KEYTYPE BASE64 [comment]`` file into {public key blob: learner}.

    Raises ``ValueError`` naming the file and line of the first bad entry."""
    keys: dict[bytes, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        parts = line.split(None, 1)
        if len(parts) < 2 or not (valid_learner(parts[0]) or parts[0] == ANY_LEARNER):
            raise ValueError(
                f"{where}: expected 'LEARNER KEYTYPE BASE64 [comment]' with a learner "
                f"name first ({NAME_RULE})"
            )
        try:
            key = asyncssh.import_public_key(parts[1])
        except (asyncssh.KeyImportError, ValueError) as error:
            raise ValueError(f"{where}: not a public key ({error})") from None
        blob = key.public_data
        if blob in keys and keys[blob] != parts[0]:
            raise ValueError(f"{where}: this key is already listed for {keys[blob]!r}")
        keys[blob] = parts[0]
    return keys


def authorized_keys_file(text: str) -> dict[bytes, str]:
    """argparse type for ``--authorized-keys``: the file is read and checked at parse time."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a readable file")
    try:
        keys = read_authorized_keys(path)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not keys:
        raise argparse.ArgumentTypeError(f"{text!r} lists no keys, so nobody could connect")
    return keys


@dataclass
class ServeConfig:
    """What `serve ssh` was asked for. ``command`` is the program each session runs; it is
    the tutor, and only tests replace it (never anything a client sends)."""

    host: str = "127.0.0.1"
    port: int = 2222
    authorized_keys: dict[bytes, str] | None = None
    max_sessions: int = 30
    idle_timeout: float = 1800.0
    data_dir: Path | None = None
    command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "tutor"])
    log: TextIO = field(default_factory=lambda: sys.stderr)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def host_key(data_dir: Path) -> asyncssh.SSHKey:
    """The server's host key: made on first start, then reused so learners' known_hosts
    stay valid."""
    path = data_dir / "serve" / "ssh_host_ed25519_key"
    if path.is_file():
        return asyncssh.read_private_key(str(path))
    private_dir(path.parent)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="genai-tutor serve")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.export_private_key())
    return key


def set_winsize(fd: int, width: int, height: int, pixwidth: int = 0, pixheight: int = 0) -> None:
    """Tell a pty its size; the kernel then sends SIGWINCH to its foreground group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, pixwidth, pixheight))


class Classroom:
    """The server's state: the config, the sessions running, and the log."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir or user_home()
        self.sessions: set[TutorSession] = set()
        self.server: asyncssh.SSHAcceptor | None = None

    def log(self, text: str) -> None:
        print(f"{_now()} {text}", file=self.config.log, flush=True)

    def learner_home(self, name: str) -> Path:
        home = self.data_dir / "learners" / name
        private_dir(home)
        return home

    def child_env(self, name: str, term: str, client_env: dict[str, str]) -> dict[str, str]:
        """The tutor's environment: the server's, minus its terminal and home, plus the
        client's TERM, the learner's folder and one compute thread."""
        env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
        env["TERM"] = term or "xterm-256color"
        env[ENV_HOME] = str(self.learner_home(name))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SOURCE_ROOT), env.get("PYTHONPATH")) if p)
        env.update(ONE_THREAD)
        env.update({k: v for k, v in client_env.items() if k in CLIENT_ENV})
        return env

    async def start(self) -> asyncssh.SSHAcceptor:
        config = self.config
        self.server = await asyncssh.create_server(
            lambda: LearnerGate(self),
            config.host,
            config.port,
            server_host_keys=[host_key(self.data_dir)],
            encoding=None,
            line_editor=False,
            allow_pty=True,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            sftp_factory=None,
            login_timeout=30,
            keepalive_interval=60,
        )
        return self.server

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.get_port()

    async def stop(self, grace: float = HANGUP_GRACE) -> None:
        """Stop accepting, hang up every session, wait for the tutors to exit."""
        if self.server is not None:
            self.server.close()
        sessions = list(self.sessions)
        for session in sessions:
            session.hang_up("the server is shutting down; your progress is saved", grace=grace)
        await asyncio.gather(*(s.finished(grace) for s in sessions), return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()


class LearnerGate(asyncssh.SSHServer):
    """Authentication: the user name is the learner; with --authorized-keys, the key must be
    listed under that learner."""

    def __init__(self, room: Classroom) -> None:
        self.room = room
        self.conn: asyncssh.SSHServerConnection | None = None
        self.peer = "?"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.peer = f"{peer[0]}:{peer[1]}"

    def begin_auth(self, username: str) -> bool:
        assert self.conn is not None
        if not valid_learner(username):
            self.conn.send_auth_banner(f"genai-tutor: {username!r} is not a learner name: {NAME_RULE}.\r\n")
            self.room.log(f"refused {username!r} from {self.peer}: not a learner name")
            return True  # auth required, and no method will ever succeed
        return self.room.config.authorized_keys is not None

    def session_requested(self) -> TutorSession:
        return TutorSession(self.room)

    def public_key_auth_supported(self) -> bool:
        return self.room.config.authorized_keys is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        keys = self.room.config.authorized_keys or {}
        ok = valid_learner(username) and keys.get(key.public_data) in (username, ANY_LEARNER)
        if not ok:
            self.room.log(f"refused key {key.get_fingerprint()} for {username!r} from {self.peer}")
        return ok


class TutorSession(asyncssh.SSHServerSession):
    """One SSH session: one tutor process in a pty, bytes forwarded both ways."""

    def __init__(self, room: Classroom) -> None:
        self.room = room
        self.chan: asyncssh.SSHServerChannel | None = None
        self.learner = "?"
        self.term = ""
        self.size = (80, 24, 0, 0)
        self.has_pty = False
        self.master: int | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.started = time.monotonic()
        self.last_input = time.monotonic()
        self.pending = bytearray()
        self.reading = False
        self.tasks: set[asyncio.Task] = set()
        self.done = asyncio.get_event_loop().create_future()
        self.reason = ""

    # ------------------------------------------------------------ requests
    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan
        self.learner = chan.get_extra_info("username") or "?"

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes) -> bool:
        self.has_pty = True
        self.term = term_type
        self.size = _clamp(*term_size)
        return True

    def shell_requested(self) -> bool:
        return True  # "shell" here means the tutor; nothing else is ever started

    def exec_requested(self, command: str) -> bool:
        self.room.log(f"refused a command from {self.learner}: only the tutor runs here")
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        self.room.log(f"refused subsystem {subsystem!r} from {self.learner}")
        return False

    def session_started(self) -> None:
        assert self.chan is not None
        if not self.has_pty:
            self._refuse("genai-tutor needs a terminal: connect with 'ssh -t'.\r\n", "no terminal")
            return
        if len(self.room.sessions) >= self.room.config.max_sessions:
            self._refuse(
                f"Sorry {self.learner}, the class is full "
                f"({self.room.config.max_sessions} learners). "
                "Please try again in a few minutes.\r\n",
                "the class is full",
            )
            return
        self.room.sessions.add(self)
        self._spawn(asyncio.create_task(self._run()))

    def _refuse(self, message: str, why: str) -> None:
        assert self.chan is not None
        self.room.log(f"refused {self.learner}: {why}")
        self.chan.write(message.encode())
        self.chan.exit(1)
        if not self.done.done():
            self.done.set_result(None)

    def _spawn(self, task: asyncio.Task) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ------------------------------------------------------------ the child
    async def _run(self) -> None:
        assert self.chan is not None
        env = self.room.child_env(self.learner, self.term, dict(self.chan.get_environment()))
        master, slave = os.openpty()
        self.master = master
        set_winsize(slave, *self.size)
        os.set_blocking(master, False)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.room.config.command,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                cwd=env[ENV_HOME],
                start_new_session=True,
                preexec_fn=_child_setup,
            )
        except OSError as error:
            self._close_master()
            self.room.sessions.discard(self)
            self._refuse(f"genai-tutor could not start ({error.strerror}).\r\n", f"spawn failed: {error}")
            return
        finally:
            os.close(slave)  # the child has its own copy; ours would keep the pty open
        peer = self.chan.get_extra_info("peername") or ("?", 0)
        self.room.log(
            f"connect {self.learner} from {peer[0]} ({len(self.room.sessions)} of "
            f"{self.room.config.max_sessions} sessions)"
        )
        self._resume_reading()
        self._spawn(asyncio.create_task(self._watch_idle()))
        code = await self.proc.wait()
        await asyncio.sleep(0.05)  # let the last frame's bytes arrive
        self._drain()
        self._close_master()
        self.room.sessions.discard(self)
        why = f" ({self.reason})" if self.reason else ""
        ended = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
        self.room.log(
            f"disconnect {self.learner} after {_span(time.monotonic() - self.started)}, {ended}{why}"
        )
        if self.chan is not None and not self.chan.is_closing():
            self.chan.exit(0 if code == 0 else 1)
        for task in list(self.tasks):
            if task is not asyncio.current_task():
                task.cancel()
        if not self.done.done():
            self.done.set_result(None)

    async def _watch_idle(self) -> None:
        timeout = self.room.config.idle_timeout
        while True:
            left = self.last_input + timeout - time.monotonic()
            if left <= 0:
                self.hang_up(
                    f"closed after {_span(timeout)} without a key press; your progress is saved", "idle"
                )
                return
            await asyncio.sleep(min(left, 30.0))

    def hang_up(self, message: str = "", reason: str = "", grace: float = HANGUP_GRACE) -> None:
        """Close the session: SIGHUP to the tutor (as a terminal hang-up), then escalate."""
        if reason and not self.reason:
            self.reason = reason
        if message and self.chan is not None and not self.chan.is_closing():
            self.chan.write(f"\r\n\x1b[0m{message}\r\n".encode())
        self._signal(signal.SIGHUP)
        self._spawn(asyncio.create_task(self._escalate(grace)))

    async def _escalate(self, grace: float) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                await asyncio.wait_for(asyncio.shield(self.done), grace)
                return
            except TimeoutError:
                self._signal(sig)

    def _signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    async def finished(self, timeout: float) -> None:
        """Wait until the tutor has exited (SIGKILL comes after two grace periods)."""
        await asyncio.wait_for(asyncio.shield(self.done), timeout * 3 + 1)

    # ------------------------------------------------------------ bytes
    def _on_readable(self) -> None:
        self._drain()

    def _drain(self) -> None:
        if self.master is None:
            return
        while True:
            try:
                data = os.read(self.master, READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:  # EIO: the tutor closed its terminal
                self._pause_reading()
                return
            if not data:
                self._pause_reading()
                return
            if self.chan is not None and not self.chan.is_closing():
                self.chan.write(data)
            if not self.reading:
                return

    def _resume_reading(self) -> None:
        if self.master is not None and not self.reading:
            asyncio.get_event_loop().add_reader(self.master, self._on_readable)
            self.reading = True

    def _pause_reading(self) -> None:
        if self.master is not None and self.reading:
            asyncio.get_event_loop().remove_reader(self.master)
        self.reading = False

    def pause_writing(self) -> None:
        self._pause_reading()  # the client is slow: stop reading, so the tutor blocks

    def resume_writing(self) -> None:
        self._resume_reading()

    def data_received(self, data: bytes, datatype) -> None:
        self.last_input = time.monotonic()
        if self.master is None:
            return
        self.pending += data
        self._flush_input()

    def _flush_input(self) -> None:
        loop = asyncio.get_event_loop()
        if self.master is None:
            return
        try:
            written = os.write(self.master, self.pending)
        except BlockingIOError:
            written = 0
        except OSError:
            self.pending.clear()
            return
        del self.pending[:written]
        loop.remove_writer(self.master)
        if self.pending:
            loop.add_writer(self.master, self._flush_input)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = _clamp(width, height, pixwidth, pixheight)
        if self.master is not None:
            set_winsize(self.master, *self.size)
            self._signal(signal.SIGWINCH)  # the kernel does this too; a direct nudge is harmless

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.chan = None
        if self.proc is not None and self.proc.returncode is None:
            self.hang_up(reason="client left")

    def _close_master(self) -> None:
        if self.master is None:
            return
        loop = asyncio.get_event_loop()
        self._pause_reading()
        loop.remove_writer(self.master)
        os.close(self.master)
        self.master = None


def _clamp(width: int, height: int, pixwidth: int, pixheight: int) -> tuple[int, int, int, int]:
    """A terminal size the tutor can draw: 0 means unknown (80x24); a client cannot make
    the app allocate a screen of millions of cells."""
    width = min(max(width or 80, 20), MAX_COLUMNS)
    height = min(max(height or 24, 5), MAX_ROWS)
    return width, height, min(pixwidth, 65535), min(pixheight, 65535)


def _child_setup() -> None:
    """In the child, after setsid: make the pty on stdin the controlling terminal, so a
    hang-up and SIGWINCH reach the tutor like on a real login; files it makes are the
    learner's alone (umask 077)."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    os.umask(0o077)


async def serve_ssh(config: ServeConfig) -> int:
    """Run until SIGTERM or SIGINT, then hang up every session and return 0."""
    room = Classroom(config)
    try:
        await room.start()
    except OSError as error:
        print(f"genai-tutor: cannot listen on {config.host}:{config.port}: {error.strerror}", file=sys.stderr)
        return 1
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    keys = "listed keys only" if config.authorized_keys is not None else "no key needed"
    room.log(
        f"serving genai-tutor on ssh://{config.host}:{room.port} ({keys}; at most "
        f"{config.max_sessions} sessions; data in {room.data_dir})"
    )
    await stop.wait()
    room.log(f"stopping: hanging up {len(room.sessions)} session(s)")
    await room.stop()
    room.log("stopped")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """`genai-tutor serve ssh ...`."""
    config = ServeConfig(
        host=args.host,
        port=args.port,
        authorized_keys=args.authorized_keys,
        max_sessions=args.max_sessions,
        idle_timeout=float(args.idle_timeout),
    )
    return asyncio.run(serve_ssh(config))


# ------------------------------------------------------------------ serve web
#
# textual-serve runs one app process per browser tab (its WebDriver speaks a small packet
# protocol over the process's stdin/stdout). We add the learner: a name asked on the first
# page and kept in a cookie, or, behind a reverse proxy that authenticates, a header it
# sets (--user-header). The subclasses below use textual-serve's AppService and Server
# hooks (_build_environment, handle_index, handle_websocket), checked against 1.1.x.

COOKIE = "genai_tutor_learner"

NAME_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>genai-tutor</title>
<style>body{{font-family:sans-serif;background:#0b1021;color:#eee;display:flex;justify-content:center;
padding-top:15vh}}form{{font-size:1.3em}}input{{font-size:1em}}.err{{color:#f88}}</style></head>
<body><form method="get" action="/">
<h1>genai-tutor</h1>
<p>Your name in this class (your progress is kept under it):</p>
<p class="err">{error}</p>
<input name="learner" autofocus required maxlength="32" pattern="[A-Za-z0-9_\\-][A-Za-z0-9._\\-]*">
<button type="submit">Start</button>
<p><small>Letters, digits, - _ and . only.</small></p>
</form></body></html>
"""


def _page(title: str, text: str, status: int):
    from html import escape

    from aiohttp import web

    title, text = escape(title), escape(text)
    body = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body style='font-family:sans-serif;padding:15vh 10vw'><h1>{title}</h1><p>{text}</p>"
        "</body></html>"
    )
    return web.Response(text=body, content_type="text/html", status=status)


def make_web_server(room: Classroom, user_header: str | None = None, public_url: str | None = None):
    """A textual-serve ``Server`` that gives every tab its own tutor with the learner's
    data folder and one compute thread."""
    import shlex

    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    class LearnerAppService(AppService):
        def __init__(self, *args, extra_env: dict[str, str], **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.extra_env = extra_env

        def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
            env = super()._build_environment(width, height)
            for name in DROP_ENV:
                if name not in WEB_DRIVER_ENV:  # the web driver's own (its size: COLUMNS, ROWS)
                    env.pop(name, None)
            env.update(self.extra_env)
            return env

    class LearnerServer(Server):
        def __init__(self) -> None:
            config = room.config
            super().__init__(
                shlex.join(config.command),
                host=config.host,
                port=config.port,
                title="genai-tutor",
                public_url=public_url,
            )
            self.active = 0

        def learner_of(self, request: web.Request) -> str | None:
            if user_header:
                name = request.headers.get(user_header, "")
            else:
                name = request.query.get("learner") or request.cookies.get(COOKIE, "")
            return name if valid_learner(name) else None

        def full(self) -> bool:
            return self.active >= room.config.max_sessions

        async def handle_index(self, request: web.Request):  # type: ignore[override]
            learner = self.learner_of(request)
            if learner is None:
                if user_header:
                    return _page("Not signed in", f"The proxy sent no valid {user_header} header.", 403)
                from html import escape

                typed = request.query.get("learner")
                error = f"{typed!r} is not a learner name: {NAME_RULE}." if typed else ""
                return web.Response(
                    text=NAME_FORM.format(error=escape(error)),
                    content_type="text/html",
                    status=400 if typed else 200,
                )
            if self.full():
                return _page(
                    "The class is full",
                    f"Sorry {learner}, the class is full ("
                    f"{room.config.max_sessions} learners). Please try again in a few minutes.",
                    503,
                )
            response = await super().handle_index(request)
            if not user_header:
                response.set_cookie(COOKIE, learner, httponly=True, samesite="Strict", max_age=365 * 86400)
            return response

        async def handle_websocket(self, request: web.Request):  # type: ignore[override]
            learner = self.learner_of(request)
            if learner is None:
                return _page("Not signed in", "Open the start page first.", 403)
            if self.full():
                room.log(f"refused {learner} (web): the class is full")
                return _page("The class is full", "Please try again in a few minutes.", 503)
            websocket = web.WebSocketResponse(heartbeat=15)
            width, height, _, _ = _clamp(
                to_int(request.query.get("width", "80"), 80),
                to_int(request.query.get("height", "24"), 24),
                0,
                0,
            )
            env = room.child_env(learner, "xterm-256color", {})
            extra = {k: env[k] for k in (ENV_HOME, "PYTHONPATH", *ONE_THREAD)}
            self.active += 1
            started = time.monotonic()
            peer = request.remote or "?"
            room.log(
                f"connect {learner} (web) from {peer} ({self.active} of {room.config.max_sessions} sessions)"
            )
            service = None
            try:
                await websocket.prepare(request)
                service = LearnerAppService(
                    self.command,
                    write_bytes=websocket.send_bytes,
                    write_str=websocket.send_str,
                    close=websocket.close,
                    download_manager=self.download_manager,
                    debug=False,
                    extra_env=extra,
                )
                await service.start(width, height)
                await self._process_messages(websocket, service)
            except asyncio.CancelledError:
                await websocket.close()
            finally:
                if service is not None:
                    await service.stop()
                self.active -= 1
                room.log(f"disconnect {learner} (web) after {_span(time.monotonic() - started)}")
            return websocket

        async def on_startup(self, app: web.Application) -> None:
            room.log(
                f"serving genai-tutor on {self.public_url} (at most {room.config.max_sessions} "
                f"sessions; data in {room.data_dir})"
            )

    return LearnerServer()


def cmd_serve_web(args: argparse.Namespace) -> int:
    """`genai-tutor serve web ...`: runs until SIGTERM or Ctrl+C."""
    room = Classroom(ServeConfig(host=args.host, port=args.port, max_sessions=args.max_sessions))
    server = make_web_server(room, user_header=args.user_header, public_url=args.public_url)
    try:
        server.serve()
    except OSError as error:
        print(f"genai-tutor: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    return 0
