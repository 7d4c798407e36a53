"""python -m tutor.labs.warm LAB_ID [--nice N]: compile one lab's kernels into numba's
on-disk cache, then exit.

The app's reading-time warm-up (``tutor.labs.Warmer``) runs this in a child process at
low priority while the learner reads, so the compile never shares the app's GIL. One
line per warm-up on stdout, ``progress DONE TOTAL NAME``; on failure ``error MESSAGE``
and exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.labs.warm", description=__doc__.splitlines()[0])
    parser.add_argument("lab_id")
    parser.add_argument("--nice", type=int, default=0, help="lower this process's priority by N")
    args = parser.parse_args(argv)
    if args.nice > 0:
        with contextlib.suppress(AttributeError, OSError):
            os.nice(args.nice)
    from tutor import labs

    def progress(done: int, total: int, name: str) -> None:
        print(f"progress {done} {total} {name}", flush=True)

    try:
        if args.lab_id not in labs.LABS:
            raise ValueError(f"unknown lab {args.lab_id!r}")
        labs._warm_lab(args.lab_id, progress=progress)
    except Exception as exc:  # one line for the app, never a traceback
        print(f"error {type(exc).__name__}: {exc}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
