"""The store: the only part of tidings that reads and writes the database."""

from tidings.store.store import (
    ClusterOutcome,
    IngestCounts,
    NewStory,
    SourceRead,
    Store,
    StoryState,
    missing_store,
)

__all__ = ["ClusterOutcome", "IngestCounts", "NewStory", "SourceRead", "Store", "StoryState", "missing_store"]
