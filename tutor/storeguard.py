"""Keep the app running when the progress file fails mid-session.

A full disk, a lock held by another program or a file made read-only while the tutor is
open makes a `Store` call raise `StoreError`. An exception escaping a Textual handler
ends the app (and stops that widget's message loop), so every screen handler that
touches the store is wrapped with `guarded`: the error becomes a notice saying plainly
what was not saved, and the handler simply stops. The sessions change their own state
only after the store confirmed a write, so the learner can just try again.
"""

from __future__ import annotations

import functools
import inspect
import time

from content.safe import plain
from quizzes.store import StoreError, UndoRefused

# The same failure repeats on every idle tick of a lesson (it saves the reading position);
# one notice per message per this many seconds is enough.
REPEAT_AFTER = 30.0


def notify_store_error(app, error: StoreError) -> None:
    """One notice for a failed progress-file operation (repeats within 30 s are dropped)."""
    message = str(error)
    now = time.monotonic()
    last = getattr(app, "_store_error_shown", {})
    if now - last.get(message, -REPEAT_AFTER) < REPEAT_AFTER:
        return
    last[message] = now
    app._store_error_shown = last
    if isinstance(error, UndoRefused):
        app.notify(plain(f"Cannot undo: {message}."), title="Undo", severity="warning", timeout=10)
        return
    app.notify(
        plain(
            f"Not saved: {message}. Everything confirmed before is safe; "
            "free the disk or close the other program, then try again."
        ),
        title="Progress not saved",
        severity="error",
        timeout=20,
    )


def guarded(method):
    """Decorate a screen method (sync or async): a StoreError becomes a notice."""
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def run_async(self, *args, **kwargs):
            try:
                return await method(self, *args, **kwargs)
            except StoreError as error:
                notify_store_error(self.app, error)
                return None

        return run_async

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except StoreError as error:
            notify_store_error(self.app, error)
            return None

    return run
