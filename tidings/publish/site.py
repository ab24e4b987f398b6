"""The static site: an index of digests, a page per digest, per story and per revision, an Atom feed per digest.

Pages are rendered by Jinja2 with autoescaping on; item text is plain text by the time it gets here, and links
are limited to http(s) so nothing from a feed can run in a reader's browser.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from tidings.publish.feeds import digest_atom
from tidings.store import Store


@dataclass(frozen=True)
class SiteStats:
    path: Path
    digests: int
    stories: int
    revisions: int


def environment() -> Environment:
    env = Environment(loader=PackageLoader("tidings", "templates"),
                      autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True))
    env.filters["day"] = format_day
    env.filters["safe_url"] = safe_url
    env.filters["claim"] = claim_words
    return env


def claim_words(claim) -> str:
    """A structured claim as words: "gpt-oss-120b is closed", "Nemotron 3 Super scores 60.47 on swe-bench-verified"."""
    model, attribute, value = claim["model"], claim["attribute"], claim["value"]
    if attribute.startswith("score:"):
        return f"{model} scores {value} on {attribute.split(':', 1)[1]}"
    try:
        number = f"{float(value):g}"
    except (TypeError, ValueError):
        number = str(value)
    phrases = {"openness": f"{model} is {value}", "developer": f"{model} is developed by {value}",
               "licence": f"{model} is licensed {value}",
               "params_total_b": f"{model} has {number}B parameters in total",
               "params_active_b": f"{model} has {number}B active parameters",
               "released": f"{model} was released in {value}",
               "context_tokens": f"{model} has a context of {number} tokens"}
    return phrases.get(attribute, f"{model} {attribute} {value}")


def format_day(value: datetime) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def safe_url(url: str) -> str:
    """The URL if it is a web or local-file link, else '#': a feed cannot put `javascript:` into a page."""
    return url if urlsplit(url).scheme.lower() in ("http", "https", "file") else "#"


def publish_site(store: Store, out_dir: str | Path, site_url: str = "http://localhost:8000/") -> SiteStats:
    """Render the whole site into `out_dir`. The site is built beside it and swapped in at the end, so readers
    never see half a site."""
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=".site-", dir=out.parent))
    try:
        stats = _render(store, build, site_url)
        if out.exists():
            old = out.with_name(out.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(build, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(build, out)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return SiteStats(out, stats[0], stats[1], stats[2])


def _render(store: Store, root: Path, site_url: str) -> tuple[int, int, int]:
    env = environment()
    digests = store.digests()
    by_digest = {d.slug: store.stories(d.slug) for d in digests}
    redirects = store.redirects()
    (root / "style.css").write_text(resources.files("tidings").joinpath("templates/style.css").read_text("utf-8"),
                                    encoding="utf-8")
    _write(root / "index.html", env.get_template("index.html").render(
        root="", site_title="tidings", digests=digests, counts={k: len(v) for k, v in by_digest.items()}))
    n_stories = n_revisions = 0
    for digest in digests:
        folder = root / digest.slug
        listed, feed_entries = [], []
        for story in by_digest[digest.slug]:
            revisions = store.revisions(story.id)
            if not revisions:
                continue
            latest = revisions[-1]
            listed.append({"story": story, "lede": latest.lede})
            feed_entries.append((story, latest))
            _write(folder / "stories" / f"{story.id}.html", env.get_template("story.html").render(
                root="../../", digest=digest, story=story, revision=latest, revisions=revisions))
            for rev in revisions:
                _write(folder / "stories" / str(story.id) / f"r{rev.number}.html",
                       env.get_template("revision.html").render(
                           root="../../../", digest=digest, story=story, revision=rev,
                           latest_number=latest.number))
            n_stories += 1
            n_revisions += len(revisions)
        _write(folder / "index.html", env.get_template("digest.html").render(
            root="../", digest=digest, stories=listed))
        # A story merged into another keeps its address: its page sends readers on to where it lives now.
        titles = {s.id: s.title for s in by_digest[digest.slug]}
        for gone, target in redirects.items():
            if target in titles:
                _write(folder / "stories" / f"{gone}.html", env.get_template("redirect.html").render(
                    target=f"{target}.html", title=titles[target]))
        (folder / "feed.atom").write_bytes(digest_atom(digest, feed_entries, site_url))
        _write(folder / "misinformation.html", env.get_template("misinformation.html").render(
            root="../", digest=digest, claims=misinformation(store, by_digest[digest.slug])))
    return len(digests), n_stories, n_revisions


def misinformation(store: Store, stories) -> list[dict]:
    """Contradicted and disputed claims in the sources of these stories, newest first, with their items."""
    story_of = {item_id: s.id for s in stories for item_id in s.item_ids}
    items = {i.id: i for i in store.items(story_of)}
    out = []
    for c in store.claims(story_of, verdicts=("contradicted", "disputed")):
        item = items[c["item_id"]]
        out.append({**c, "publisher": item.publisher, "title": item.title, "url": item.url,
                    "published": item.published, "story": story_of.get(item.id)})
    return sorted(out, key=lambda c: c["published"], reverse=True)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
