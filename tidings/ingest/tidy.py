"""What a source's entries need before they are stored, whatever reader read them: the same entry listed twice,
GUIDs that several different entries share, and dates in the future. Each is fixed and said, never silently."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

from tidings.model import Entry

# Clocks and time zones differ: a date a few hours ahead is a publisher in another zone, not a wrong date.
FUTURE_SLACK = timedelta(days=1)


def tidy(entries: list[Entry], now: datetime) -> tuple[list[Entry], list[str]]:
    """The entries fit to store, and one note per kind of fix made."""
    notes = []
    entries, repeated = _without_repeats(entries)
    if repeated:
        notes.append(f"{repeated} repeated entr{'y' if repeated == 1 else 'ies'} dropped")
    entries, shared = _unshared_guids(entries)
    if shared:
        notes.append(f"{shared} different entries share GUIDs; they are told apart by their links and text")
    entries, future = _no_future_dates(entries, now)
    if future:
        notes.append(f"{future} entr{'y is' if future == 1 else 'ies are'} dated in the future; the time "
                     f"{'it was' if future == 1 else 'they were'} first seen is used")
    return entries, notes


def _identity(entry: Entry) -> tuple:
    return entry.guid or entry.url, entry.title, entry.text


def _without_repeats(entries: list[Entry]) -> tuple[list[Entry], int]:
    seen, kept = set(), []
    for entry in entries:
        key = _identity(entry)
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    return kept, len(entries) - len(kept)


def _unshared_guids(entries: list[Entry]) -> tuple[list[Entry], int]:
    """A GUID is an identity only if one entry has it: a feed that gives every entry the same GUID (a common
    template bug) would otherwise fold them all into one item, each overwriting the last."""
    counts = Counter(e.guid for e in entries if e.guid)
    shared = {guid for guid, n in counts.items() if n > 1}
    if not shared:
        return entries, 0
    return [replace(e, guid=None) if e.guid in shared else e for e in entries], sum(counts[g] for g in shared)


def _no_future_dates(entries: list[Entry], now: datetime) -> tuple[list[Entry], int]:
    fixed, count = [], 0
    for e in entries:
        if e.published is not None and e.published > now + FUTURE_SLACK:
            count += 1
            note = f"dated {e.published:%Y-%m-%d}, in the future; the time it was first seen is used"
            e = replace(e, published=None, error="; ".join(filter(None, (e.error, note))))
        fixed.append(e)
    return fixed, count
