"""tidings' objects as JSON: the one set of shapes behind `tidings export`, the CLI's `--json` and the JSON API.

Links that came from feeds and pages (items, cited sources, evidence) go through the one URL policy, so a stored
link that is not an absolute http(s) URL comes out as "". Source URLs are kept as they are: the user named them,
and they may be local files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from tidings.model import CheckedClaim, Digest, Item, Revision, Source, Story
from tidings.store.store import revision_body
from tidings.urls import web_url


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def digest_json(d: Digest) -> dict[str, Any]:
    return {"slug": d.slug, "title": d.title, "description": d.description, "keywords": list(d.keywords)}


def source_json(s: Source) -> dict[str, Any]:
    return {"id": s.id, "url": s.url, "name": s.name, "digests": list(s.digests), "credibility": s.credibility,
            "status": s.status, "last_error": s.last_error, "items": s.item_count}


def claim_json(c: CheckedClaim) -> dict[str, Any]:
    return {"sentence": c.sentence, "model": c.model, "attribute": c.attribute, "value": c.value,
            "verdict": c.verdict, "setting": c.setting, "attributed_to": c.attributed_to,
            "evidence": _evidence([{"fact": e.fact, "source": e.source} for e in c.evidence])}


def item_json(i: Item, claims: Iterable[CheckedClaim] = ()) -> dict[str, Any]:
    return {"id": i.id, "url": web_url(i.url), "title": i.title, "text": i.text, "publisher": i.publisher,
            "publishers": list(i.publishers), "published": iso(i.published), "sources": list(i.source_ids),
            "claims": [claim_json(c) for c in claims]}


def revision_json(r: Revision) -> dict[str, Any]:
    """A revision whole: its article in sections, its sources, its fact check and what changed."""
    return {"number": r.number, "created": iso(r.created), "headline": r.headline, "changes": list(r.changes),
            "item_ids": list(r.item_ids), **_body(r)}


def revision_summary(r: Revision) -> dict[str, Any]:
    return {"number": r.number, "created": iso(r.created), "headline": r.headline, "changes": list(r.changes)}


def story_json(story: Story, revisions: Sequence[Revision], history: bool = True) -> dict[str, Any]:
    """A story with its current sources; with `history` every revision whole (the export), else the current
    revision whole and the others summed up (the API)."""
    latest = revisions[-1] if revisions else None
    out = {"id": story.id, "digest": story.digest, "title": story.title, "created": iso(story.created),
           "updated": iso(story.updated), "item_ids": list(story.item_ids),
           "sources": _body(latest)["sources"] if latest else []}
    if history:
        out["revisions"] = [revision_json(r) for r in revisions]
    else:
        out["revision"] = revision_json(latest) if latest else None
        out["revisions"] = [revision_summary(r) for r in revisions]
    return out


def story_summary(story: Story, latest: Revision | None = None) -> dict[str, Any]:
    """A story's line in a list: enough to show it and to fetch the rest."""
    return {"id": story.id, "digest": story.digest, "title": story.title,
            "headline": latest.headline if latest else story.title,
            "lede": latest.lede.text if latest and latest.lede else "",
            "created": iso(story.created), "updated": iso(story.updated), "items": len(story.item_ids),
            "revisions": story.revision_count,
            "contradicted": sum(f.verdict == "contradicted" for f in latest.fact_check) if latest else 0}


def _body(revision: Revision) -> dict[str, Any]:
    body = revision_body(revision)
    # Which writer wrote it; for a paraphrasing writer, beside each sentence the passages it was checked against.
    body["writer"] = revision.writer
    passages = dict(revision.passages)
    body.pop("passages", None)
    if passages:
        for section in body["sections"]:
            for sentence in section["sentences"]:
                sentence["checked_against"] = [{"n": n, "text": passages[n]} for n in sentence["cites"]
                                               if n in passages]
    for source in body["sources"]:
        source["url"] = web_url(source["url"])
    for check in body["fact_check"]:
        check["evidence"] = _evidence(check["evidence"])
    return body


def _evidence(evidence) -> list[dict]:
    return [{**e, "source": web_url(e.get("source"))} for e in evidence or ()]
