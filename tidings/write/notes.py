"""What the extractive writer finds in an item's sentences that depends on the item alone: which sentences can
stand in an article, what those with a figure state, and which look ahead (to what day). Kept in the store beside
the item, so the next revision of its story reads them instead of working them out again: a story that takes one
new item has every other item's sentences analysed already, and that analysis is most of what writing costs.

Notes are made by `tidings.write.extractive.take_notes`. Stored notes carry the item's content hash and a
fingerprint of the code that made them (`version()`): notes of an item whose text changed since, or made by another
version of that code, are not used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from tidings.write.facts import Fact

__all__ = ["ItemNotes", "decode", "encode", "version"]

# The modules whose code decides what a note says: how a text is cut into sentences, which can stand alone, what a
# sentence states, which looks ahead and to what day.
_MADE_BY = ("text.py", "dates.py", "write/standalone.py", "write/facts.py", "write/extractive.py", "write/notes.py")


HASH_PREFIX = 16  # hex digits of the item's content hash kept with its notes: enough to tell its texts apart


@dataclass(frozen=True, slots=True)
class ItemNotes:
    """By position among the item's sentences (`tidings.text.sentences` of its text)."""

    usable: frozenset[int]  # sentences that can stand in an article on their own
    facts: Mapping[int, Fact]  # what the usable sentences with a figure state (the others' facts cost little)
    ahead: Mapping[int, tuple[date, str] | None]  # usable sentences that look ahead: the day they name, if any


@cache
def version() -> str:
    """A fingerprint of the code that makes notes."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for name in _MADE_BY:
        try:
            digest.update((root / name).read_bytes())
        except OSError:  # installed without its sources: the package's version stands for them
            from tidings import __version__

            digest.update(__version__.encode())
    return digest.hexdigest()[:16]


def encode(notes: ItemNotes, content_hash: str) -> str:
    facts = {str(k): [sorted(map(list, f.figures)), sorted(f.entities), sorted(f.words), f.setting,
                      sorted(map(list, f.claims)), sorted(f.measures), sorted(f.qualifiers), sorted(f.when)]
             for k, f in sorted(notes.facts.items())}
    ahead = {str(k): [when[0].isoformat(), when[1]] if when else None for k, when in sorted(notes.ahead.items())}
    data = {"v": version(), "h": content_hash[:HASH_PREFIX], "u": sorted(notes.usable), "f": facts, "a": ahead}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def decode(value: str | None, content_hash: str) -> ItemNotes | None:
    """Stored notes, or None when there are none or they no longer hold (see the module's note)."""
    if not value:
        return None
    try:
        data = json.loads(value)
        if data.get("v") != version() or data.get("h") != content_hash[:HASH_PREFIX]:
            return None
        facts = {int(k): Fact(figures=frozenset(map(tuple, f[0])), entities=frozenset(f[1]), words=frozenset(f[2]),
                              setting=f[3], claims=frozenset(map(tuple, f[4])), measures=frozenset(f[5]),
                              qualifiers=frozenset(f[6]), when=frozenset(f[7]))
                 for k, f in data["f"].items()}
        ahead = {int(k): (date.fromisoformat(w[0]), w[1]) if w else None for k, w in data["a"].items()}
        return ItemNotes(frozenset(data["u"]), facts, ahead)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None  # not notes this code made: worked out again
