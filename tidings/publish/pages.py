"""The site's pages, made from the store's objects: one rendering path for the static site (`publish.site`) and
the server (`web.app`), so a page is the same HTML wherever it is read.

Every page links relatively, in the static site's layout (`{digest}/index.html`, `{digest}/stories/{id}.html`,
`{digest}/stories/{id}/r{n}.html`), so the same HTML works from a folder, a static host and the server.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from jinja2 import Environment

from tidings.model import Digest, Revision, Source, Story
from tidings.publish.feeds import xml_text

_LEDE_WORDS = 12
TOP_STORIES = 5  # per digest on the home page
# Stories on a digest's page; all of them are on its archive, a page per week in which stories began, which a
# run re-renders only for the weeks of the stories it changed (a digest's page grows no longer with the store).
DIGEST_TOP = 100
# Flagged sentences on a digest's misinformation watch, the newest; all of them are on a page per month, which a
# run re-renders only for the months whose claims changed.
WATCH_LATEST = 100


def format_day(value: datetime) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def headline(revision: Revision, story_id: int) -> str:
    """The revision's headline; for one stored without a usable headline, its lede's first words or "Story N"."""
    words = xml_text(revision.headline).split()
    if words:
        return " ".join(words)
    lede = xml_text(revision.lede.text).split() if revision.lede else []
    if lede:
        return " ".join(lede[:_LEDE_WORDS]) + ("…" if len(lede) > _LEDE_WORDS else "")
    return f"Story {story_id}"


def story_page(env: Environment, digest: Digest, story: Story, revisions: Sequence[Revision]) -> str:
    latest = revisions[-1]
    return env.get_template("story.html").render(root="../../", digest=digest, story=story, revision=latest,
                                                 revisions=revisions, headline=headline(latest, story.id))


def revision_page(env: Environment, digest: Digest, story: Story, revisions: Sequence[Revision], k: int) -> str:
    """The page of `revisions[k]`. It links to the revision before it and to the story, never to later ones: once
    written, a revision's page never changes, so it is rendered once and can be cached for good."""
    numbers = [r.number for r in revisions]
    rev = revisions[k]
    return env.get_template("revision.html").render(
        root="../../../", digest=digest, story=story, revision=rev, headline=headline(rev, story.id),
        mark_changes=k > 0, previous_number=numbers[k - 1] if k else None)


def listing(digest: Digest, story: Story, latest: Revision, coverage_of: Iterable[tuple[str, float | None]]
            ) -> dict:
    """A story's line in its digest's list, in plain values (the static site keeps it in the store).
    `coverage_of` gives (publisher, credibility) for each of its items."""
    carried = list(coverage_of)
    return {"id": story.id, "digest": digest.slug, "headline": headline(latest, story.id),
            "updated": format_day(story.updated), "began": began(story, latest).isoformat(),
            "sources": len(story.item_ids), "revisions": story.revision_count,
            "lede": latest.lede.text if latest.lede else "", "publishers": len({p for p, _ in carried}),
            "contradicted": sum(f.verdict == "contradicted" for f in latest.fact_check),
            "weight": coverage(carried), "updated_at": story.updated.isoformat(),
            "revised_at": latest.created.isoformat()}


def began(story: Story, latest: Revision) -> date:
    """The day a story began: its earliest source's (when tidings first read it, for a story of a backlog, is
    later)."""
    return min((s.published for s in latest.sources), default=story.created).date()


def coverage(carried: Iterable[tuple[str, float | None]]) -> float:
    """How widely, how much and how credibly a story is covered: each distinct publisher counts its credibility,
    more for each further article it ran (with diminishing returns: breadth beats volume)."""
    publishers: dict[str, list[float]] = {}
    for publisher, credibility in carried:
        publishers.setdefault(publisher, []).append(credibility if credibility is not None else 0.6)
    return sum(max(creds) * (1 + math.log(len(creds))) for creds in publishers.values())


def rank(listed: list[dict]) -> list[dict]:
    """Stories by importance: coverage (distinct publishers, their credibility), less for each day a story is
    older than the digest's newest (a day costs about as much as one credible publisher)."""
    listed = [{**s, "updated_at": _when(s["updated_at"])} for s in listed]
    newest = max((s["updated_at"] for s in listed), default=None)

    def importance(s: dict) -> float:
        age = (newest - s["updated_at"]).total_seconds() / 86400
        return s["weight"] - 0.8 * age

    return sorted(listed, key=lambda s: (-importance(s), s["id"]))


