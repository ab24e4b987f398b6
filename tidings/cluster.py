"""The cluster stage: route new items to digests and place them into stories that last across days.

Per digest, the stories still taking items (newest item inside the time window) are loaded with their members,
and dormant ones (quiet longer, but inside the revival window) with their profile only; the new items stream
through `StoryClusterer` in publication order; its maintenance pass may move items, merge or split stories; the
outcome is written in one transaction. A merged story redirects to the one that absorbed it; a split is recorded
as an event; a dormant story that takes a new item is revived, and that is recorded too.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tidings.config import Settings
from tidings.embed import LexicalVectoriser, Vocabulary
from tidings.model import Digest, Item, Source
from tidings.store import ClusterOutcome, NewStory, Store

if TYPE_CHECKING:
    from tidings.clusterer import ClusterParams, StoryClusterer

DAY = 86400.0
ITEM_INDEX_TERMS = 12  # a new item looks for stories to join by this many of its strongest terms
FEW_ITEMS = 200  # items a run places that `_revivable` scores one by one rather than as matrices
CANDIDATE_SHARE = 0.25  # of the threshold for reviving, that those terms alone must reach to load a dormant story
_counts = LexicalVectoriser().counts  # title words count twice: a title says what an article is about


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Hold Python's cycle collector off while many items are placed and tidied. The clusterer makes no
    reference cycles (its vectors are dicts of numbers, its stories arrays), so each collection would only walk its
    growing heap, and everything else the process holds: a tenth of a streaming run's time. The switch is the
    whole process's: another thread's cycles (a server's) wait too, and are collected when collections resume
    afterwards."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(frozen=True)
class ClusterStats:
    items: int = 0
    joined: int = 0
    new_stories: int = 0
    unrouted: int = 0
    merges: int = 0
    splits: int = 0
    revivals: int = 0
    moved: int = 0


def params(settings: Settings) -> ClusterParams:
    from tidings.clusterer import ClusterParams

    return ClusterParams(join=settings.cluster_threshold, revive=settings.revive_threshold)


def assign(store: Store, settings: Settings, digests: Sequence[Digest], sources: Sequence[Source],
           now: datetime, on_item: Callable[[], None] | None = None, items: Sequence[Item] | None = None
           ) -> ClusterStats:
    """Place every item not yet placed (unless the caller has read them: `items`) into stories of the digests it
    belongs to."""
    items = store.unrouted_items() if items is None else items
    if not items or not digests:
        return ClusterStats(unrouted=len(items))
    _preload_maintenance()
    with no_cycle_collection():  # the clusterer makes no reference cycles: see there
        return _place(store, settings, digests, sources, now, on_item, items)


def _preload_maintenance() -> None:
    """Import the clusterer and its maintenance pass (numpy and scipy: a few tenths of a second) in a thread while
    the stage reads the store, which lets go of the interpreter while SQLite works; the stage's own import waits
    for it."""
    def load() -> None:
        with contextlib.suppress(Exception):  # the stage imports it again, and reports what is wrong then
            import tidings.maintenance  # noqa: F401

    threading.Thread(target=load, name="tidings-preload", daemon=True).start()


def _place(store: Store, settings: Settings, digests: Sequence[Digest], sources: Sequence[Source],
           now: datetime, on_item: Callable[[], None] | None, items: Sequence[Item]) -> ClusterStats:
    from tidings.clusterer import StoryClusterer, dot

    item_counts = [_counts(i.title, i.text) for i in items]
    new_terms = {term for counts in item_counts for term in counts}
    documents, df, size = store.term_stats(new_terms)
    window = settings.story_window_days * DAY
    earliest = min(i.published for i in items)
    source_digests = {s.id: s.digests for s in sources}
    all_slugs = tuple(d.slug for d in digests)
    routes = [_candidate_digests(item, source_digests, all_slugs) for item in items]
    # Only the digests these items may go to: their stories are loaded, the others' are left in the store.
    wanted = set().union(*routes)
    # Every story still taking items is loaded; of the dormant ones, those the store's index says may be revived.
    live_since = earliest - timedelta(days=settings.story_window_days)
    revive_since = earliest - timedelta(days=settings.revive_within_days)
    active = store.active_stories(live_since, digests=wanted, profiles=False)  # made from their members
    dormant = _revivable(store, Vocabulary(documents, df, size), item_counts, revive_since, live_since, settings)
    loaded = active + store.active_stories(revive_since, ids=set(dormant) - {s.id for s in active}, digests=wanted)
    members = store.story_members([s.id for s in active])
    member_counts: dict[int, dict[str, float]] = {}
    counted: dict[int, dict[str, float]] = {}  # members the store kept no counts for (stored before it kept them)
    for group in members.values():
        for m in group:
            if m.terms is None:
                member_counts[m.id] = counted[m.id] = _counts(m.title, m.text or "")
            else:
                member_counts[m.id] = m.terms
    df |= store.document_frequencies(set().union(*member_counts.values()) - new_terms)
    vocabulary = Vocabulary(documents, df, size)
    engines = {d.slug: StoryClusterer(vocabulary, params(settings), window) for d in digests if d.slug in wanted}
    before: dict[tuple[str, int], int] = {}  # (digest, item) -> story, for items already placed
    last_seen: dict[int, datetime] = {}
    for story in loaded:
        engine = engines[story.digest]  # every loaded story is of a digest the items may go to
        last_seen[story.id] = story.last_item
        if story.id in members:
            engine.load_story(story.id, [(m.id, member_counts[m.id], _ts(m.published)) for m in members[story.id]],
                              last=_ts(story.last_item))
            before.update({(story.digest, m.id): story.id for m in members[story.id]})
        else:
            engine.load_story(story.id, centroid=story.centroid, last=_ts(story.last_item))
    profiles = {d.slug: vocabulary.vector(_counts(d.title + " " + " ".join(d.keywords), d.description))
                for d in digests if d.slug in wanted}
    known = {i.id: (i.title, i.published) for i in items} | \
        {m.id: (m.title, m.published) for group in members.values() for m in group}
    for engine in engines.values():
        engine.settle()  # the loaded stories weighed with the vocabulary as the store holds it
    placed_in: dict[int, list[str]] = {}
    term_counts: Counter[str] = Counter()
    unrouted = 0
    # Items go to a digest's clusterer in batches (see `StoryClusterer.add_many`); a digest's batch is placed
    # before an item is compared with its stories, so each item sees what the items before it did.
    queued: dict[str, list[tuple[int, dict[str, float], float, dict[str, float]]]] = {}

    def place(slug: str) -> None:
        if slug in queued:
            keys, counts, times, vectors = zip(*queued.pop(slug), strict=True)
            engines[slug].add_many(keys, counts, times, observe=False, vectors=vectors)

    for item, counts, candidates in zip(items, item_counts, routes, strict=True):
        vocabulary.observe(counts)
        term_counts.update(counts.keys())
        vector = vocabulary.vector(counts)
        # A source that names a single digest has routed its items already; otherwise the item must fit.
        if len(candidates) == 1:
            chosen = list(candidates)
        else:
            chosen = []
            for slug in candidates:
                place(slug)
                if max(dot(vector, profiles[slug]), engines[slug].closest(vector, _ts(item.published))) \
                        >= settings.route_threshold:
                    chosen.append(slug)
        for slug in chosen:
            queued.setdefault(slug, []).append((item.id, counts, _ts(item.published), vector))
        placed_in[item.id] = chosen
        unrouted += not chosen
        if on_item:
            on_item()
    for slug in list(queued):
        place(slug)
    outcome = ClusterOutcome(routed=[i.id for i in items], term_counts=dict(term_counts),
                             item_terms={i.id: c for i, c in zip(items, item_counts, strict=True)} | counted)
    stats = Counter()
    for slug, engine in engines.items():
        engine.maintain()
        _record(engine, slug, before, last_seen, known, window, outcome, stats)
    store.apply_clustering(outcome, now)
    return ClusterStats(items=len(items), joined=stats["joined"], new_stories=len(outcome.new_stories),
                        unrouted=unrouted, merges=len(outcome.merged), splits=stats["split"],
                        revivals=stats["revive"], moved=len(outcome.moves))


def _record(engine: StoryClusterer, digest: str, before: dict[tuple[str, int], int],
            last_seen: dict[int, datetime], items: dict[int, tuple[str, datetime]], window: float,
            outcome: ClusterOutcome, stats: Counter) -> None:
    """Turn one digest's final stories into store changes: only what differs from what was stored."""
    final = engine.stories()
    refs: dict[int, int | str] = {}
    for k, keys in final.items():
        known = engine.story_keys[k]
        if known is not None:
            refs[k] = known
        elif keys:
            refs[k] = f"{digest}:{k}"
            first = min(keys, key=lambda i: (items[i][1], i))
            title, published = items[first]
            outcome.new_stories[refs[k]] = NewStory(digest, title, {}, published)
    had: dict[int, set[int]] = {}
    for (slug, item_id), story_id in before.items():
        if slug == digest:
            had.setdefault(story_id, set()).add(item_id)
    for k, keys in final.items():
        ref = refs.get(k)
        if ref is None or isinstance(ref, int) and set(keys) == had.get(ref, set()):
            continue  # a stored story that neither took nor lost items is left as it is
        centroid = _trim(engine.centroid(k))
        newest = max([items[i][1] for i in keys] + ([last_seen[ref]] if ref in last_seen else []))
        if isinstance(ref, str):
            story = outcome.new_stories[ref]
            outcome.new_stories[ref] = NewStory(story.digest, story.title, centroid, newest)
            came_from = Counter(before[(digest, i)] for i in keys if (digest, i) in before)
            if came_from:
                origin, _ = came_from.most_common(1)[0]
                outcome.events.append(("split", origin, ref, f"{len(keys)} items"))
                stats["split"] += 1
        else:
            outcome.profiles[ref] = (centroid, newest)
            dormant_until = last_seen.get(ref)
            fresh = [i for i in keys if (digest, i) not in before]
            if dormant_until is not None and fresh and \
                    min(items[i][1] for i in fresh).timestamp() - dormant_until.timestamp() > window:
                outcome.events.append(("revive", ref, fresh[0], f"quiet since {dormant_until:%Y-%m-%d}"))
                stats["revive"] += 1
        for item_id in keys:
            was = before.get((digest, item_id))
            if was is None:
                outcome.placements.append((item_id, digest, ref, 1.0))
                stats["joined"] += 1
            elif was != ref:
                outcome.moves.append((item_id, digest, ref, 1.0))
    # A stored story that lost all its items went into the story that took most of them.
    landed: dict[int, Counter] = {}
    for k, keys in final.items():
        for item_id in keys:
            was = before.get((digest, item_id))
            if was is not None and was != refs.get(k):
                landed.setdefault(was, Counter())[refs[k]] += 1
    still_there = {engine.story_keys[k] for k, keys in final.items() if keys}
    for story_id, where in landed.items():
        if story_id not in still_there:
            into, _ = where.most_common(1)[0]
            outcome.merged[story_id] = into
            outcome.events.append(("merge", story_id, into, f"{sum(where.values())} items"))


