"""Publishing renders only what changed, and what it leaves is byte for byte what a full rebuild makes."""

from __future__ import annotations

import errno
import shutil
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from tidings.config import load_config
from tidings.demo import corpus_dir, demo_days
from tidings.ingest.fetch import is_local, local_path
from tidings.pipeline import run
from tidings.publish import site as site_module
from tidings.publish.site import publish_site
from tidings.store import Store


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def demo_project(tmp_path):
    """The demo's config and corpus, with a function that runs day N (publishing its site each day)."""
    root = tmp_path / "demo"
    root.mkdir()
    shutil.copyfile(corpus_dir() / "tidings.toml", root / "tidings.toml")
    config = load_config(root / "tidings.toml")
    store = Store(config.db_url)

    def run_day(day: Path) -> str | None:
        """Run as of the end of `day`; why the site could not be published, if it could not."""
        shutil.copytree(day, root / "feeds", dirs_exist_ok=True)
        now = datetime.combine(datetime.fromisoformat(day.name).date(), time(23, 0), UTC)
        present = [s.url for s in config.sources if not is_local(s.url) or local_path(s.url).exists()]
        return run(config, store, now=now, sources=present).publish_error

    yield config, store, run_day
    store.close()


# 2: the digest's page lists only its first stories, the rest by week; its watch the newest claim, all by month
@pytest.mark.parametrize("top", [None, 2])
def test_an_incremental_site_is_byte_identical_to_a_full_rebuild(demo_project, tmp_path, monkeypatch, top):
    from tidings.publish import pages

    if top:
        monkeypatch.setattr(pages, "DIGEST_TOP", top)
        monkeypatch.setattr(pages, "WATCH_LATEST", top - 1)
    config, store, run_day = demo_project
    site = Path(config.resolve(config.site_dir))
    rendered = []
    for day in demo_days():
        assert run_day(day) is None
        full = tmp_path / f"full-{day.name}"
        publish_site(store, full, config.site_url, everything=True)
        assert tree(site) == tree(full), f"the site after {day.name} differs from a full rebuild"
        rendered.append(publish_site(store, full, config.site_url).rendered)
    assert rendered == [0] * len(rendered)  # publishing again with nothing new renders nothing


def test_publishing_with_nothing_new_touches_no_file(demo_project):
    config, store, run_day = demo_project
    for day in demo_days()[:2]:
        run_day(day)
    site = Path(config.resolve(config.site_dir))
    before = mtimes(site)
    stats = publish_site(store, site, config.site_url)
    assert stats.rendered == 0 and stats.stories > 0
    assert mtimes(site) == before


def test_a_revision_page_once_written_never_changes(demo_project):
    config, store, run_day = demo_project
    site = Path(config.resolve(config.site_dir))
    days = demo_days()
    run_day(days[0])
    first = {path: stamp for path, stamp in mtimes(site).items() if "/stories/" in path and "/r" in path}
    for day in days[1:]:
        run_day(day)
    later = mtimes(site)
    revised = [s for s in store.stories() if s.revision_count > 1]
    assert revised and first
    # Every revision page of the first day is untouched, though most of their stories were revised since.
    assert {path: later[path] for path in first} == first
    for story in revised:
        assert f'href="r{story.revision_count}.html"' not in (
            site / story.digest / "stories" / str(story.id) / f"r{story.revision_count - 1}.html").read_text()


def test_a_page_removed_by_hand_is_written_again(demo_project, tmp_path):
    config, store, run_day = demo_project
    run_day(demo_days()[0])
    site = Path(config.resolve(config.site_dir))
    page = next((site / "ai" / "stories").glob("*.html"))
    expected = page.read_bytes()
    page.unlink()
    assert publish_site(store, site, config.site_url).rendered == 1
    assert page.read_bytes() == expected


def test_a_publish_that_fails_midway_leaves_whole_pages_and_the_next_one_finishes(demo_project, tmp_path,
                                                                                    monkeypatch):
    config, store, run_day = demo_project
    days = demo_days()
    run_day(days[0])
    site = Path(config.resolve(config.site_dir))
    real_write, calls = site_module._write, []

    def failing_write(path, content):
        calls.append(path)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, content)

    monkeypatch.setattr(site_module, "_write", failing_write)
    assert "No space left on device" in run_day(days[1])
    monkeypatch.undo()
    assert not [p for p in site.rglob("*") if p.name.endswith(".tmp")]  # no half-written page left behind
    publish_site(store, site, config.site_url)
    full = tmp_path / "full"
    publish_site(store, full, config.site_url, everything=True)
    assert tree(site) == tree(full)


def ai_site_with(demo_project, monkeypatch, **limits) -> Path:
    """The demo's ai digest's folder after its last day, published with these limits of `publish.pages`."""
    from tidings.publish import pages

    for name, value in limits.items():
        monkeypatch.setattr(pages, name, value)
    config, _, run_day = demo_project
    for day in demo_days():
        assert run_day(day) is None
    return Path(config.resolve(config.site_dir)) / "ai"


