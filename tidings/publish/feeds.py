"""Feeds out: one Atom feed per digest, one entry per story, updated with each revision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape

from feedgen.feed import FeedGenerator

from tidings.model import Digest, Revision, Story


def digest_atom(digest: Digest, entries: Sequence[tuple[Story, Revision]], site_url: str) -> bytes:
    base = site_url.rstrip("/") + "/"
    fg = FeedGenerator()
    fg.id(f"{base}{digest.slug}/")
    fg.title(digest.title)
    fg.subtitle(digest.description or digest.title)
    fg.link(href=f"{base}{digest.slug}/index.html", rel="alternate")
    fg.link(href=f"{base}{digest.slug}/feed.atom", rel="self")
    fg.generator("tidings")
    fg.language("en")
    newest = max((r.created for _, r in entries), default=datetime(1970, 1, 1, tzinfo=UTC))
    fg.updated(newest)
    # feedgen prepends entries; add oldest first so the newest revision ends up on top.
    for story, revision in sorted(entries, key=lambda e: e[1].created):
        url = f"{base}{digest.slug}/stories/{story.id}.html"
        fe = fg.add_entry()
        fe.id(url)
        fe.title(revision.headline)
        fe.link(href=url, rel="alternate")
        fe.published(story.created)
        fe.updated(revision.created)
        fe.author(name="tidings")
        fe.summary(revision.lede.text if revision.lede else revision.headline)
        fe.content(_entry_html(revision), type="html")
    return fg.atom_str(pretty=True)


def _entry_html(revision: Revision) -> str:
    parts = []
    for section in revision.sections:
        parts.append(f"<h3>{escape(section.heading)}</h3><p>")
        parts.append(" ".join(f"{escape(s.text)} " + "".join(f"[{n}]" for n in s.cites) for s in section.sentences))
        parts.append("</p>")
    parts.append(f"<h3>Sources ({len(revision.sources)})</h3><ol>")
    for c in revision.sources:
        parts.append(f'<li>{escape(c.publisher)} — <a href="{escape(c.url)}">{escape(c.title)}</a></li>')
    parts.append("</ol>")
    return "".join(parts)