def _revivable(store: Store, vocabulary: Vocabulary, item_counts: list[dict[str, float]], since: datetime,
               until: datetime, settings: Settings) -> list[int]:
    """The dormant stories the new items may revive, found through the store's index instead of loading every
    one: each item's strongest terms, looked up among the strongest terms of the stories, give a part of its
    cosine with each of them; a story is loaded when that part reaches CANDIDATE_SHARE of the threshold for
    reviving. (Stories still taking items are all loaded.)"""
    if not store.any_story_between(since, until):
        return []  # nothing dormant to revive (a new store, or one that runs often): no vectors to make
    vectors = []
    for counts in item_counts:
        vector = vocabulary.vector(counts)
        vectors.append({term: vector[term] for term in
                        sorted(vector, key=lambda term: (-vector[term], term))[:ITEM_INDEX_TERMS]})
    indexed = store.stories_indexed_by(set().union(*vectors), since, until)
    if not indexed:
        return []
    stories = list(indexed)
    floor = CANDIDATE_SHARE * settings.revive_threshold
    return [k for k, part in zip(stories, _best_parts(vectors, indexed, stories), strict=True) if part >= floor]


def _best_parts(vectors: list[dict[str, float]], indexed: dict[int, dict[str, float]], stories: list[int]
                ) -> list[float]:
    """For each story, the largest dot product of its indexed terms with any of the vectors (0 for none): as
    matrices for many vectors; for a poll's few, term by term (the same sums, in the same order, without
    importing scipy)."""
    if len(vectors) > FEW_ITEMS:
        column = {term: j for j, term in enumerate(sorted(set().union(*indexed.values())))}
        items = _matrix([{column[t]: a for t, a in v.items() if t in column} for v in vectors], len(column))
        profiles = _matrix([{column[t]: w for t, w in indexed[k].items()} for k in stories], len(column))
        return (items @ profiles.T).max(axis=0).toarray().ravel().tolist()
    postings: dict[str, list[tuple[int, float]]] = {}
    for k in stories:
        for t, w in indexed[k].items():
            postings.setdefault(t, []).append((k, w))
    best = dict.fromkeys(stories, 0.0)
    for v in vectors:
        part: dict[int, float] = {}
        for t, a in v.items():
            for k, w in postings.get(t, ()):
                part[k] = part.get(k, 0.0) + a * w
        for k, x in part.items():
            if x > best[k]:
                best[k] = x
    return list(best.values())


def _matrix(rows: list[dict[int, float]], width: int):
    from scipy.sparse import csr_matrix

    data = [a for row in rows for a in row.values()]
    columns = [j for row in rows for j in row]
    starts = [0]
    for row in rows:
        starts.append(starts[-1] + len(row))
    return csr_matrix((data, columns, starts), shape=(len(rows), width))


def _trim(centroid: dict[str, float], size: int = 300) -> dict[str, float]:
    """A story's stored profile keeps its strongest terms (a dormant story is matched on these alone)."""
    if len(centroid) <= size:
        return {t: round(a, 6) for t, a in centroid.items() if a > 1e-9}
    return {t: round(a, 6) for t, a in sorted(centroid.items(), key=lambda kv: -kv[1])[:size]}


def _ts(when: datetime) -> float:
    return when.timestamp()


def _candidate_digests(item: Item, source_digests: dict[int, tuple[str, ...]], all_slugs: tuple[str, ...]
                       ) -> tuple[str, ...]:
    named: list[str] = []
    for source_id in item.source_ids:
        listed = source_digests.get(source_id) or all_slugs  # a source that names none feeds every digest
        named.extend(s for s in listed if s in all_slugs)
    return tuple(dict.fromkeys(named)) or all_slugs
