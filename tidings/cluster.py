"""Routing items to digests and assigning them to stories, one item at a time.

A new item joins the most similar active story of its digest (TF-IDF cosine against the story's profile, among
stories whose newest item is inside the time window, above the configured threshold) or starts a new story.
Candidate stories come from an inverted index on terms, so an item is never compared with every story.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tidings.config import Settings
from tidings.embed import LexicalVectoriser, Vector, cosine, merge_counts
from tidings.model import Digest, Item, Source
from tidings.store import Placement, Store, StoryState

CANDIDATE_TERMS = 12  # an item looks up stories through its strongest terms only
BATCH = 500  # items placed per transaction


@dataclass
class _Story:
    state: StoryState
    vector: Vector | None = None  # weighted profile, recomputed when the story grows


@dataclass
class StoryIndex:
    """Active stories of all digests with an inverted index from terms to stories."""

    vectoriser: LexicalVectoriser
    stories: dict[int, _Story] = field(default_factory=dict)
    by_term: dict[str, set[int]] = field(default_factory=dict)

    def add(self, state: StoryState) -> None:
        self.stories[state.id] = _Story(state)
        for term in state.centroid:
            self.by_term.setdefault(term, set()).add(state.id)

    def best(self, digest: str, vector: Vector, not_before: datetime) -> tuple[int | None, float]:
        strongest = sorted(vector, key=vector.get, reverse=True)[:CANDIDATE_TERMS]
        candidates = set().union(*(self.by_term.get(t, ()) for t in strongest)) if strongest else set()
        best_id, best_score = None, 0.0
        for story_id in candidates:
            story = self.stories[story_id]
            if story.state.digest != digest or story.state.last_item < not_before:
                continue
            if story.vector is None:
                story.vector = self.vectoriser.weigh(story.state.centroid)
            score = cosine(vector, story.vector)
            if score > best_score or (score == best_score and best_id is not None and story_id < best_id):
                best_id, best_score = story_id, score
        return best_id, best_score


@dataclass(frozen=True)
class ClusterStats:
    items: int = 0
    joined: int = 0
    new_stories: int = 0
    unrouted: int = 0


def digest_profiles(digests: Sequence[Digest], vectoriser: LexicalVectoriser) -> dict[str, dict[str, float]]:
    """Term counts describing each digest: its title, description and keywords."""
    return {d.slug: vectoriser.counts(d.title + " " + " ".join(d.keywords), d.description) for d in digests}


def assign(store: Store, settings: Settings, digests: Sequence[Digest], sources: Sequence[Source],
           now: datetime, on_item: Callable[[], None] | None = None) -> ClusterStats:
    """Place every item not yet placed into stories of the digests it belongs to."""
    items = store.unrouted_items()
    if not items or not digests:
        return ClusterStats(unrouted=len(items))
    documents, df = store.term_stats()
    vectoriser = LexicalVectoriser(documents, df)
    window = timedelta(days=settings.story_window_days)
    index = StoryIndex(vectoriser)
    for state in store.active_stories(since=min(i.published for i in items) - window):
        index.add(state)
    profiles = digest_profiles(digests, vectoriser)
    source_digests = {s.id: s.digests for s in sources}
    all_slugs = tuple(d.slug for d in digests)
    joined = created = unrouted = 0
    for start in range(0, len(items), BATCH):
        with store.placing() as batch:
            for item in items[start:start + BATCH]:
                placed = _place(item, vectoriser, index, profiles, source_digests, all_slugs, window, settings)
                story_ids = batch.place(item.id, placed.placements, placed.terms, now)
                for p, story_id in zip(placed.placements, story_ids, strict=True):
                    size = index.stories[story_id].state.size + 1 if p.story_id else 1
                    index.add(StoryState(story_id, p.digest, p.centroid, p.last_item, size))
                joined += sum(1 for p in placed.placements if p.story_id is not None)
                created += sum(1 for p in placed.placements if p.story_id is None)
                unrouted += not placed.placements
                if on_item:
                    on_item()
    return ClusterStats(items=len(items), joined=joined, new_stories=created, unrouted=unrouted)


@dataclass(frozen=True)
class _Placed:
    placements: tuple[Placement, ...]
    terms: tuple[str, ...]


def _place(item: Item, vectoriser: LexicalVectoriser, index: StoryIndex, profiles: dict[str, dict[str, float]],
           source_digests: dict[int, tuple[str, ...]], all_slugs: tuple[str, ...], window: timedelta,
           settings: Settings) -> _Placed:
    """Decide where one item goes: in each digest it fits, the best story above threshold or a new one."""
    counts = vectoriser.counts(item.title, item.text)
    vectoriser.add(counts)
    vector = vectoriser.weigh(counts)
    candidates = _candidate_digests(item, source_digests, all_slugs)
    placements = []
    for slug in candidates:
        story_id, score = index.best(slug, vector, item.published - window)
        fit = max(score, cosine(vector, vectoriser.weigh(profiles[slug])))
        # A source that names a single digest has routed its items already; otherwise the item must fit.
        if len(candidates) > 1 and fit < settings.route_threshold:
            continue
        if story_id is not None and score >= settings.cluster_threshold:
            state = index.stories[story_id].state
            placements.append(Placement(slug, story_id, score, merge_counts(state.centroid, counts),
                                        max(state.last_item, item.published)))
        else:
            placements.append(Placement(slug, None, 1.0, merge_counts({}, counts), item.published, item.title))
    return _Placed(tuple(placements), tuple(counts))


def _candidate_digests(item: Item, source_digests: dict[int, tuple[str, ...]], all_slugs: tuple[str, ...]
                       ) -> tuple[str, ...]:
    named: list[str] = []
    for source_id in item.source_ids:
        listed = source_digests.get(source_id) or all_slugs  # a source that names none feeds every digest
        named.extend(s for s in listed if s in all_slugs)
    return tuple(dict.fromkeys(named)) or all_slugs
