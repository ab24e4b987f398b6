import sqlite3
from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import IntegrityError

from tests.conftest import NOW
from tidings.dedupe import keyed as key_entry
from tidings.errors import StoreError
from tidings.model import Digest, Entry, Source
from tidings.search import search
from tidings.store import Store, schema
from tidings.store.migrations import MIGRATIONS
from tidings.store.store import CACHE_KIB, _pending_work


def entry(n: int, **kw) -> Entry:
    values = {"url": f"https://news.example/{n}", "title": f"Headline number {n}",
              "text": f"Body of article {n}. " * 20, "publisher": "News", "published": NOW}
    values.update(kw)
    return Entry(**values)


def keyed(source: Source, *entries: Entry):
    return [key_entry(e, source.id) for e in entries]


def test_the_store_holds_a_larger_page_cache_than_sqlites_default(tmp_path):
    store = Store(str(tmp_path / "s.db"))
    with store.engine.connect() as conn:
        kib = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    store.close()
    assert kib == -CACHE_KIB and CACHE_KIB > 2000  # negative: KiB; SQLite's default is -2000


def test_migrations_are_named_and_applied_once(tmp_path):
    path = tmp_path / "s.db"
    Store(str(path)).close()
    Store(str(path)).close()  # opening again applies nothing new
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == [name for name, _ in MIGRATIONS]
    assert mode == "wal"
    assert {"sources", "items", "item_sources", "digests", "stories", "story_items", "revisions", "items_fts",
            "revisions_fts"} <= tables


def test_an_older_store_gets_the_indexes_a_publish_reads_its_versions_from(tmp_path):
    path = tmp_path / "s.db"
    Store(str(path)).close()
    names = ("ix_stories_versions", "ix_story_items_members", "ix_revisions_versions")
    with sqlite3.connect(path) as conn:  # as a store made before them
        for name in names:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("DELETE FROM migrations WHERE name = '0017_story_version_indexes'")
    store = Store(str(path))
    store.sync_digests([Digest("news", "News")])
    assert store.story_versions() == {}
    store.close()
    with sqlite3.connect(path) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plan = " ".join(r[3] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT story_id, count(*), max(number), max(created) FROM revisions GROUP BY story_id"))
    assert set(names) <= indexes and "COVERING INDEX ix_revisions_versions" in plan


def test_items_still_to_place_or_check_are_read_from_their_own_index(tmp_path):
    path = tmp_path / "s.db"
    store = Store(str(path))
    source = store.upsert_source(Source(url="https://news.example/feed", name="News"), NOW)
    store.ingest(source, keyed(source, entry(1), entry(2)), NOW)
    placed, to_check = store.new_work()
    assert [i.title for i in placed] == [i.title for i in to_check] == ["Headline number 1", "Headline number 2"]
    store.save_claims([(to_check[0], [])])
    assert [i.title for i in store.items_to_check()] == ["Headline number 2"]
    store.close()
    with sqlite3.connect(path) as conn:
        # The condition as the store writes it: the planner must find it in the index, not scan every item.
        query = select(schema.items.c.id).where(_pending_work()).order_by(schema.items.c.published)
        rendered = str(query.compile(dialect=sqlite_dialect()))
        plan = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + rendered))
    assert "ix_items_pending" in plan


def test_one_sources_entries_are_one_transaction(store):
    source = store.upsert_source(Source(url="https://news.example/feed", name="News"), NOW)
    store.ingest(source, keyed(source, entry(1)), NOW)
    # The second entry breaks a NOT NULL constraint (no publisher): none of this batch may be stored.
    batch = keyed(source, entry(2), entry(3))
    batch[1] = replace(batch[1], entry=entry(3, publisher=None))
    with pytest.raises(StoreError, match="NOT NULL") as caught:
        store.ingest(source, batch, NOW)
    assert isinstance(caught.value.__cause__, IntegrityError)
    assert [i.title for i in store.items()] == ["Headline number 1"]


def test_full_text_search_finds_items(store):
    source = store.upsert_source(Source(url="https://news.example/feed"), NOW)
    store.ingest(source, keyed(source, entry(1, title="Glacier retreat measured", text="Drone survey " * 30),
                               entry(2)), NOW)
    found = search(store, "glacier")
    assert [h.item.title for h in found.hits] == ["Glacier retreat measured"]
    assert search(store, '"; DROP TABLE items; --').hits == ()


