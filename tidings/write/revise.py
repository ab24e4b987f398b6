"""The write stage: a new revision for every story whose items or verdicts changed, and none for the others.

Whichever writer the config names writes it; every revision then passes the same grounding check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from tidings.config import Settings
from tidings.store import Store
from tidings.write import Brief, get_writer
from tidings.write.grounding import grounded
from tidings.write.revision import same_article

log = logging.getLogger("tidings")


@dataclass(frozen=True)
class WriteStats:
    revised: int = 0  # stories that got a new revision
    first: int = 0  # of which, first revisions
    dropped: int = 0  # sentences a writer wrote that its sources do not contain


def revise(store: Store, settings: Settings, now: datetime, on_story: Callable[[], None] | None = None,
           names: Mapping[str, str] | None = None) -> WriteStats:
    writer = get_writer(settings.writer)
    revised = first = dropped = 0
    for story_id, items_hash in store.stories_to_revise():
        previous = store.latest_revision(story_id)
        items = store.story_items(story_id)
        brief = Brief(story_id, items, previous, store.claims([i.id for i in items]), now, settings.max_sentences,
                      names or {})
        revision, bad = grounded(writer.write(brief), items)
        for text in bad:
            log.warning(f"story {story_id}: the {writer.name} writer's sentence is not in its sources, "
                        f"so it was dropped: {text}")
        dropped += len(bad)
        if previous is not None and same_article(previous, revision):
            # What it is written from changed (say, a verdict moved) but the article reads the same.
            store.set_items_hash(story_id, previous.number, items_hash)
        else:
            store.add_revision(revision, items_hash)
            revised += 1
            first += previous is None
        if on_story:
            on_story()
    return WriteStats(revised=revised, first=first, dropped=dropped)
