"""The write stage: a new revision for every story whose items changed, and none for the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tidings.config import Settings
from tidings.store import Store
from tidings.write.extractive import compose, same_article


@dataclass(frozen=True)
class WriteStats:
    revised: int = 0  # stories that got a new revision
    first: int = 0  # of which, first revisions


def revise(store: Store, settings: Settings, now: datetime,
           on_story: Callable[[], None] | None = None) -> WriteStats:
    revised = first = 0
    for story_id, items_hash in store.stories_to_revise():
        previous = store.latest_revision(story_id)
        items = store.story_items(story_id)
        revision = compose(story_id, items, previous, now, settings.max_sentences,
                           store.claims([i.id for i in items]))
        if previous is not None and same_article(previous, revision):
            # What it is written from changed (say, a verdict moved) but the article reads the same.
            store.set_items_hash(story_id, previous.number, items_hash)
            continue
        store.add_revision(revision, items_hash)
        revised += 1
        first += previous is None
        if on_story:
            on_story()
    return WriteStats(revised=revised, first=first)
