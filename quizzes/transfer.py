"""Cards and progress in and out: Anki and CSV export of the flashcards, a complete
versioned backup of progress, and import of the learner's own cards ("My cards").

Anki export follows Anki's plain-text notes format (Anki 2.1.55+): header lines starting
with `#` say the separator, that fields hold HTML, the note type, the deck and which column
holds the tags; then one note per line, fields separated by tabs. Tags are the lesson id
and the card's concepts, so a learner can filter by either in Anki's browser.

Own cards come from a TSV file: `front<TAB>back[<TAB>tags]` per line; blank lines and
lines starting with `#` are skipped. A bad line is reported as `file:line: reason` and the
rest still import. A card's id comes from its front, so importing the same file twice
updates the cards instead of doubling them.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path

from content.schema import Card
from quizzes.store import BackupError, OwnCard, Store

__all__ = [
    "CardImport",
    "export_anki",
    "export_csv",
    "export_progress",
    "import_own_cards",
    "import_progress",
    "read_own_cards",
]

ANKI_HEADER = ("#separator:tab", "#html:true", "#notetype:Basic", "#deck:genai-tutor", "#tags column:3")


def _anki_field(text: str) -> str:
    """A field as Anki reads it with html:true: escaped, line breaks as <br>, no tabs."""
    return html.escape(text, quote=False).replace("\t", " ").replace("\r\n", "\n").replace("\n", "<br>")


def _tags(card: Card) -> list[str]:
    return [card.lesson_id.replace(" ", "_"), *card.concepts]


def export_anki(cards: list[Card], path: Path) -> int:
    """Write `cards` as Anki plain-text notes (one note per card); returns the count."""
    lines = list(ANKI_HEADER)
    for card in cards:
        lines.append("\t".join([_anki_field(card.front), _anki_field(card.back), " ".join(_tags(card))]))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(cards)


def export_csv(cards: list[Card], path: Path) -> int:
    """Write `cards` as CSV with a header row: id, lesson, front, back, tags."""
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "lesson", "front", "back", "tags"])
        for card in cards:
            writer.writerow([card.id, card.lesson_id, card.front, card.back, " ".join(_tags(card))])
    return len(cards)


def export_progress(store: Store, path: Path) -> dict[str, int]:
    """Write a complete backup of the learner's progress as JSON; returns rows per table."""
    data = store.export_backup()
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return {table: len(block["rows"]) for table, block in data["tables"].items()}


def import_progress(store: Store, path: Path) -> dict[str, int]:
    """Replace the store's progress with the backup at `path` (all or nothing).
    Raises BackupError with a plain reason when the file cannot be restored."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise BackupError(f"cannot read {path}: {error}") from error
    except json.JSONDecodeError as error:
        raise BackupError(f"{path} is not a backup (not JSON: line {error.lineno})") from error
    return store.import_backup(data)


@dataclass(frozen=True)
class CardImport:
    cards: list[OwnCard]
    errors: list[str]


def _own_id(front: str) -> str:
    return "MY-" + hashlib.sha1(front.strip().casefold().encode("utf-8")).hexdigest()[:12]


def read_own_cards(path: Path) -> CardImport:
    """Parse a TSV of own cards; every bad line becomes `file:line: reason`."""
    cards: list[OwnCard] = []
    errors: list[str] = []
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        return CardImport([], [f"{path}:0: cannot read the file ({error})"])
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            errors.append(f"{path}:{number}: needs a front and a back separated by a tab")
            continue
        if len(fields) > 3:
            errors.append(
                f"{path}:{number}: has {len(fields)} fields; use front, back and "
                "optional tags (separated by tabs)"
            )
            continue
        front, back = fields[0].strip(), fields[1].strip()
        if not front or not back:
            errors.append(f"{path}:{number}: the {'front' if not front else 'back'} is empty")
            continue
        tags = tuple(fields[2].split()) if len(fields) == 3 else ()
        cards.append(OwnCard(_own_id(front), front, back, tags))
    return CardImport(cards, errors)


def import_own_cards(store: Store, path: Path) -> tuple[int, int, list[str]]:
    """Add the good lines of a TSV as "My cards"; returns (new, updated, errors)."""
    parsed = read_own_cards(path)
    unique = {card.id: card for card in parsed.cards}
    added = store.add_own_cards(list(unique.values())) if unique else 0
    return added, len(unique) - added, parsed.errors
