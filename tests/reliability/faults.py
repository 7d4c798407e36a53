"""Helpers that make a Store's SQLite connection fail the way a full disk does."""

from __future__ import annotations

import sqlite3


class FailingConnection:
    """Wraps a sqlite3.Connection; while `failing`, every write statement raises the error
    SQLite gives on a full disk (reads still work, as they do on a full disk)."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "COMMIT")

    def __init__(self, real: sqlite3.Connection, error: str = "database or disk is full") -> None:
        self.real = real
        self.error = error
        self.failing = False
        self.failures = 0

    def execute(self, sql: str, *args):
        if self.failing and sql.lstrip().upper().startswith(self.WRITES):
            self.failures += 1
            raise sqlite3.OperationalError(self.error)
        return self.real.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.real, name)


def make_failing(store, error: str = "database or disk is full") -> FailingConnection:
    """Swap `store`'s connection for a FailingConnection and return it."""
    wrapper = FailingConnection(store._db, error)
    store._db = wrapper
    return wrapper