def test_removing_a_source_keeps_its_items(store):
    source = store.upsert_source(Source(url="https://news.example/feed"), NOW)
    store.ingest(source, keyed(source, entry(1)), NOW)
    assert store.remove_source(source.url)
    assert store.sources() == [] and store.item_count() == 1


def test_a_migration_that_fails_halfway_leaves_the_schema_before_it(tmp_path, monkeypatch):
    """Each migration is one transaction: a failure (or a kill) inside one leaves no half-made schema, and the
    next opening applies it whole."""
    from sqlalchemy import create_engine, inspect

    from tidings.store import migrations

    def broken(conn):
        migrations._full_text_search(conn)  # creates the FTS tables ...
        raise RuntimeError("killed")  # ... and dies before the migration is recorded

    steps = [(name, broken if name == "0002_full_text_search" else step) for name, step in migrations.MIGRATIONS]
    monkeypatch.setattr(migrations, "MIGRATIONS", steps)
    path = tmp_path / "t.db"
    with pytest.raises(RuntimeError, match="killed"):
        Store(str(path))
    engine = create_engine(f"sqlite:///{path}")
    assert "items_fts" not in inspect(engine).get_table_names()
    engine.dispose()
    monkeypatch.undo()
    Store(str(path)).close()  # opens, and finishes the migrations
    engine = create_engine(f"sqlite:///{path}")
    assert "items_fts" in inspect(engine).get_table_names()
    engine.dispose()


def test_new_items_get_their_own_ids_keys_and_bands(store, tmp_path):
    """A batch's new items are inserted at once: each key, link and LSH band must name the item it came from."""
    source = store.upsert_source(Source(url="https://news.example/feed"), NOW)
    store.ingest(source, keyed(source, entry(1)), NOW)
    texts = {n: f"Story {n} about topic {n * 7} with details {n * 13}. " * 6 for n in range(2, 7)}
    store.ingest(source, keyed(source, *(entry(n, text=texts[n]) for n in texts)), NOW)
    with sqlite3.connect(tmp_path / "store.db") as conn:
        by_key = dict(conn.execute("SELECT k.key, i.url FROM item_keys k JOIN items i ON i.id = k.item_id"))
        bands = conn.execute("SELECT i.url, count(*) FROM item_bands b JOIN items i ON i.id = b.item_id "
                             "GROUP BY i.url").fetchall()
        carried = conn.execute("SELECT count(*) FROM item_sources s JOIN items i ON i.id = s.item_id").fetchone()
    for n in range(1, 7):
        assert by_key[f"url:https://news.example/{n}"] == f"https://news.example/{n}"
    assert sorted(bands) == [(f"https://news.example/{n}", 32) for n in range(1, 7)]
    assert carried == (6,)


def test_new_work_reads_items_to_place_and_to_check_at_once(store, tmp_path):
    source = store.upsert_source(Source(url="https://news.example/feed"), NOW)
    earlier = NOW.replace(hour=NOW.hour - 1)
    store.ingest(source, keyed(source, entry(1), entry(2), entry(3, published=earlier)), NOW)
    first, second, third = sorted(store.items(), key=lambda i: i.id)
    store.save_claims([(first, [])])  # checked, not placed
    with sqlite3.connect(tmp_path / "store.db") as conn:
        conn.execute("UPDATE items SET routed = '2026-01-01 00:00:00.000000' WHERE id = ?", (second.id,))
    unrouted, to_check = store.new_work()
    assert [i.id for i in unrouted] == [third.id, first.id] == [i.id for i in store.unrouted_items()]
    assert [i.id for i in to_check] == [second.id, third.id] == [i.id for i in store.items_to_check()]
    assert unrouted[0].source_ids == (source.id,)


def test_sources_without_item_counts_are_the_same_sources(store):
    first = store.upsert_source(Source(url="https://news.example/feed", digests=("ai",)), NOW)
    store.upsert_source(Source(url="https://other.example/feed"), NOW)
    store.ingest(first, keyed(first, entry(1), entry(2)), NOW)
    counted, uncounted = store.sources(), store.sources(item_counts=False)
    assert [s.item_count for s in counted] == [2, 0]
    assert [s.item_count for s in uncounted] == [0, 0]
    assert [replace(s, item_count=0) for s in counted] == uncounted


