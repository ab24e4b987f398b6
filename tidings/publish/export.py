"""`tidings export --format json`: the whole state in one documented shape.

Links that came from feeds and pages (items, cited sources, evidence) go through the one URL policy, so a stored
link that is not an absolute http(s) URL exports as "". Source URLs are kept as they are: the user named them,
and they may be local files.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tidings.model import Revision
from tidings.store import Store
from tidings.store.store import revision_body
from tidings.urls import web_url


def export_state(store: Store) -> dict[str, Any]:
    items = store.items()
    claims: dict[int, list[dict]] = {}
    for c in store.claims():
        claims.setdefault(c.item_id, []).append({
            "sentence": c.sentence, "model": c.model, "attribute": c.attribute, "value": c.value,
            "verdict": c.verdict, "setting": c.setting, "attributed_to": c.attributed_to,
            "evidence": _evidence([{"fact": e.fact, "source": e.source} for e in c.evidence])})
    stories = []
    for story in store.stories():
        revisions = store.revisions(story.id)
        latest = revisions[-1] if revisions else None
        stories.append({
            "id": story.id, "digest": story.digest, "title": story.title, "created": _iso(story.created),
            "updated": _iso(story.updated), "item_ids": list(story.item_ids),
            "sources": _body(latest)["sources"] if latest else [],
            "revisions": [{"number": r.number, "created": _iso(r.created), "headline": r.headline,
                           "changes": list(r.changes), "item_ids": list(r.item_ids), **_body(r)}
                          for r in revisions],
        })
    return {
        "digests": [{"slug": d.slug, "title": d.title, "description": d.description, "keywords": list(d.keywords)}
                    for d in store.digests()],
        "sources": [{"id": s.id, "url": s.url, "name": s.name, "digests": list(s.digests),
                     "credibility": s.credibility, "status": s.status, "last_error": s.last_error,
                     "items": s.item_count} for s in store.sources()],
        "items": [{"id": i.id, "url": web_url(i.url), "title": i.title, "text": i.text, "publisher": i.publisher,
                   "publishers": list(i.publishers), "published": _iso(i.published), "sources": list(i.source_ids),
                   "claims": claims.get(i.id, [])}
                  for i in items],
        "stories": stories,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _body(revision: Revision) -> dict:
    body = revision_body(revision)
    for source in body["sources"]:
        source["url"] = web_url(source["url"])
    for check in body["fact_check"]:
        check["evidence"] = _evidence(check["evidence"])
    return body


def _evidence(evidence) -> list[dict]:
    return [{**e, "source": web_url(e.get("source"))} for e in evidence or ()]
