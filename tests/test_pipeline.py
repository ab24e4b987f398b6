import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tests.conftest import ARTICLE_A, ARTICLE_A2, ARTICLE_B, NOW, make_config, rss
from tidings.pipeline import Reporter, fetch_stage, opened, run
from tidings.store import Store, schema
from tidings.text import squash
from tidings.write.extractive import take_notes
from tidings.write.notes import decode

A = {"title": "Port Ellery approves tidal barrier", "link": "https://wire.example/barrier", "text": ARTICLE_A,
     "guid": "https://wire.example/barrier"}
B = {"title": "Comet visible this weekend", "link": "https://wire.example/comet", "text": ARTICLE_B}
A2 = {"title": "Tidal barrier building to begin in October", "link": "https://wire.example/barrier-2",
      "text": ARTICLE_A2, "date": "Sat, 14 Mar 2026 09:00:00 +0000"}


def setup(tmp_path, feeds: dict[str, str], **settings):
    folder = tmp_path / "feeds"
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in feeds.items():
        (folder / name).write_text(body)
    sources = [{"url": str(folder / name), "name": name.split(".")[0].title()} for name in feeds]
    return make_config(tmp_path, sources, **settings)


def test_same_article_from_two_feeds_is_stored_once_and_credited_to_both(tmp_path):
    syndicated = dict(A, link=A["link"] + "?utm_source=partner&utm_medium=rss", guid=None)
    copy = dict(B, link="https://other.example/comet-copy")  # same title and text under another URL
    config = setup(tmp_path, {"wire.rss": rss([A, B]), "partner.rss": rss([syndicated, copy], "Partner")})
    stats = run(config, now=NOW, publish=False)
    assert stats.items_new == 2 and stats.items_linked == 2
    with opened(config) as store:
        items = store.items()
    assert len(items) == 2
    assert all(len(i.source_ids) == 2 for i in items)
    assert {i.publishers for i in items} == {("Wire", "Partner")}


def test_running_the_same_ingest_twice_adds_no_items_and_no_revisions(tmp_path):
    config = setup(tmp_path, {"wire.rss": rss([A, B])})
    first = run(config, now=NOW, publish=False)
    assert first.items_new == 2 and first.revisions == 2
    # Force a full re-read (not just the unchanged-file shortcut) by touching the file's bytes.
    path = tmp_path / "feeds" / "wire.rss"
    path.write_text(path.read_text() + "\n")
    second = run(config, now=NOW + timedelta(hours=1), publish=False)
    assert second.sources_ok == 1 and second.items_new == 0 and second.revisions == 0
    third = run(config, now=NOW + timedelta(hours=2), publish=False)
    assert third.sources_unchanged == 1 and third.revisions == 0
    with opened(config) as store:
        assert store.counts()["items"] == 2 and store.counts()["revisions"] == 2


def test_new_items_revise_the_story_and_keep_old_revisions(tmp_path):
    config = setup(tmp_path, {"wire.rss": rss([A, B])})
    run(config, now=NOW, publish=False)
    (tmp_path / "feeds" / "wire.rss").write_text(rss([A, B, A2]))
    stats = run(config, now=NOW + timedelta(days=1), publish=False)
    assert stats.items_new == 1 and stats.revisions == 1
    with opened(config) as store:
        barrier = next(s for s in store.stories() if "barrier" in s.title.lower())
        revisions = store.revisions(barrier.id)
        assert [r.number for r in revisions] == [1, 2]
        assert revisions[1].created == NOW + timedelta(days=1)
        assert any("New source" in c and "October" in c for c in revisions[1].changes)
        assert len(revisions[0].sources) == 1 and len(revisions[1].sources) == 2
        assert barrier.updated == NOW + timedelta(days=1)
        assert len(store.stories()) == 2  # the comet stayed its own story
        # A page listing the history reads the earlier revisions as outlines: no article, the rest as stored.
        outlined = store.revisions(barrier.id, whole_from=1)
        assert outlined[0].sections == () and outlined[0].sources == ()
        assert (outlined[0].number, outlined[0].created, outlined[0].headline, outlined[0].changes) == \
            (revisions[0].number, revisions[0].created, revisions[0].headline, revisions[0].changes)
        assert outlined[1] == revisions[1]
        assert store.revisions(barrier.id, whole_from=5)[-1] == revisions[-1]  # the latest is always whole


def test_one_bad_source_does_not_stop_the_others(tmp_path):
    config = setup(tmp_path, {"wire.rss": rss([A]), "broken.xml": "<rss><channel><item><title>cut &"})
    stats = run(config, now=NOW, publish=False)
    assert stats.sources_failed == 1 and stats.items_new == 1 and not stats.failed
    assert len(stats.errors) == 1 and "Broken" in stats.errors[0] and "broken.xml" in stats.errors[0]
    with opened(config) as store:
        by_name = {s.name: s for s in store.sources()}
    assert by_name["Broken"].status == "error" and "not a well-formed feed" in by_name["Broken"].last_error
    assert by_name["Wire"].status == "ok" and by_name["Wire"].item_count == 1


