"""Tables, as SQLAlchemy Core metadata shared by SQLite and PostgreSQL.

Times are stored as naive UTC; `tidings.store` converts at the edge.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

migrations = Table(
    "migrations", metadata,
    Column("name", String(200), primary_key=True),
    Column("applied", DateTime, nullable=False),
)

digests = Table(
    "digests", metadata,
    Column("slug", String(100), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("keywords", JSON, nullable=False, default=list),
)

sources = Table(
    "sources", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False, default=""),
    Column("digests", JSON, nullable=False, default=list),
    Column("credibility", Float),
    Column("status", String(20), nullable=False, default="new"),
    Column("last_error", Text),
    Column("last_fetched", DateTime),
    Column("content_hash", String(64)),  # of the last body read: an unchanged source is skipped
    Column("etag", Text),
    Column("last_modified", Text),
    Column("created", DateTime, nullable=False),
    Column("origin", String(20), nullable=False, server_default="cli"),  # config | cli: who named it
    Column("title", Text, nullable=False, server_default=""),  # the feed's own title, shown when name is empty
    # What the source is (feed | page; "" until its first read tells), and its polling state.
    Column("kind", String(20), nullable=False, server_default=""),
    Column("next_check", DateTime),  # not read by a scheduled run before this; NULL: due now
    Column("check_interval", Float),  # seconds between reads while it is healthy
    Column("consecutive_errors", Integer, nullable=False, server_default="0"),
    Column("last_success", DateTime),
    # Fingerprints of the raw entries of the last stored read, space-separated: an entry the feed still carries
    # unchanged is not converted, keyed and matched again.
    Column("entry_prints", Text),
)

items = Table(
    "items", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("publisher", Text, nullable=False),
    Column("author", Text),
    Column("published", DateTime, nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("note", Text),  # e.g. why the full text could not be fetched
    Column("routed", DateTime),  # when the cluster stage placed it; NULL = not yet
    Column("checked", String(64)),  # content hash of the text last fact-checked; NULL = never
    Column("origin_source", Integer, ForeignKey("sources.id", ondelete="SET NULL")),
    # The words the clusterer counts in the title and text, as JSON, kept by the cluster stage that read them, so
    # a later run loads a live story's members without reading their texts again. NULL: not counted yet, or the
    # text changed since. (The store's document frequencies already assume the same reading of words.)
    Column("terms", Text),
    Index("ix_items_routed", "routed"),
)

# Every key under which an item is known: canonical URL, GUID, content hash. One row per key, so
# finding an item by any of them is one indexed lookup.
item_keys = Table(
    "item_keys", metadata,
    Column("key", Text, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    sqlite_with_rowid=False,  # one B-tree by key, not a table and an index on it: smaller, faster to fill and ask
)

# What the extractive writer found in an item's sentences (`tidings.write.notes`), as JSON, kept by the write stage
# so a story's next revision does not analyse its older items again. The notes say which text and code made them.
item_notes = Table(
    "item_notes", metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("notes", Text, nullable=False),
)

# MinHash signatures and their LSH bands: candidates for near-duplicate folding.
item_signatures = Table(
    "item_signatures", metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("signature", LargeBinary, nullable=False),
)

item_bands = Table(
    "item_bands", metadata,
    Column("band", String(40), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    sqlite_with_rowid=False,  # 32 rows an item, found by band: one B-tree in band order, half the size
)

item_sources = Table(
    "item_sources", metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("entry_url", Text, nullable=False),
    Column("publisher", Text, nullable=False),
    Column("first_seen", DateTime, nullable=False),
)

# Document frequencies for TF-IDF, kept up to date one item at a time.
terms = Table(
    "terms", metadata,
    Column("term", String(200), primary_key=True),
    Column("df", Integer, nullable=False),
)

# Small named values the stages remember between runs (the knowledge base's fingerprint, ...).
meta = Table(
    "meta", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

counters = Table(
    "counters", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Integer, nullable=False),
)

stories = Table(
    "stories", metadata,
    Column("id", Integer, primary_key=True),
    Column("digest", String(100), ForeignKey("digests.slug", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("created", DateTime, nullable=False),
    Column("updated", DateTime, nullable=False),
    Column("last_item", DateTime, nullable=False),  # publication time of its newest item: the time window
    Column("centroid", JSON, nullable=False),  # summed term weights of its items
    Column("status", String(20), nullable=False, server_default="active"),  # active | merged
    Column("merged_into", Integer),  # a merged story's page redirects here
    Index("ix_stories_digest_last", "digest", "last_item"),
    # What the server asks on every request: the newest update, the live stories newest first, the merged ones.
    Index("ix_stories_status_updated", "status", "updated", "id"),
    Index("ix_stories_updated", "updated"),
    Index("ix_stories_status_last", "status", "last_item"),  # the stories still taking items, for each run
    # Partial on SQLite (most stories are not merged). Not on PostgreSQL: naming its options would load its
    # dialect into every process, a SQLite one included; there the index holds every story.
    Index("ix_stories_merged", "merged_into", sqlite_where=text("merged_into IS NOT NULL")),
    # What each publish compares (`Store.story_versions`), read from indexes alone: the rows hold centroids.
    Index("ix_stories_versions", "digest", "status", "id", "created", "updated"),
)

# Claims found in items and what the checker made of them.
claims = Table(
    "claims", metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("sentence", Text, nullable=False),
    Column("model", String(100), nullable=False),
    Column("attribute", String(40), nullable=False),
    Column("value", Text, nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("setting", Text, nullable=False, server_default=""),  # a score's evaluation setting, as stated
    Column("attributed_to", Text, nullable=False, server_default=""),  # who the sentence reports as claiming it
    Index("ix_claims_item", "item_id"),
    # Every publish lists the contradicted and disputed claims: a few among many.
    Index("ix_claims_verdict", "verdict", "item_id"),
)

# Merges, splits and revivals, so that a story's history (and its old URLs) can be followed.
story_events = Table(
    "story_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),  # merge | split | revive
    Column("story_id", Integer, nullable=False),  # merge: the story that went; split: the one that was split
    Column("other_id", Integer, nullable=False),  # merge: where it went; split: the new story
    Column("created", DateTime, nullable=False),
    Column("detail", Text, nullable=False, default=""),
)

story_items = Table(
    "story_items", metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("digest", String(100), nullable=False),
    Column("score", Float, nullable=False),
    Column("added", DateTime, nullable=False),
    UniqueConstraint("digest", "item_id", name="uq_story_items_digest_item"),
    Index("ix_story_items_members", "digest", "story_id"),  # a digest's stories' member counts (story_versions)
)

revisions = Table(
    "revisions", metadata,
    Column("id", Integer, primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("created", DateTime, nullable=False),
    Column("headline", Text, nullable=False),
    Column("body", JSON, nullable=False),  # {"sections": [...], "sources": [...]}
    Column("item_ids", JSON, nullable=False),
    Column("items_hash", String(64), nullable=False),  # what it was written from: unchanged -> no new revision
    Column("changes", JSON, nullable=False),
    UniqueConstraint("story_id", "number", name="uq_revisions_story_number"),
    Index("ix_revisions_versions", "story_id", "number", "created"),  # the latest revisions, without their bodies
)


# What each site folder was last published from: per story, a signature of what its pages show and its line in
# the digest's list, so a publish renders only the stories that changed.
published_stories = Table(
    "published_stories", metadata,
    Column("site", Text, primary_key=True),  # the site folder's absolute path
    Column("story_id", Integer, primary_key=True),
    Column("signature", String(64), nullable=False),
    Column("listing", JSON, nullable=False),
)


# Stories whose article may no longer match what it is written from (new or moved items, an edited text, new
# claims or verdicts), marked in the transaction that changes them; the write stage looks at these alone.
# A story's strongest terms, to find the stories a new item may join without loading every story's profile.
story_terms = Table(
    "story_terms", metadata,
    Column("term", String(200), primary_key=True),
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
    Column("weight", Float, nullable=False),  # the term's share of the story's profile (its length is 1)
    Index("ix_story_terms_story", "story_id"),
    # A term's postings with their weights, from the index alone (`Store.stories_indexed_by` reads thousands).
    Index("ix_story_terms_postings", "term", "story_id", "weight"),
)

stale_stories = Table(
    "stale_stories", metadata,
    Column("story_id", Integer, ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True),
)


# What a model writer was asked and answered, under the request's content hash: the same request is never sent
# twice (a re-run, a rebuild), and what an article was written from stays on record.
writer_replies = Table(
    "writer_replies", metadata,
    Column("hash", String(64), primary_key=True),
    Column("model", Text, nullable=False),
    Column("request", JSON, nullable=False),  # the chat messages (no key: it is never part of a request body)
    Column("reply", Text, nullable=False),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("created", DateTime, nullable=False),
)
