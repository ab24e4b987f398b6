"""Entries a feed still carries unchanged since its last stored read are left out before they are converted,
keyed and matched: the store ends up exactly as if every entry had been read again."""

from datetime import timedelta

from sqlalchemy import select, update

from tests.conftest import ARTICLE_A, ARTICLE_A2, ARTICLE_B, NOW, make_config, rss
from tidings.config import Settings
from tidings.ingest import read_source
from tidings.ingest.feeds import read_document
from tidings.model import Source
from tidings.pipeline import opened, run
from tidings.store import schema

A = {"title": "Port Ellery approves tidal barrier", "link": "https://wire.example/barrier", "text": ARTICLE_A}
B = {"title": "Comet visible this weekend", "link": "https://wire.example/comet", "text": ARTICLE_B}
A2 = {"title": "Tidal barrier building to begin in October", "link": "https://wire.example/barrier-2",
      "text": ARTICLE_A2, "date": "Sat, 14 Mar 2026 09:00:00 +0000"}


def test_a_second_read_leaves_out_only_the_entries_unchanged_since_the_first(tmp_path):
    feed = tmp_path / "wire.rss"
    feed.write_text(rss([A, B]))
    source = Source(url=str(feed), name="Wire", id=1)
    first = read_source(source, Settings())
    assert first.skipped == 0 and len(first.entries) == 2 and len(first.prints) == 2
    edited = dict(B, text=ARTICLE_B.replace("6,000", "7,000"))
    feed.write_text(rss([A, edited, A2]))
    second = read_source(source, Settings(), seen=frozenset(first.prints))
    assert second.skipped == 1
    assert [e.title for e in second.entries] == [B["title"], A2["title"]]
    assert "7,000" in second.entries[0].text
    assert len(second.prints) == 3 and first.prints[0] == second.prints[0]


def test_a_fingerprint_depends_on_the_source_that_reads_the_entry():
    body = rss([A]).encode()
    one = read_document(body, "https://one.example/feed", "One").prints
    other = read_document(body, "https://two.example/feed", "Two").prints
    assert one != other
    assert read_document(body, "https://one.example/feed", "One", seen=set(one)).entries == []


def test_the_fast_reader_leaves_unchanged_entries_unread_and_reads_them_all_when_the_feed_around_them_changes(
        monkeypatch):
    from tidings.ingest import xmlfeed

    read: list[str] = []
    real = xmlfeed._Reader.entry
    monkeypatch.setattr(xmlfeed._Reader, "entry",
                        lambda self, el, has: read.append(el.findtext("title")) or real(self, el, has))
    first = read_document(rss([A, B]).encode(), "https://wire.example/feed", "Wire")
    assert read == [A["title"], B["title"]]
    read.clear()
    second = read_document(rss([A2, A, B]).encode(), "https://wire.example/feed", "Wire", seen=set(first.prints))
    assert read == [A2["title"]] and second.skipped == 2 and [e.title for e in second.entries] == [A2["title"]]
    assert second.prints[1:] == first.prints
    # The feed's title goes into every entry (as its publisher, without one given): all are read again.
    read.clear()
    renamed = read_document(rss([A2, A, B], title="Other Wire").encode(), "https://wire.example/feed",
                            seen=set(second.prints))
    assert read == [A2["title"], A["title"], B["title"]] and renamed.skipped == 0
    # Fingerprints from a feedparser read match nothing the fast reader makes: everything is read, none is lost.
    slow = read_document(rss([A, B]).encode(), "https://wire.example/feed", "Wire", fast=False)
    read.clear()
    again = read_document(rss([A, B]).encode(), "https://wire.example/feed", "Wire", seen=set(slow.prints))
    assert read == [A["title"], B["title"]] and again.skipped == 0 and len(again.entries) == 2