def test_a_failing_source_keeps_what_it_stored_before(tmp_path):
    config = setup(tmp_path, {"wire.rss": rss([A, B])})
    run(config, now=NOW, publish=False)
    (tmp_path / "feeds" / "wire.rss").write_text("<html><title>502 Bad Gateway</title></html>")
    stats = run(config, now=NOW + timedelta(hours=1), publish=False)
    assert stats.failed  # every source failed: the CLI exits non-zero
    with opened(config) as store:
        assert store.counts()["items"] == 2 and store.sources()[0].status == "error"


def test_items_are_routed_to_the_digest_they_fit(tmp_path):
    digests = [{"slug": "coast", "title": "Coast", "description": "Harbours, sea walls and tidal barriers",
                "keywords": ["harbour", "barrier", "tidal"]},
               {"slug": "sky", "title": "Sky", "description": "Astronomy: comets, planets and telescopes",
                "keywords": ["comet", "astronomers", "telescope"]}]
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "wire.rss").write_text(rss([A, B]))
    config = make_config(tmp_path, [{"url": str(folder / "wire.rss"), "name": "Wire"}], digests)
    run(config, now=NOW, publish=False)
    with opened(config) as store:
        placed = {s.digest: s.title for s in store.stories()}
    assert placed == {"coast": A["title"], "sky": B["title"]}


def test_edited_article_is_updated_and_revised(tmp_path):
    config = setup(tmp_path, {"wire.rss": rss([A])})
    run(config, now=NOW, publish=False)
    with opened(config) as store:
        (item,) = store.items()
        first_notes = store.item_notes([item.id])[item.id]  # what the writer noted of its sentences, kept
        assert decode(first_notes, item.content_hash) == take_notes(item)
    edited = dict(A, text=ARTICLE_A.replace("140 million", "150 million"))
    (tmp_path / "feeds" / "wire.rss").write_text(rss([edited]))
    stats = run(config, now=NOW + timedelta(hours=3), publish=False)
    assert stats.items_updated == 1 and stats.items_new == 0 and stats.revisions == 1
    with opened(config) as store:
        (item,) = store.items()
        assert "150 million" in item.text
        latest = store.latest_revision(store.stories()[0].id)
        assert "A source updated its article." in latest.changes
        text = " ".join(s.text for sec in latest.sections for s in sec.sentences)
        assert "140 million" not in text
        # The notes of the old text no longer hold; the writer noted the new one.
        assert decode(first_notes, item.content_hash) is None
        notes = decode(store.item_notes([item.id])[item.id], item.content_hash)
        assert notes == take_notes(item) and any(("150", "million €") in f.figures for f in notes.facts.values())


def test_every_sentence_is_verbatim_from_an_item_it_cites(tmp_path):
    config = setup(tmp_path, {"wire.rss": rss([A, B, A2])})
    run(config, now=NOW, publish=False)
    with opened(config) as store:
        items = {i.id: i for i in store.items()}
        for story in store.stories():
            revision = store.latest_revision(story.id)
            by_n = {c.n: c.item_id for c in revision.sources}
            for section in revision.sections:
                for sentence in section.sentences:
                    assert sentence.cites
                    text = squash(sentence.source_text)
                    assert any(text in squash(items[by_n[n]].text) or text == squash(items[by_n[n]].title)
                               for n in sentence.cites)


def test_a_light_rewrite_folds_into_the_original_and_credits_both(tmp_path):
    rewrite = dict(A, link="https://partner.example/barrier-story", guid=None,
                   title="Harbour town backs its tidal barrier",
                   text=ARTICLE_A.replace("on Thursday", "this week").replace("two years", "24 months"))
    config = setup(tmp_path, {"wire.rss": rss([A, B]), "partner.rss": rss([rewrite], "Partner")})
    stats = run(config, now=NOW, publish=False)
    assert stats.items_new == 2 and stats.items_linked == 1
    with opened(config) as store:
        barrier = next(i for i in store.items() if "barrier" in i.title.lower())
    assert barrier.publishers == ("Wire", "Partner")
    # With near-duplicate folding off, the rewrite is an item of its own.
    config_off = setup(tmp_path / "off", {"wire.rss": rss([A, B]), "partner.rss": rss([rewrite], "Partner")},
                       near_duplicate_threshold=1.0)
    assert run(config_off, now=NOW, publish=False).items_new == 3


