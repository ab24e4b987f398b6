"""Named schema migrations, applied in order, each once, each in its own transaction.

A migration added later must not assume the tables were made by an older `schema.py`: `0001_initial` creates
tables from the current metadata, so later migrations check before they alter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, MetaData, inspect, select, text

from tidings.store import schema


def _initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


def _full_text_search(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL searches with tsvector expressions; nothing to create up front
    conn.execute(text(
        "CREATE VIRTUAL TABLE items_fts USING fts5(title, text, content='items', content_rowid='id')"))
    conn.execute(text(
        "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
        "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END"))
    conn.execute(text(
        "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
        "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END"))
    conn.execute(text(
        "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items BEGIN "
        "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
        "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END"))
    # Revisions never change once written, so their index is filled by the store as it writes them.
    conn.execute(text("CREATE VIRTUAL TABLE revisions_fts USING fts5(headline, body)"))


def _near_duplicates_and_continuity(conn: Connection) -> None:
    """MinHash tables, story status and redirects, story events (a database made by 0001 may have them)."""
    for table in (schema.item_signatures, schema.item_bands, schema.story_events):
        table.create(conn, checkfirst=True)
    columns = {c["name"] for c in inspect(conn).get_columns("stories")}
    if "status" not in columns:
        conn.execute(text("ALTER TABLE stories ADD COLUMN status VARCHAR(20) NOT NULL DEFAULT 'active'"))
    if "merged_into" not in columns:
        conn.execute(text("ALTER TABLE stories ADD COLUMN merged_into INTEGER"))


def _claims(conn: Connection) -> None:
    schema.claims.create(conn, checkfirst=True)
    if "checked" not in {c["name"] for c in inspect(conn).get_columns("items")}:
        conn.execute(text("ALTER TABLE items ADD COLUMN checked VARCHAR(64)"))


def _source_origin_and_meta(conn: Connection) -> None:
    """Who named each source (the config or the CLI) and its feed's title; a table of named values."""
    schema.meta.create(conn, checkfirst=True)
    columns = {c["name"] for c in inspect(conn).get_columns("sources")}
    if "origin" not in columns:
        conn.execute(text("ALTER TABLE sources ADD COLUMN origin VARCHAR(20) NOT NULL DEFAULT 'cli'"))
    if "title" not in columns:
        conn.execute(text("ALTER TABLE sources ADD COLUMN title TEXT NOT NULL DEFAULT ''"))


def _claim_qualifiers(conn: Connection) -> None:
    """A claim's setting and who it is attributed to; claims are re-read, so every item is checked again."""
    columns = {c["name"] for c in inspect(conn).get_columns("claims")}
    if "setting" not in columns:
        conn.execute(text("ALTER TABLE claims ADD COLUMN setting TEXT NOT NULL DEFAULT ''"))
    if "attributed_to" not in columns:
        conn.execute(text("ALTER TABLE claims ADD COLUMN attributed_to TEXT NOT NULL DEFAULT ''"))


def _source_polling(conn: Connection) -> None:
    """Each source's kind and polling state: when to read it next, how often, and how many reads failed."""
    columns = {c["name"] for c in inspect(conn).get_columns("sources")}
    added = {"kind": "VARCHAR(20) NOT NULL DEFAULT ''", "next_check": "TIMESTAMP",
             "check_interval": "FLOAT", "consecutive_errors": "INTEGER NOT NULL DEFAULT 0",
             "last_success": "TIMESTAMP"}
    for name, kind in added.items():
        if name not in columns:
            conn.execute(text(f"ALTER TABLE sources ADD COLUMN {name} {kind}"))
    # A source that was read well before polling state existed had its last success then.
    conn.execute(text("UPDATE sources SET last_success = last_fetched WHERE status IN ('ok', 'warning')"))


def _published_stories(conn: Connection) -> None:
    """What each site folder was last published from, so publishing renders only what changed."""
    schema.published_stories.create(conn, checkfirst=True)


def _stale_stories(conn: Connection) -> None:
    """Stories to look at in the write stage; every story once, so the first run after this checks them all."""
    schema.stale_stories.create(conn, checkfirst=True)
    conn.execute(text("INSERT INTO stale_stories (story_id) SELECT id FROM stories WHERE status = 'active'"))


