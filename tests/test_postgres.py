"""tidings on PostgreSQL, end to end, against a real server: the pipeline (twice: the second run adds nothing),
publishing, search, the JSON API, the model writer's stored replies, and the migrations recorded."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from tests.chat_server import ChatServer
from tests.conftest import ARTICLE_A, ARTICLE_A2, ARTICLE_B, NOW, make_config, rss
from tests.test_llm_writer import FAITHFUL, article, configure
from tidings.pipeline import opened, run
from tidings.search import search
from tidings.store.migrations import MIGRATIONS
from tidings.web.app import create_app


def corpus(tmp_path):
    (tmp_path / "wire.rss").write_text(rss([
        {"title": "Barrier approved", "link": "https://wire.example/a", "text": ARTICLE_A},
        {"title": "Comet tonight", "link": "https://wire.example/b", "text": ARTICLE_B}]))
    (tmp_path / "courier.rss").write_text(rss([
        {"title": "Barrier work to begin", "link": "https://courier.example/a2", "text": ARTICLE_A2,
         "date": "Fri, 13 Mar 2026 12:00:00 +0000"}], title="Courier"))
    return [{"url": str(tmp_path / "wire.rss"), "name": "Wire"}, {"url": str(tmp_path / "courier.rss"),
                                                                  "name": "Courier"}]


def test_the_pipeline_runs_on_postgresql(tmp_path, postgres_url):
    config = replace(make_config(tmp_path, corpus(tmp_path)), db=postgres_url)
    first = run(config, now=NOW)
    assert first.items_new == 3 and first.revisions >= 2 and not first.errors
    again = run(config, now=NOW)
    assert (again.items_new, again.revisions) == (0, 0)
    with opened(config) as store:
        assert not store.is_sqlite
        stories = store.stories()
        barrier = next(s for s in stories if "arrier" in s.title)
        revision = store.latest_revision(barrier.id)
        assert len(revision.sources) == 2 and revision.sentences()
        # Search, with PostgreSQL's own stemming, spellings and phrases.
        found = search(store, "barriers")
        assert [h.item.title for h in found.hits][:1] in (["Barrier approved"], ["Barrier work to begin"])
        assert "<mark>" in str(found.hits[0].title) + str(found.hits[0].passage)
        assert search(store, '"tidal barrier"').hits and not search(store, '"barrier tidal"').hits
        applied = store.engine.connect().exec_driver_sql("SELECT name FROM migrations").scalars().all()
        assert sorted(applied) == sorted(name for name, _ in MIGRATIONS)
    assert (tmp_path / "site" / "index.html").exists()


def test_the_server_reads_a_postgresql_store(tmp_path, postgres_url):
    config = replace(make_config(tmp_path, corpus(tmp_path)), db=postgres_url)
    run(config, now=NOW)
    with TestClient(create_app(config)) as client:
        listed = client.get("/api/stories").json()
        assert len(listed["stories"]) == 2
        story = client.get(f"/api/stories/{listed['stories'][0]['id']}")
        assert story.status_code == 200 and story.json()["revision"]["writer"] == "extractive"
        assert client.get("/api/search", params={"q": "comet"}).json()["results"]
        assert client.get("/").status_code == 200


def test_the_model_writer_keeps_its_replies_in_postgresql(tmp_path, postgres_url):
    with ChatServer(article(FAITHFUL)) as server:
        config = replace(configure(tmp_path, server.base_url), db=postgres_url)
        stats = run(config, now=NOW)
        assert stats.writer.requests == 1 and stats.writer.fallbacks == 0
        with opened(config) as store:
            revision = store.latest_revision(store.stories()[0].id)
            assert revision.writer == "openai" and [s.text for s in revision.sentences()] == [
                text for _, text, _ in FAITHFUL]
            assert revision.passages
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT count(*) FROM writer_replies").scalar() == 1


def test_an_older_postgresql_store_gets_its_bands_primary_key(tmp_path, postgres_url):
    from sqlalchemy import inspect, text

    from tidings.store import Store

    store = Store(postgres_url)
    with store.engine.begin() as conn:  # as a store made before 0016: no primary key, an index on the band
        conn.execute(text("ALTER TABLE item_bands DROP CONSTRAINT item_bands_pkey"))
        conn.execute(text("CREATE INDEX ix_item_bands_band ON item_bands (band)"))
        conn.execute(text("DELETE FROM migrations WHERE name = '0016_compact_key_tables'"))
    store.close()
    store = Store(postgres_url)
    with store.engine.connect() as conn:
        found = inspect(conn)
        key = found.get_pk_constraint("item_bands")["constrained_columns"]
        indexes = [i["name"] for i in found.get_indexes("item_bands")]
    store.close()
    assert key == ["band", "item_id"] and indexes == []
