"""Publishing: where the site may be written, stories that cannot be rendered, and links in every output."""

from __future__ import annotations

import errno
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select, update

from tests.conftest import ARTICLE_A, ARTICLE_B, NOW, make_config, rss
from tidings.errors import PublishError, StoreError
from tidings.model import Revision
from tidings.pipeline import run
from tidings.publish import site as site_module
from tidings.publish.export import export_state
from tidings.publish.pages import headline
from tidings.publish.site import MARKER, publish_site
from tidings.store import ClusterOutcome, Store
from tidings.store import schema as t

BARRIER = {"title": "Port Ellery approves tidal barrier", "link": "https://wire.example/barrier",
           "text": ARTICLE_A, "date": "Fri, 13 Mar 2026 09:00:00 +0000"}
COMET = {"title": "Comet visible this weekend", "link": "https://wire.example/comet", "text": ARTICLE_B,
         "date": "Fri, 13 Mar 2026 10:00:00 +0000"}


def filled_store(tmp_path: Path, db: Path | None = None) -> Store:
    """A store holding two stories (the barrier and the comet), made by the real pipeline from a local feed."""
    feeds = tmp_path / "feeds"
    feeds.mkdir(exist_ok=True)
    (feeds / "wire.rss").write_text(rss([BARRIER, COMET]))
    config = make_config(tmp_path, [{"url": str(feeds / "wire.rss"), "name": "Wire"}])
    store = Store(str(db or tmp_path / "t.db"))
    run(config, store, now=NOW, publish=False)
    return store


@pytest.fixture
def store(tmp_path):
    s = filled_store(tmp_path)
    yield s
    s.close()


def story_named(store: Store, word: str):
    return next(s for s in store.stories() if word in s.title.lower())


def set_headline(store: Store, story_id: int, text: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(t.revisions).where(t.revisions.c.story_id == story_id).values(headline=text))
        conn.execute(update(t.stories).where(t.stories.c.id == story_id).values(title=text))


def set_item(store: Store, item_id: int, **values) -> None:
    """Change an item's stored url or title, and the same field of it in every revision that cites it."""
    with store.engine.begin() as conn:
        conn.execute(update(t.items).where(t.items.c.id == item_id).values(**values))
        for rev_id, body in conn.execute(select(t.revisions.c.id, t.revisions.c.body)).all():
            body = body if isinstance(body, dict) else json.loads(body)
            for source in body["sources"]:
                if source["item_id"] == item_id:
                    source.update(values)
            conn.execute(update(t.revisions).where(t.revisions.c.id == rev_id).values(body=body))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def published_text(site: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(site.rglob("*")) if p.is_file())


# --- where the site may go ----------------------------------------------------------------------------------

def test_publishing_into_the_project_folder_is_refused_and_nothing_is_removed(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "tidings.toml").write_text('site_dir = "."\n')
    (project / "notes.txt").write_text("mine\n")
    store = filled_store(tmp_path, project / "tidings.db")
    try:
        before, siblings = snapshot(project), sorted(os.listdir(tmp_path))
        monkeypatch.chdir(project)
        with pytest.raises(PublishError) as raised:
            publish_site(store, ".")
        message = str(raised.value)
        assert "\n" not in message
        assert message.startswith(f"{project}: not a site made by tidings") and "site_dir or --dir" in message
        assert snapshot(project).keys() == before.keys()
        assert (project / "notes.txt").read_text() == "mine\n" and (project / "tidings.toml").exists()
        assert sorted(os.listdir(tmp_path)) == siblings  # nothing left beside it either
        assert store.counts()["stories"] == 2
    finally:
        store.close()


