"""Text from content, weights or files, made safe to show in the terminal."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: str) -> str:
    """Control characters (ESC, C1, DEL, ...) shown as visible escapes, never emitted raw."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