def test_key_tables_of_an_older_store_become_compact_and_keep_their_rows(tmp_path, caplog):
    """A store whose keys and bands are rowid tables (with an index on the band) gets them as tables without
    rowids, every row of an item kept, and still finds a near-duplicate by its bands."""
    path = tmp_path / "old.db"
    store = Store(str(path))
    assert caplog.records == []
    source = store.upsert_source(Source(url="https://news.example/feed"), NOW)
    mirror = store.upsert_source(Source(url="https://mirror.example/feed"), NOW)
    text = " ".join(f"Paragraph {n} of the survey reports glacier {n * 3} retreat in valley {n * 7}." for n in range(9))
    store.ingest(source, keyed(source, entry(1), entry(2, text=text)), NOW)
    store.close()
    db = sqlite3.connect(path)
    before = {table: sorted(db.execute(f"SELECT * FROM {table}")) for table in ("item_keys", "item_bands")}
    db.execute("DELETE FROM migrations WHERE name = '0016_compact_key_tables'")
    db.execute("ALTER TABLE item_keys RENAME TO keys_new")
    db.execute("CREATE TABLE item_keys (key TEXT PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items(id))")
    db.execute("INSERT INTO item_keys SELECT * FROM keys_new")
    db.execute("DROP TABLE keys_new")
    db.execute("ALTER TABLE item_bands RENAME TO bands_new")
    db.execute("CREATE TABLE item_bands (band VARCHAR(40) NOT NULL, item_id INTEGER NOT NULL REFERENCES items(id))")
    db.execute("CREATE INDEX ix_item_bands_band ON item_bands (band)")
    db.execute("INSERT INTO item_bands SELECT * FROM bands_new")
    db.execute("DROP TABLE bands_new")
    # Rows of an item deleted by another tool, with foreign keys off: dropped, and the store still opens.
    db.execute("INSERT INTO item_bands VALUES ('0:0000beef', 999)")
    db.execute("INSERT INTO item_keys VALUES ('url:https://gone.example/1', 999)")
    db.commit()
    db.close()

    caplog.clear()
    store = Store(str(path))
    # Said first: on a large store the rebuild takes a while (a fresh store says nothing, see below).
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: bringing the store up to this version of tidings (0016_compact_key_tables); a large store takes "
        "a while, once"]
    db = sqlite3.connect(path)
    made = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE name IN ('item_keys', 'item_bands')"))
    after = {table: sorted(db.execute(f"SELECT * FROM {table}")) for table in ("item_keys", "item_bands")}
    indexes = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'item_bands'").fetchall()
    db.close()
    assert all("WITHOUT ROWID" in sql for sql in made.values()) and indexes == []
    assert after == before
    copy = entry(3, url="https://mirror.example/2", title=entry(2).title, text=text + " Updated.")  # syndicated
    got = store.ingest(mirror, keyed(mirror, copy), NOW, near_threshold=0.8)
    store.close()
    assert got.linked == 1 and got.new == 0  # found by its bands


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder holding a store, then made read-only: by its mode for an ordinary user; for root, whom modes do
    not stop, by a read-only bind mount of it."""
    import os
    import subprocess

    folder = tmp_path / "a volume #1"  # a path that a URL would mangle
    folder.mkdir()
    store = Store(str(folder / "t.db"))
    source = store.upsert_source(Source(url="https://news.example/feed", name="News"), NOW)
    store.ingest(source, keyed(source, entry(1, title="Glacier radar survey")), NOW)
    store.close()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    mount = tmp_path / "mounted"
    mount.mkdir()
    made = subprocess.run(["mount", "--bind", str(folder), str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"running as root without the right to mount, so no folder can be read-only here: "
                    f"{made.stderr.decode(errors='replace').strip()}")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], capture_output=True).returncode != 0:
            pytest.skip("running as root, and a bind mount cannot be made read-only here")
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_store_in_a_read_only_folder_is_read_and_refuses_writes(read_only_folder):
    import os

    assert not os.access(read_only_folder, os.W_OK)
    store = Store(str(read_only_folder / "t.db"))
    try:
        assert [i.title for i in store.items([1])] == ["Glacier radar survey"]
        assert len(search(store, "glacier").hits) == 1
        with pytest.raises(StoreError, match="readonly database"):
            store.upsert_source(Source(url="https://other.example/feed", name="Other"), NOW)
    finally:
        store.close()
    assert sorted(p.name for p in read_only_folder.iterdir()) == ["t.db"]  # nothing written beside it