def test_entries_sharing_a_guid_are_all_read_again_so_they_can_be_told_apart():
    shared = [dict(A, guid="17"), dict(B, guid="17")]
    body = rss(shared).encode()
    doc = read_document(body, "https://wire.example/feed", "Wire")
    again = read_document(body, "https://wire.example/feed", "Wire", seen=set(doc.prints))
    assert again.skipped == 0 and len(again.entries) == 2
    # Atom ids too, whatever the ids' other elements: the one id of the two entries is what counts.
    entry = ("<entry><title>{0}</title><id>urn:x:17</id><link href='https://wire.example/{0}'/>"
             "<updated>2026-03-13T09:00:00Z</updated><content>{0} text, long enough to keep.</content></entry>")
    body = ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>W</title>"
            f"<id>urn:w</id><updated>2026-03-13T09:00:00Z</updated>{entry.format('one')}{entry.format('two')}</feed>")
    doc = read_document(body.encode(), "https://wire.example/feed", "Wire")
    again = read_document(body.encode(), "https://wire.example/feed", "Wire", seen=set(doc.prints))
    assert len(doc.entries) == 2 and again.skipped == 0 and len(again.entries) == 2
    unique = body.replace("urn:x:17</id><link href='https://wire.example/two'", "urn:x:18</id><link "
                          "href='https://wire.example/two'")
    doc = read_document(unique.encode(), "https://wire.example/feed", "Wire")
    assert read_document(unique.encode(), "https://wire.example/feed", "Wire", seen=set(doc.prints)).skipped == 2


def test_a_json_feed_skips_unchanged_items_too():
    import json
    items = [{"id": "1", "url": "https://m.example/1", "title": "One", "content_text": "First text here."},
             {"id": "2", "url": "https://m.example/2", "title": "Two", "content_text": "Second text here."}]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "M", "items": items}).encode()
    doc = read_document(body, "https://m.example/feed.json")
    items[1]["content_text"] = "Second text, corrected."
    body2 = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "M", "items": items}).encode()
    again = read_document(body2, "https://m.example/feed.json", seen=set(doc.prints))
    assert again.skipped == 1 and [e.text for e in again.entries] == ["Second text, corrected."]


def _stored(config) -> dict:
    with opened(config) as store, store.engine.connect() as conn:
        return {
            "items": conn.execute(select(schema.items.c.id, schema.items.c.url, schema.items.c.title,
                                         schema.items.c.text, schema.items.c.content_hash)
                                  .order_by(schema.items.c.id)).all(),
            "links": conn.execute(select(schema.item_sources.c.item_id, schema.item_sources.c.source_id)
                                  .order_by(schema.item_sources.c.item_id, schema.item_sources.c.source_id)).all(),
            "keys": sorted(conn.execute(select(schema.item_keys.c.key, schema.item_keys.c.item_id)).all()),
        }


def _forget_prints(config) -> None:
    with opened(config, existing=False) as store, store.engine.begin() as conn:
        conn.execute(update(schema.sources).values(entry_prints=None))


def test_runs_that_skip_unchanged_entries_store_what_runs_reading_every_entry_store(tmp_path):
    days = [[A, B], [A, dict(B, text=ARTICLE_B.replace("Saturday", "Sunday")), A2],
            [A2, dict(A, title="Port Ellery approves its tidal barrier")]]
    stores = {}
    for mode in ("skip", "read all"):
        folder = tmp_path / mode
        (folder / "feeds").mkdir(parents=True)
        feed, partner = folder / "feeds" / "wire.rss", folder / "feeds" / "partner.rss"
        config = make_config(folder, [{"url": str(feed), "name": "Wire"}, {"url": str(partner), "name": "Partner"}],
                             fetch_full_text=False)  # the short test articles would count as teasers
        for n, entries in enumerate(days):
            feed.write_text(rss(entries))
            partner.write_text(rss([dict(e, link=e["link"] + "?ref=partner") for e in entries[::-1]], "Partner"))
            if mode == "read all":
                _forget_prints(config)
            stats = run(config, now=NOW + timedelta(days=n), publish=False)
            assert stats.sources_failed == 0
        stores[mode] = _stored(config)
        if mode == "skip":
            with opened(config) as store:
                assert [len(store.source_cache(s.id)[3]) for s in store.sources()] == [2, 2]
    assert stores["skip"] == stores["read all"]
    # A (retitled in place), B (edited in place), A2; each carried by both feeds.
    assert [i.title for i in stores["skip"]["items"]] == [
        "Port Ellery approves its tidal barrier", B["title"], A2["title"]]
    assert "Sunday" in stores["skip"]["items"][1].text
    assert len(stores["skip"]["links"]) == 6
