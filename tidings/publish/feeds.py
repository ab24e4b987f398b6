"""Feeds out: per digest an Atom, an RSS 2.0 and a JSON Feed 1.1 feed, one entry per story revision, its summary
saying what changed.

An entry's HTML is rendered by the site's own Jinja environment (autoescaped, links through the one URL policy)
and then sanitised by nh3, so text that came from a feed can only ever reach a reader as text and web links.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import nh3
from jinja2 import Environment

from tidings.model import Digest, Revision, Story

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

# Characters XML 1.0 cannot carry at all (C0 controls other than tab, newline and return; surrogates; U+FFFE/F),
# plus DEL and the C1 controls, which it can carry but which are never text a reader should get.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

URL_SCHEMES = {"http", "https"}


def one_line(value: str | None) -> str:
    """`xml_text` of a value with its whitespace squashed: a title, a summary, a header."""
    return " ".join(xml_text(value).split())


def xml_text(value: str | None) -> str:
    """`value` with every character XML cannot (or should not) carry replaced by a space."""
    return NOT_XML.sub(" ", value) if value else ""


@dataclass(frozen=True)
class FeedEntry:
    """One story's entry, already rendered and cleaned, so building the feed from it cannot fail on its text."""

    story_id: int
    title: str
    summary: str
    content: str
    published: datetime
    updated: datetime
    revision: int = 1  # each revision is an entry of its own, at the address of its page


def feed_entry(env: Environment, story: Story, revision: Revision, headline: str) -> FeedEntry:
    html = env.get_template("_atom_entry.html").render(revision=revision)
    content = xml_text(nh3.clean(html, url_schemes=URL_SCHEMES, link_rel="nofollow noopener noreferrer"))
    title = one_line(headline) or f"Story {story.id}"
    # A feed reader already has the story: what it wants to know is what changed in this revision.
    changed = " ".join(revision.changes) if revision.number > 1 else ""
    summary = one_line(changed or (revision.lede.text if revision.lede else "")) or title
    return FeedEntry(story_id=story.id, title=title, summary=summary, content=content, published=story.created,
                     updated=revision.created, revision=revision.number)


def digest_atom(digest: Digest, entries: Sequence[FeedEntry], site_url: str) -> bytes:
    return _generator(digest, entries, site_url, "feed.atom").atom_str(pretty=True)


def digest_rss(digest: Digest, entries: Sequence[FeedEntry], site_url: str) -> bytes:
    """The same feed as RSS 2.0: an item per story, its description saying what changed."""
    return _generator(digest, entries, site_url, "feed.rss").rss_str(pretty=True)


def digest_json_feed(digest: Digest, entries: Sequence[FeedEntry], site_url: str) -> bytes:
    """The same feed as JSON Feed 1.1."""
    base = site_url.rstrip("/") + "/"
    title = one_line(digest.title) or digest.slug
    items = [{"id": f"{base}{digest.slug}/stories/{e.story_id}/r{e.revision}.html",
              "url": f"{base}{digest.slug}/stories/{e.story_id}.html", "title": e.title, "summary": e.summary,
              "content_html": e.content, "date_published": e.published.isoformat(),
              "date_modified": e.updated.isoformat(), "authors": [{"name": "tidings"}]}
             for e in sorted(entries, key=lambda e: e.updated, reverse=True)]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": title,
            "home_page_url": f"{base}{digest.slug}/index.html", "feed_url": f"{base}{digest.slug}/feed.json",
            "description": one_line(digest.description) or title, "language": "en",
            "authors": [{"name": "tidings"}], "items": items}
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def _generator(digest: Digest, entries: Sequence[FeedEntry], site_url: str, name: str) -> FeedGenerator:
    # Imported here, where a feed is written: a run whose feeds stay as they were, and the story pages a publish
    # writes before its feeds, never wait for feedgen (and dateutil).
    from feedgen.feed import FeedGenerator

    base = site_url.rstrip("/") + "/"
    title = one_line(digest.title) or digest.slug
    fg = FeedGenerator()
    fg.id(f"{base}{digest.slug}/")
    fg.title(title)
    fg.subtitle(one_line(digest.description) or title)
    fg.description(one_line(digest.description) or title)
    fg.link(href=f"{base}{digest.slug}/index.html", rel="alternate")
    fg.link(href=f"{base}{digest.slug}/{name}", rel="self")
    fg.generator("tidings")
    fg.language("en")
    newest = max((e.updated for e in entries), default=datetime(1970, 1, 1, tzinfo=UTC))
    fg.updated(newest)
    fg.lastBuildDate(newest)
    # feedgen prepends entries; add oldest first so the newest revision ends up on top.
    for entry in sorted(entries, key=lambda e: e.updated):
        url = f"{base}{digest.slug}/stories/{entry.story_id}.html"
        fe = fg.add_entry()
        # An update is news of its own: its id is its revision's page, so readers show it as a new entry.
        fe.guid(f"{base}{digest.slug}/stories/{entry.story_id}/r{entry.revision}.html", permalink=True)
        fe.title(entry.title)
        fe.link(href=url, rel="alternate")
        fe.published(entry.published)
        fe.updated(entry.updated)
        fe.author(name="tidings")
        fe.summary(entry.summary)
        fe.content(entry.content, type="html")
    return fg