def test_a_docs_folder_with_a_file_of_its_own_is_refused(store, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n")
    with pytest.raises(PublishError, match="not a site made by tidings") as raised:
        publish_site(store, docs)
    assert str(docs) in str(raised.value)
    assert snapshot(docs) == {"guide.md": b"# Guide\n"}


def test_a_site_tidings_made_is_replaced_and_a_sibling_old_folder_survives(store, tmp_path):
    site = tmp_path / "site"
    mask = os.umask(0o022)
    try:
        old = tmp_path / "site.old"
        old.mkdir()
        (old / "keep.txt").write_text("not tidings'")
        first = publish_site(store, site)
        (site / "gone.html").write_text("a page of a story that no longer exists")
        second = publish_site(store, site, everything=True)  # a full rebuild replaces the folder whole
    finally:
        os.umask(mask)
    assert (old / "keep.txt").read_text() == "not tidings'"
    assert first.path == second.path == site and (site / MARKER).is_file()
    assert second.stories == 2 and (site / "index.html").exists() and not (site / "gone.html").exists()
    # The swap leaves nothing behind, and the site can be served by a web server running as another user.
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert site.stat().st_mode & 0o777 == 0o755


def test_an_empty_folder_can_take_the_site(store, tmp_path):
    empty = tmp_path / "public"
    empty.mkdir()
    stats = publish_site(store, empty)
    assert stats.stories == 2 and (empty / "news" / "index.html").exists() and (empty / MARKER).is_file()


def test_a_folder_that_cannot_be_written_is_a_publish_error(store, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("just a file")
    target = blocker / "site"
    with pytest.raises(PublishError) as raised:
        publish_site(store, target)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{target}: cannot write the site there")
    assert f"{blocker} is a file" in message
    assert blocker.read_text() == "just a file"
    with pytest.raises(PublishError, match="is a file, not a folder"):
        publish_site(store, blocker)
    assert blocker.read_text() == "just a file"


def test_a_failure_while_rendering_leaves_the_old_site_as_it_was(store, tmp_path, monkeypatch):
    site = tmp_path / "site"
    publish_site(store, site)
    before = snapshot(site)
    real_write, calls = site_module._write, []

    def failing_write(path, text):
        calls.append(path)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, text)

    monkeypatch.setattr(site_module, "_write", failing_write)
    with pytest.raises(PublishError, match="No space left on device"):
        publish_site(store, site, everything=True)
    assert snapshot(site) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_database_failure_stops_the_publish_and_keeps_the_old_site(store, tmp_path, monkeypatch):
    site = tmp_path / "site"
    publish_site(store, site)
    before = snapshot(site)

    def unreadable(story_id, whole_from=0):
        raise StoreError(f"{tmp_path / 't.db'}: database is locked")

    monkeypatch.setattr(store, "revisions", unreadable)
    with pytest.raises(StoreError, match="database is locked"):
        publish_site(store, site, everything=True)
    assert snapshot(site) == before


# --- stories that cannot be shown as stored -----------------------------------------------------------------

def test_a_story_without_a_usable_headline_is_published_under_a_fallback(store, tmp_path):
    barrier, comet = story_named(store, "barrier"), story_named(store, "comet")
    set_headline(store, barrier.id, "")
    (item,) = barrier.item_ids
    set_item(store, item, title="")
    set_headline(store, comet.id, "Comet\x01 visible\x0b this weekend")
    stats = publish_site(store, tmp_path / "site")
    assert stats.errors == () and stats.stories == 2
    feed = feedparser.parse((stats.path / "news" / "feed.atom").read_bytes())
    assert feed.bozo == 0 and len(feed.entries) == 2
    titles = {e.link.rsplit("/", 1)[1]: e.title for e in feed.entries}
    assert titles[f"{comet.id}.html"] == "Comet visible this weekend"
    assert titles[f"{barrier.id}.html"].startswith("The harbour authority of Port Ellery approved")
    page = (stats.path / "news" / "stories" / f"{barrier.id}.html").read_text()
    assert "<h1>The harbour authority of Port Ellery approved" in page and ">Untitled</a>" in page
    # Good links still get through the sanitiser into the feed.
    assert 'href="https://wire.example/comet"' in (stats.path / "news" / "feed.atom").read_text()
    written = published_text(stats.path)
    assert "\x01" not in written and "\x0b" not in written


def test_a_revision_with_nothing_to_name_it_by_is_called_by_its_story_number():
    empty = Revision(story_id=7, number=1, created=datetime(2026, 3, 20, tzinfo=UTC), headline=" \x00 ",
                     sections=(), sources=(), item_ids=())
    assert headline(empty, 7) == "Story 7"


def test_a_story_that_cannot_be_rendered_is_skipped_and_the_rest_is_published(store, tmp_path):
    barrier, comet = story_named(store, "barrier"), story_named(store, "comet")
    with store.engine.begin() as conn:
        conn.execute(update(t.revisions).where(t.revisions.c.story_id == comet.id)
                     .values(body={"sections": 5, "sources": []}))
    stats = publish_site(store, tmp_path / "site")
    assert len(stats.errors) == 1
    (error,) = stats.errors
    assert error.startswith(f"story {comet.id} ") and "\n" not in error and "TypeError" in error
    assert stats.stories == 1
    news = stats.path / "news"
    assert (news / "stories" / f"{barrier.id}.html").exists()
    assert not (news / "stories" / f"{comet.id}.html").exists()
    assert f"stories/{comet.id}.html" not in (news / "index.html").read_text()
    feed = feedparser.parse((news / "feed.atom").read_bytes())
    assert feed.bozo == 0 and [e.title for e in feed.entries] == [barrier.title]


def test_a_merged_story_still_redirects(store, tmp_path):
    barrier, comet = story_named(store, "barrier"), story_named(store, "comet")
    (item,) = comet.item_ids
    store.apply_clustering(ClusterOutcome(moves=[(item, "news", barrier.id, 1.0)], merged={comet.id: barrier.id},
                                          events=[("merge", comet.id, barrier.id, "test")]), NOW)
    stats = publish_site(store, tmp_path / "site")
    page = (stats.path / "news" / "stories" / f"{comet.id}.html").read_text()
    assert f"url={barrier.id}.html" in page


# --- links --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>hi</b>"])
def test_a_link_that_is_not_a_web_url_reaches_no_output(store, tmp_path, bad):
    barrier = story_named(store, "barrier")
    (item,) = barrier.item_ids
    set_item(store, item, url=bad)
    stats = publish_site(store, tmp_path / "site")
    written = published_text(stats.path)
    scheme = bad.split(":", 1)[0] + ":"
    assert scheme not in written and bad not in written
    assert "feed.atom" in {p.name for p in stats.path.rglob("*")}
    # The cited source is still listed, as plain text.
    page = (stats.path / "news" / "stories" / f"{barrier.id}.html").read_text()
    assert f"{BARRIER['title']}</a>" not in page and BARRIER["title"] in page
    assert 'href="https://wire.example/comet"' in (stats.path / "news" / "feed.atom").read_text()

    exported = export_state(store)
    assert scheme not in json.dumps(exported)
    assert next(i for i in exported["items"] if i["id"] == item)["url"] == ""
    story = next(s for s in exported["stories"] if s["id"] == barrier.id)
    assert story["sources"][0]["url"] == "" and story["revisions"][-1]["sources"][0]["url"] == ""
    # A source is named by the user, so its local path is kept.
    assert [s["url"] for s in exported["sources"]] == [str(tmp_path / "feeds" / "wire.rss")]


def test_a_site_written_before_sites_carried_the_marker_is_still_replaced(store, tmp_path):
    old = tmp_path / "site"
    publish_site(store, old)
    (old / MARKER).unlink()  # as an earlier version of tidings left it
    assert publish_site(store, old).stories == 2 and (old / MARKER).is_file()
    (old / MARKER).unlink()
    (old / "notes.txt").write_text("mine")  # anything else in it, and it is not only a site
    with pytest.raises(PublishError, match="not a site made by tidings"):
        publish_site(store, old)
    assert (old / "notes.txt").read_text() == "mine"


def test_templates_compiled_once_are_loaded_from_the_cache_and_a_broken_cache_is_passed_over(tmp_path, monkeypatch):
    import jinja2

    from tidings.publish import site

    folder = tmp_path / "compiled"
    folder.mkdir()
    monkeypatch.setattr(site, "_template_cache", lambda: site._CompiledTemplates(str(folder)))
    site.environment().get_template("story.html")
    assert list(folder.iterdir())  # compiled and kept

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled again")

    with monkeypatch.context() as m:
        m.setattr(jinja2.Environment, "compile", no_compiling)
        assert site.environment().get_template("story.html").render  # loaded from the cache

    for path in folder.iterdir():
        path.write_bytes(b"not bytecode")
    assert site.environment().get_template("story.html").render  # a garbled cache: compiled as without one
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    monkeypatch.setattr(site, "_template_cache", lambda: site._CompiledTemplates(str(not_a_folder)))
    assert site.environment().get_template("base.html").render  # cannot be read or written: the same