def _when(value: str | datetime) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def digest_page(env: Environment, digest: Digest, ranked: list[dict], weeks: dict[str, list[dict]]) -> str:
    """A digest's list of stories, `ranked` (see `rank`): the first DIGEST_TOP of them, and a link to each week of
    its archive (`weeks`, see `archive_weeks`)."""
    shown = ranked[:DIGEST_TOP]
    archive = [(week, week_label(week), len(lines)) for week, lines in weeks.items()]
    return env.get_template("digest.html").render(root="../", digest=digest, stories=shown,
                                                  more=len(ranked) - len(shown), archive=archive)


def archive_weeks(listed: Iterable[dict]) -> dict[str, list[dict]]:
    """A digest's stories by the ISO week in which each began ("2026-W11"), newest week first, and in each week
    the newest first."""
    weeks: dict[str, list[dict]] = {}
    def day(line: dict) -> str:  # a line kept by an earlier version of tidings may not have it
        return line.get("began") or str(line["updated_at"])[:10]

    for line in sorted(listed, key=lambda s: (day(s), s["id"]), reverse=True):
        year, week, _ = date.fromisoformat(day(line)).isocalendar()
        weeks.setdefault(f"{year}-W{week:02d}", []).append(line)
    return weeks


def week_label(week: str) -> str:
    """The day a week ("2026-W11") begins: "Mar 9, 2026"."""
    year, number = week.split("-W")
    return format_day(date.fromisocalendar(int(year), int(number), 1))


def archive_page(env: Environment, digest: Digest, week: str, lines: list[dict]) -> str:
    """The stories of a digest that began in one week."""
    return env.get_template("archive.html").render(root="../../", digest=digest, label=week_label(week), stories=lines)


def home_page(env: Environment, digests: Sequence[Digest], ranked: dict[str, list[dict]]) -> str:
    """Every digest with its biggest stories."""
    return env.get_template("index.html").render(
        root="", site_title="tidings", digests=digests, counts={d.slug: len(ranked.get(d.slug, ())) for d in digests},
        top={d.slug: ranked.get(d.slug, [])[:TOP_STORIES] for d in digests})


def watch_months(claims: Iterable[dict]) -> dict[str, list[dict]]:
    """A digest's flagged sentences (newest first, see `publish.site.misinformation`) by the month their source
    was published ("2026-03"), newest month first."""
    months: dict[str, list[dict]] = {}
    for g in claims:
        months.setdefault(f"{_when(g['published']):%Y-%m}", []).append(g)
    return months


def month_label(month: str) -> str:
    """"2026-03" as "March 2026"."""
    return f"{date.fromisoformat(f'{month}-01'):%B %Y}"


def watch_pages(claims: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    """What a digest's misinformation watch shows of its flagged sentences (newest first): the newest
    WATCH_LATEST, and when there are more, every one on the page of its month (none otherwise)."""
    shown = claims[:WATCH_LATEST]
    return shown, watch_months(claims) if len(claims) > len(shown) else {}


def misinformation_page(env: Environment, digest: Digest, claims: list[dict], linked: Iterable[int]) -> str:
    """The digest's misinformation watch (see `watch_pages`), linking each month's page."""
    shown, months = watch_pages(claims)
    return env.get_template("misinformation.html").render(
        root="../", digest=digest, claims=shown, more=len(claims) - len(shown), month=None, up="",
        months=[(month, month_label(month), len(groups)) for month, groups in months.items()], published=set(linked))


def misinformation_month_page(env: Environment, digest: Digest, month: str, claims: list[dict],
                              linked: Iterable[int]) -> str:
    """The flagged sentences of the digest's sources published in one month ("2026-03")."""
    return env.get_template("misinformation.html").render(root="../../", digest=digest, claims=claims, months=[],
                                                          more=0, month=month_label(month), up="../",
                                                          published=set(linked))


def redirect_page(env: Environment, target: int, title: str) -> str:
    return env.get_template("redirect.html").render(target=f"{target}.html", title=title)


def sources_page(env: Environment, sources: Sequence[Source], digests: Sequence[Digest]) -> str:
    """Every source with its status and the credibility given to it."""
    return env.get_template("sources.html").render(root="", site_title="Sources", sources=sources, digests=digests)
