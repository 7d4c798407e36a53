"""The small settings table (migration 2): values survive a reopen,
and a database written before the table existed is upgraded in place."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from quizzes import store as store_module
from quizzes.store import SCHEMA_VERSION, Store

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def test_settings_round_trip(tmp_path):
    path = tmp_path / "progress.db"
    with Store.open(path) as store:
        assert store.setting("open_lab") is None and store.setting("open_lab", "x") == "x"
        store.set_setting("open_lab", "gan-2d")
        store.set_setting("open_lab", "vae")
    with Store.open(path) as store:
        assert store.setting("open_lab") == "vae"
        store.set_setting("open_lab", "")
        assert store.setting("open_lab") == ""


def test_a_version_1_database_gains_the_table_and_keeps_its_data(tmp_path, monkeypatch):
    path = tmp_path / "progress.db"
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 1)
    with Store.open(path) as old:
        old.open_lesson("L02", T0)
        assert old.schema_version == 1
    monkeypatch.undo()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 2
        assert store.lesson("L02") is not None
        store.set_setting("theme", "textual-light")
        assert store.setting("theme") == "textual-light"
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT value FROM setting WHERE key = 'theme'").fetchone() == ("textual-light",)


def test_last_opened_lesson(tmp_path):
    with Store.open(tmp_path / "progress.db") as store:
        assert store.last_opened_lesson() is None
        store.open_lesson("L01", T0)
        store.open_lesson("L04", T0 + timedelta(minutes=5))
        store.open_lesson("L01", T0 + timedelta(minutes=1))
        store.save_position("L04", 33)
        last = store.last_opened_lesson()
        assert last.lesson_id == "L04" and last.position == 33
