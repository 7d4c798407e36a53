"""The learner's interface settings (theme, ...): a small JSON file in the data folder.

Written atomically (temporary file, then rename) and private (0600); a missing or
unreadable file means defaults, never an error.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from content.paths import user_file

FILE = "settings.json"


def load() -> dict[str, Any]:
    try:
        data = json.loads(user_file(FILE, create=False).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save(**changes: Any) -> bool:
    """Merge ``changes`` into the file; returns False (and keeps going) if it can't."""
    data = {**load(), **changes}
    try:
        path = user_file(FILE)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        return False
    return True
