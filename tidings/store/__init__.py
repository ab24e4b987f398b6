"""The store: the only part of tidings that reads and writes the database."""

from tidings.store.store import IngestCounts, Placement, PlacementBatch, Store, StoryState

__all__ = ["IngestCounts", "Placement", "PlacementBatch", "Store", "StoryState"]