def test_a_digest_page_lists_its_first_stories_and_its_archive_every_story_once(demo_project, monkeypatch):
    import re

    folder = ai_site_with(demo_project, monkeypatch, DIGEST_TOP=2)
    store = demo_project[1]
    index = (folder / "index.html").read_text(encoding="utf-8")
    listed = re.findall(r'<a href="stories/(\d+)\.html">', index)
    live = {str(s.id) for s in store.stories("ai")}
    assert len(listed) == 2 and set(listed) <= live
    assert f"These are the first 2; {len(live) - 2} more stories are in the archive." in index
    weeks = re.findall(r'<a href="archive/(\d{4}-W\d\d)\.html">Week of (\w{3} \d+, \d{4})</a>', index)
    assert weeks and [w for w, _ in weeks] == sorted((w for w, _ in weeks), reverse=True)
    archived = []
    for week, monday in weeks:
        page = (folder / "archive" / f"{week}.html").read_text(encoding="utf-8")
        assert f"Stories that began in the week of {monday}" in page
        archived += re.findall(r'<a href="\.\./stories/(\d+)\.html">', page)
    assert sorted(archived) == sorted(live)  # every story, once
    assert sorted(p.name for p in (folder / "archive").iterdir()) == sorted(f"{w}.html" for w, _ in weeks)


def test_a_week_left_without_stories_loses_its_archive_page(tmp_path):
    from tidings.model import Digest
    from tidings.publish.pages import archive_weeks

    line = {"id": 7, "headline": "Bridge reopens", "began": "2026-03-10", "updated": "Mar 12, 2026", "sources": 2,
            "publishers": 2, "revisions": 1, "contradicted": 0}
    digest, memo = Digest("news", "News"), site_module._Memo({})
    site_module._archive(site_module.environment(), digest, tmp_path, archive_weeks([line]), memo, {7: "v1"})
    page = tmp_path / "archive" / "2026-W11.html"
    assert "Bridge reopens" in page.read_text(encoding="utf-8")
    site_module._archive(site_module.environment(), digest, tmp_path, archive_weeks([]), site_module._Memo(memo.now),
                         {})
    assert not page.exists()


def test_the_watch_shows_the_newest_flagged_sentences_and_every_one_on_its_months_page(demo_project, monkeypatch):
    import re

    folder = ai_site_with(demo_project, monkeypatch, WATCH_LATEST=1)
    watch = (folder / "misinformation.html").read_text(encoding="utf-8")
    assert watch.count('<li class="verdict-') == 1
    month_link = r'<a href="misinformation/(\d{4}-\d\d)\.html">(\w+ \d{4})</a> <span class="meta">(\d+) sent'
    months = re.findall(month_link, watch)
    assert months == [("2026-03", "March 2026", "3")] and "2 more are on the page of the month" in watch
    page = (folder / "misinformation" / "2026-03.html").read_text(encoding="utf-8")
    assert "<h1>Misinformation watch: March 2026</h1>" in page and page.count('<li class="verdict-') == 3
    newest = re.search(r"<blockquote>(.*?)</blockquote>", watch)[1]
    assert f"<blockquote>{newest}</blockquote>" in page
    linked = re.findall(r'<a href="\.\./stories/(\d+)\.html">this story</a>', page)
    assert linked and all((folder / "stories" / f"{k}.html").is_file() for k in linked)
    assert 'href="../../style.css"' in page and 'href="../misinformation.html"' in page


def test_a_month_left_without_flagged_sentences_loses_its_watch_page(tmp_path, monkeypatch):
    from tidings.model import Digest
    from tidings.publish import pages

    monkeypatch.setattr(pages, "WATCH_LATEST", 1)

    def flagged(day: str, n: int) -> dict:
        return {"sentence": f"Claim {n}.", "publisher": "Wire", "title": f"Report {n}", "url": f"https://w.example/{n}",
                "published": datetime.fromisoformat(day), "story": n, "claims": [], "worst": "disputed"}

    digest, memo, env = Digest("news", "News"), site_module._Memo({}), site_module.environment()
    claims = [flagged("2026-04-02", 2), flagged("2026-03-30", 1)]
    site_module._watch(env, digest, tmp_path, claims, {1, 2}, memo, [])
    assert sorted(p.name for p in (tmp_path / "misinformation").iterdir()) == ["2026-03.html", "2026-04.html"]
    written = mtimes(tmp_path)
    site_module._watch(env, digest, tmp_path, claims, {1, 2}, site_module._Memo(memo.now), [])
    assert mtimes(tmp_path) == written  # nothing changed, nothing made again
    site_module._watch(env, digest, tmp_path, claims[:1] + [flagged("2026-04-01", 3)], {2, 3},
                       site_module._Memo(memo.now), [])
    assert sorted(p.name for p in (tmp_path / "misinformation").iterdir()) == ["2026-04.html"]
    assert "Claim 3." in (tmp_path / "misinformation" / "2026-04.html").read_text(encoding="utf-8")
