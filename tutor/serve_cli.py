"""The `genai-tutor serve` subcommand's arguments, checked at parse time.

Kept apart from ``tutor.serve`` so that building the parser (and ``--help``) imports
neither asyncssh nor textual-serve.
"""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 2

SERVE_MISSING = "serving needs asyncssh and textual-serve: pip install 'genai-tutor[serve]'"


def _keys_file(text: str):
    try:
        from tutor.serve import authorized_keys_file
    except ModuleNotFoundError:
        raise argparse.ArgumentTypeError(SERVE_MISSING) from None
    return authorized_keys_file(text)


def _host(text: str) -> str:
    if not text.strip() or any(ch.isspace() for ch in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a host name or address")
    return text.strip()


def _header(text: str) -> str:
    if not text or not all(ch.isalnum() or ch == "-" for ch in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a header name (letters, digits and '-')")
    return text


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")) or any(ch.isspace() for ch in text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// address")
    return text.rstrip("/")


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from tutor import serve

        return serve.cmd_serve(args) if args.kind == "ssh" else serve.cmd_serve_web(args)
    except ModuleNotFoundError as error:
        if error.name not in ("asyncssh", "textual_serve", "aiohttp"):
            raise
        print(f"genai-tutor: error: {SERVE_MISSING}", file=sys.stderr)
        return EXIT_USAGE


def add_serve_command(sub, parser_class: type[argparse.ArgumentParser]) -> None:
    """`serve ssh` and `serve web`: a classroom on one host (tutor/serve.py)."""
    from tutor.headless.args import int_range

    serve = sub.add_parser("serve", help="serve the tutor to a class: 'serve ssh --port 2222'")
    kinds = serve.add_subparsers(dest="kind", metavar="KIND", required=True, parser_class=parser_class)
    p = kinds.add_parser("ssh", help="an SSH server: each learner runs their own tutor")
    p.add_argument(
        "--host",
        type=_host,
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    p.add_argument("--port", type=int_range(1, 65535, "a port"), default=2222)
    p.add_argument(
        "--authorized-keys",
        type=_keys_file,
        default=None,
        metavar="FILE",
        help="only these keys get in; one 'LEARNER KEYTYPE BASE64 [comment]' per line",
    )
    p.add_argument(
        "--max-sessions",
        type=int_range(1, 1000, "a number of sessions"),
        default=30,
        help="learners at once (default 30); the next one hears that the class is full",
    )
    p.add_argument(
        "--idle-timeout",
        type=int_range(10, 86400, "a number of seconds"),
        default=1800,
        metavar="S",
        help="close a session after S seconds without a key press (default 1800)",
    )
    p.set_defaults(handler=cmd_serve)
    p = kinds.add_parser("web", help="a web server (textual-serve): each browser tab runs its own tutor")
    p.add_argument("--host", type=_host, default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int_range(1, 65535, "a port"), default=8000)
    p.add_argument(
        "--max-sessions",
        type=int_range(1, 1000, "a number of sessions"),
        default=30,
        help="tabs at once (default 30); the next one hears that the class is full",
    )
    p.add_argument(
        "--user-header",
        type=_header,
        default=None,
        metavar="NAME",
        help="take the learner from this header set by an authenticating reverse proxy "
        "(e.g. X-Forwarded-User) instead of asking for a name",
    )
    p.add_argument(
        "--public-url",
        type=_url,
        default=None,
        metavar="URL",
        help="the address browsers use, when behind a reverse proxy (e.g. https://tutor.example.org)",
    )
    p.set_defaults(handler=cmd_serve)