def _story_terms(conn: Connection) -> None:
    """Index each live story by its strongest terms (see `story_index_terms`)."""
    from tidings.store.store import story_index_terms

    schema.story_terms.create(conn, checkfirst=True)
    stories = schema.stories
    rows = [{"term": term, "story_id": story_id, "weight": weight}
            for story_id, centroid in conn.execute(select(stories.c.id, stories.c.centroid)
                                                   .where(stories.c.status == "active"))
            for term, weight in story_index_terms(centroid or {})]
    if rows:
        conn.execute(schema.story_terms.insert(), rows)


def _entry_prints(conn: Connection) -> None:
    """Fingerprints of each feed's entries at its last read (see `ingest.feeds.read_document`)."""
    if "entry_prints" not in {c["name"] for c in inspect(conn).get_columns("sources")}:
        conn.execute(text("ALTER TABLE sources ADD COLUMN entry_prints TEXT"))


def _search_stemming(conn: Connection) -> None:
    """Search by word stems ("licenses" finds "license"), accents folded: the items' index made again with
    FTS5's Porter stemmer. Its triggers name the table, so they keep working on the new one."""
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL's english configuration stems already
    conn.execute(text("DROP TABLE IF EXISTS items_fts"))
    conn.execute(text("CREATE VIRTUAL TABLE items_fts USING fts5(title, text, content='items', content_rowid='id', "
                      "tokenize='porter unicode61 remove_diacritics 2')"))
    conn.execute(text("INSERT INTO items_fts(items_fts) VALUES ('rebuild')"))


def _story_indexes(conn: Connection) -> None:
    """Indexes for what the server asks on every request (see `schema.stories`)."""
    for index in schema.stories.indexes:
        if index.name in ("ix_stories_status_updated", "ix_stories_updated", "ix_stories_merged"):
            index.create(conn, checkfirst=True)


def _story_window_index(conn: Connection) -> None:
    """The live stories still taking items, found by range (else a run would walk the status index row by row)."""
    next(i for i in schema.stories.indexes if i.name == "ix_stories_status_last").create(conn, checkfirst=True)


def _writer_replies(conn: Connection) -> None:
    """The model writer's requests and replies, by content hash (see `schema.writer_replies`)."""
    schema.writer_replies.create(conn, checkfirst=True)


def _compact_key_tables(conn: Connection) -> None:
    """Item keys and LSH bands each in one B-tree ordered by what they are looked up by (see `schema.item_bands`):
    on SQLite, tables without rowids; on PostgreSQL, the bands get their primary key in place of the band index."""
    if conn.dialect.name != "sqlite":
        if not inspect(conn).get_pk_constraint("item_bands")["constrained_columns"]:
            conn.execute(text("ALTER TABLE item_bands ADD PRIMARY KEY (band, item_id)"))
        conn.execute(text("DROP INDEX IF EXISTS ix_item_bands_band"))
        return
    for table in (schema.item_keys, schema.item_bands):
        made = conn.execute(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
                            {"name": table.name}).scalar_one()
        if "WITHOUT ROWID" in made.upper():
            continue  # made by this schema already
        beside = MetaData()
        schema.items.to_metadata(beside)  # what their foreign keys name
        compact = table.to_metadata(beside, name=f"{table.name}_compact")
        compact.create(conn)
        columns = ", ".join(column.name for column in table.c)
        # Only rows whose item exists: a row left behind by an item deleted with foreign keys off (by a tool
        # other than tidings) would fail the new table's foreign key, and the store could not be opened.
        conn.execute(text(f"INSERT OR IGNORE INTO {compact.name} ({columns}) SELECT {columns} FROM {table.name} "
                          f"WHERE item_id IN (SELECT id FROM items) ORDER BY {columns}"))
        conn.execute(text(f"DROP TABLE {table.name}"))
        conn.execute(text(f"ALTER TABLE {compact.name} RENAME TO {table.name}"))


