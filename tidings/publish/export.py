"""`tidings export --format json`: the whole state in one documented shape (see `publish.serialize`)."""

from __future__ import annotations

from typing import Any

from tidings.publish.serialize import digest_json, item_json, source_json, story_json
from tidings.store import Store


def export_state(store: Store) -> dict[str, Any]:
    claims: dict[int, list] = {}
    for c in store.claims():
        claims.setdefault(c.item_id, []).append(c)
    return {
        "digests": [digest_json(d) for d in store.digests()],
        "sources": [source_json(s) for s in store.sources()],
        "items": [item_json(i, claims.get(i.id, ())) for i in store.items()],
        "stories": [story_json(story, store.revisions(story.id)) for story in store.stories()],
    }