def test_the_write_stage_looks_only_at_stories_that_changed(tmp_path):
    def stale(store) -> set[int]:
        with store.engine.connect() as conn:
            return set(conn.scalars(select(schema.stale_stories.c.story_id)))

    config = setup(tmp_path, {"wire.rss": rss([A, B])})
    run(config, now=NOW, publish=False)
    with opened(config) as store:
        assert stale(store) == set() and store.stories_to_revise() == []
    (tmp_path / "feeds" / "wire.rss").write_text(rss([A, B, A2]))
    run(config, now=NOW + timedelta(days=1), publish=False)
    with opened(config) as store:
        barrier = next(s for s in store.stories() if "barrier" in s.title.lower())
        assert stale(store) == set() and len(store.revisions(barrier.id)) == 2
        comet = next(s for s in store.stories() if s.id != barrier.id)
        assert len(store.revisions(comet.id)) == 1
    # An edited article marks only its own story.
    (tmp_path / "feeds" / "wire.rss").write_text(rss([A, dict(B, text=ARTICLE_B + "<p>Clouds may hide it.</p>"), A2]))
    with opened(config) as store:
        fetch_stage(config, store, store.sources(), NOW + timedelta(days=2), Reporter())
        assert stale(store) == {comet.id}


def test_a_source_the_store_cannot_take_costs_only_that_source(tmp_path, monkeypatch):
    """Sources are stored many to a transaction; when one fails there, the batch is undone and each source is
    stored on its own, so the others are kept and nothing of the failing one is half-stored."""
    import sqlite3

    from tidings.store import Store

    config = setup(tmp_path, {"wire.rss": rss([A]), "other.rss": rss([B], "Other")})
    real_record = Store._record_sources

    def record(conn, values):
        # The last write of storing the other source's entries fails, inside their transaction.
        urls = dict(conn.exec_driver_sql("SELECT id, url FROM sources").all())
        if any(columns["status"] != "error" and urls[source_id].endswith("other.rss") for source_id, columns in values):
            raise sqlite3.OperationalError("disk I/O error")
        return real_record(conn, values)

    monkeypatch.setattr(Store, "_record_sources", staticmethod(record))
    stats = run(config, now=NOW, publish=False)
    assert stats.sources_ok == 1 and stats.sources_failed == 1
    assert any("cannot store: disk I/O error" in e for e in stats.errors)
    with opened(config) as store:
        [item] = store.items()
        assert item.title == A["title"]
        other = next(s for s in store.sources() if s.url.endswith("other.rss"))
        assert other.status == "error" and other.item_count == 0


def test_a_teaser_of_an_article_read_earlier_in_the_run_is_not_fetched(tmp_path, caplog):
    # The page source comes first and carries the article whole; the feed after it has only a teaser under the same
    # address. Nothing listens there: fetching it would be a wasted request, and would be logged as a failure.
    url = "http://127.0.0.1:9/2026/03/13/barrier"
    (tmp_path / "page.html").write_text(
        f"<html><head><title>Barrier approved</title><link rel='canonical' href='{url}'></head><body><article>"
        f"<h1>Barrier approved</h1>{ARTICLE_A}</article></body></html>")
    (tmp_path / "feed.rss").write_text(rss([{"title": "Barrier approved", "link": url,
                                             "summary": "The harbour authority approved a barrier."}]))
    config = make_config(tmp_path, [{"url": str(tmp_path / "page.html"), "kind": "page"},
                                    {"url": str(tmp_path / "feed.rss")}])
    stats = run(config, now=NOW, publish=False)
    assert stats.items_new == 1 and stats.items_linked == 1
    assert not [r for r in caplog.records if "full text unavailable" in r.getMessage()]


def test_a_run_that_waited_for_another_dates_its_work_from_when_it_started(tmp_path):
    # The run's clock is read once it holds the store: a run queued behind a long one must not date what it reads
    # (or decide what is due, or what is stale) by the moment it began to wait.
    (tmp_path / "a.rss").write_text(rss([{"title": "Barrier approved", "link": "https://wire.example/a",
                                          "text": ARTICLE_A}]))
    config = make_config(tmp_path, [{"url": str(tmp_path / "a.rss")}])
    released = {}
    holder = Store(config.db_url)

    def hold() -> None:
        with holder.run_lock():
            time.sleep(0.5)
            released["at"] = datetime.now(UTC)

    thread = threading.Thread(target=hold)
    thread.start()
    while not (tmp_path / "tidings.db.lock").exists():
        time.sleep(0.01)
    time.sleep(0.1)  # the holder has the lock by now
    run(config, publish=False)
    thread.join()
    holder.close()
    with opened(config) as store:
        fetched = store.sources()[0].last_fetched
    assert fetched.replace(tzinfo=UTC) >= released["at"]