def _story_version_indexes(conn: Connection) -> None:
    """What every publish compares, from indexes alone (see `Store.story_versions`): the stories' and revisions'
    rows are large (centroids, article bodies), and a run that changed nothing should not read them."""
    for table, name in ((schema.stories, "ix_stories_versions"), (schema.story_items, "ix_story_items_members"),
                        (schema.revisions, "ix_revisions_versions")):
        next(i for i in table.indexes if i.name == name).create(conn, checkfirst=True)


def _item_terms(conn: Connection) -> None:
    """Each item's word counts, kept by the cluster stage (see `schema.items`). Items stored before are counted
    from their text when a run next loads them, and kept then."""
    if "terms" not in {c["name"] for c in inspect(conn).get_columns("items")}:
        conn.execute(text("ALTER TABLE items ADD COLUMN terms TEXT"))


def _claims_by_verdict(conn: Connection) -> None:
    """The flagged claims every publish lists, found by their verdict (see `Store.flagged_claims`)."""
    next(i for i in schema.claims.indexes if i.name == "ix_claims_verdict").create(conn, checkfirst=True)


def _story_term_postings(conn: Connection) -> None:
    """The postings a run looks dormant stories up by, read from the index alone (see `schema.story_terms`)."""
    next(i for i in schema.story_terms.indexes if i.name == "ix_story_terms_postings").create(conn, checkfirst=True)


def _pending_items(conn: Connection) -> None:
    """On SQLite, the items still to place or to check, in an index of their own: a run asks for them first, and
    without it reads every item of the store (a fifth of a second at 100,000) to find none or a few. The
    condition is `Store`'s `_pending_work`, as SQLAlchemy writes it. (PostgreSQL finds them by its statistics.)"""
    if conn.dialect.name == "sqlite":
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_items_pending ON items (published, id) "
                          "WHERE routed IS NULL OR checked IS NULL OR checked != content_hash"))


def _item_notes(conn: Connection) -> None:
    """What the writer noted of items' sentences (see `schema.item_notes`): items written about before are noted
    when their story is next written."""
    schema.item_notes.create(conn, checkfirst=True)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_initial", _initial),
    ("0002_full_text_search", _full_text_search),
    ("0003_near_duplicates_and_continuity", _near_duplicates_and_continuity),
    ("0004_claims", _claims),
    ("0005_source_origin_and_meta", _source_origin_and_meta),
    ("0006_claim_qualifiers", _claim_qualifiers),
    ("0007_source_polling", _source_polling),
    ("0008_published_stories", _published_stories),
    ("0009_stale_stories", _stale_stories),
    ("0010_story_terms", _story_terms),
    ("0011_entry_prints", _entry_prints),
    ("0012_search_stemming", _search_stemming),
    ("0013_story_indexes", _story_indexes),
    ("0014_story_window_index", _story_window_index),
    ("0015_writer_replies", _writer_replies),
    ("0016_compact_key_tables", _compact_key_tables),
    ("0017_story_version_indexes", _story_version_indexes),
    ("0018_item_terms", _item_terms),
    ("0019_claims_by_verdict", _claims_by_verdict),
    ("0020_story_term_postings", _story_term_postings),
    ("0021_pending_items", _pending_items),
    ("0022_item_notes", _item_notes),
]


def migrate(conn_factory, announce: Callable[[list[str]], None] | None = None) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now. `announce` is told the names first,
    when a store made by an earlier version has some to apply (some rebuild large tables, which takes a while)."""
    with conn_factory() as conn:
        schema.migrations.create(conn, checkfirst=True)
        done = set(conn.scalars(select(schema.migrations.c.name)))
        conn.commit()
    pending = [name for name, _ in MIGRATIONS if name not in done]
    if done and pending and announce is not None:
        announce(pending)
    applied = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        with conn_factory() as conn:
            if conn.dialect.name == "sqlite":
                # SQLite's driver runs DDL outside any transaction unless one is open: open it, so a migration and
                # its record commit together, and a crash inside one leaves the schema as it was before it.
                conn.exec_driver_sql("BEGIN")
            try:
                step(conn)
                conn.execute(schema.migrations.insert().values(name=name,
                                                               applied=datetime.now(UTC).replace(tzinfo=None)))
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        applied.append(name)
    return applied
