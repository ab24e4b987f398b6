"""The write stage: a new revision for every story whose items or verdicts changed, and none for the others.

Whichever writer the config names writes it; every revision then passes the same grounding check. A sentence
that fails it is dropped and logged with the reason. A paraphrasing writer (a language model) whose revision
cannot be had, or keeps too little after the check, gives way to the extractive writer for that revision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from tidings.check.kb import KnowledgeBase
from tidings.config import Settings, WriterSettings
from tidings.errors import StoreError
from tidings.model import Revision
from tidings.store import Store
from tidings.workers import in_processes
from tidings.write import Brief, Writer, WriterUnavailable, get_writer
from tidings.write.grounding import checked_against, grounded, too_little
from tidings.write.revision import BLOCKING, finish, refuted_sentences, same_article

log = logging.getLogger("tidings")
IN_PROCESSES = 32  # stories written by worker processes, when a run revises at least this many
BRIEFS_READ = 50  # stories whose items, claims and latest revision are read from the store at once
REVISIONS_PER_COMMIT = 20  # extractive revisions stored per transaction


@dataclass(frozen=True)
class WriteStats:
    revised: int = 0  # stories that got a new revision
    first: int = 0  # of which, first revisions
    dropped: int = 0  # sentences a writer wrote that the grounding check took out
    fallbacks: int = 0  # revisions the extractive writer wrote because the configured one could not
    requests: int = 0  # made to a model server
    reused: int = 0  # model replies found in the store instead
    tokens: int = 0  # used by the model server, as it counted them


def revise(store: Store, settings: Settings, now: datetime, on_story: Callable[[], None] | None = None,
           names: Mapping[str, str] | None = None, kb: KnowledgeBase | None = None,
           writer_settings: WriterSettings | None = None, stopping: Callable[[], bool] | None = None,
           stories: Sequence[tuple[int, str]] | None = None) -> WriteStats:
    """Write a revision of every story whose items or verdicts changed (`stories`, when the caller has asked the
    store for them already); `stopping()` true leaves the stories not yet written for the next run (a model writer
    may take a while for each)."""
    chosen = get_writer(writer_settings.backend if writer_settings else settings.writer)
    writer: Writer = chosen.for_run(writer_settings, store) if hasattr(chosen, "for_run") else chosen
    fallback = get_writer("extractive")
    checker = _checker(kb) if getattr(writer, "paraphrases", False) else None
    revised = first = dropped = fallbacks = 0
    if stopping is not None and stopping():
        stories = []
    elif stories is None:
        stories = store.stories_to_revise()
    previous_of: dict[int, Revision | None] = {}

    plainly = writer is fallback

    def briefs() -> Iterator[tuple[Brief, dict[int, str]]]:
        # What a story is written from is read for many stories at once: a few queries, not a few per story. The
        # extractive writer gets the notes it took of the items before (decoded where it writes).
        for start in range(0, len(stories), BRIEFS_READ):
            ids = [story_id for story_id, _ in stories[start:start + BRIEFS_READ]]
            latest, items_of = store.latest_revisions(ids), store.stories_items(ids)
            claims_of: dict[int, list] = {}
            item_ids = [i.id for k in ids for i in items_of[k]]
            for claim in store.claims(item_ids):
                claims_of.setdefault(claim.item_id, []).append(claim)
            notes = store.item_notes(item_ids) if plainly else {}
            for story_id in ids:
                previous_of[story_id] = previous = latest.get(story_id)
                items = items_of[story_id]
                claims = [c for item_id in sorted({i.id for i in items}) for c in claims_of.get(item_id, ())]
                yield (Brief(story_id, items, previous, claims, now, settings.max_sentences, names or {}),
                       {i.id: notes[i.id] for i in items if i.id in notes})

    if plainly:
        # Sentences picked from the sources, with nothing to ask of a server: many stories are written by worker
        # processes while this process reads the next stories' items and stores what is written.
        written = in_processes(_written_plainly, briefs(), None, settings.processes, min_tasks=IN_PROCESSES,
                               chunk=2, total=len(stories))
    else:
        written = ((*_written(writer, fallback, brief, checker), {}) for brief, _ in briefs())
    # Revisions are stored a batch per transaction: a commit costs more than storing a revision. A model writer's
    # are stored one by one, as each may have taken a while (its replies are kept in the store anyway).
    batch = REVISIONS_PER_COMMIT if plainly else 1
    new: list[tuple[Revision, str]] = []
    unchanged: list[tuple[int, int, str]] = []
    learned: dict[int, str] = {}

    def store_batch() -> None:
        if new or unchanged:
            store.save_revisions(new, unchanged, learned)
            new.clear()
            unchanged.clear()
            learned.clear()

    try:
        for (story_id, items_hash), (revision, lost, noted) in zip(stories, written, strict=True):
            learned.update(noted)
            previous = previous_of.pop(story_id)
            fallbacks += revision.writer != writer.name
            dropped += lost
            if previous is not None and same_article(previous, revision):
                # What it is written from changed (say, a verdict moved) but the article reads the same.
                unchanged.append((story_id, previous.number, items_hash))
            else:
                new.append((revision, items_hash))
                revised += 1
                first += previous is None
            if len(new) + len(unchanged) >= batch:
                store_batch()
            if on_story:
                on_story()
            if stopping is not None and stopping():
                break
        store_batch()
    except BaseException as exc:
        if not isinstance(exc, StoreError):  # what was written before a writer failed is kept
            store_batch()
        raise
    finally:
        written.close()  # stops the workers, if any are still writing
    return WriteStats(revised=revised, first=first, dropped=dropped, fallbacks=fallbacks,
                      requests=getattr(writer, "requests", 0), reused=getattr(writer, "reused", 0),
                      tokens=getattr(writer, "tokens", 0))


def _written_plainly(_shared, task: tuple[Brief, Mapping[int, str]]) -> tuple[Revision, int, dict[int, str]]:
    """The extractive writer's revision, from the brief and the notes stored of its items: what a worker process
    does. With it, the notes taken now of the items that had none that hold (for the store)."""
    from tidings.write.extractive import notes_of

    brief, stored = task
    notes, learned = notes_of(brief.items, stored)
    extractive = get_writer("extractive")
    return (*_written(extractive, extractive, replace(brief, notes=notes), None), learned)


def _written(writer: Writer, fallback: Writer, brief: Brief, checker) -> tuple[Revision, int]:
    """The writer's revision, checked; or the fallback's, when the writer cannot give one that holds up. With it,
    how many of the writer's sentences the check took out."""
    story = f"story {brief.story_id}"
    try:
        draft = writer.write(brief)
    except Exception as exc:  # noqa: BLE001 - a model writer's failure, whatever it is, costs only its revision
        if writer is fallback:
            raise
        told = isinstance(exc, WriterUnavailable)  # a one-line reason of its own; else, what went wrong
        why = str(exc) if told else f"the {writer.name} writer failed ({type(exc).__name__}: {exc})"
        (log.info if told and exc.repeated else log.warning)(
            f"{story}: {why}; the {fallback.name} writer wrote this revision")
        return _written(fallback, fallback, brief, None)[0], 0
    if checker is None:
        revision, bad = grounded(draft, brief.items)
        reasons = [(text, "it is not in the sources it cites") for text in bad]
    else:
        checker.refuted = [c for c in brief.claims if c.verdict in BLOCKING]
        revision, reasons = checked_against(draft, dict(draft.passages), checker, brief.max_sentences)
    for text, why in reasons:
        log.warning(f"{story}: dropped a sentence of the {writer.name} writer ({why}): {text}")
    if checker is not None and writer is not fallback:
        short = too_little(draft, revision)
        if short:
            log.warning(f"{story}: {short}; the {fallback.name} writer wrote this revision")
            return _written(fallback, fallback, brief, None)[0], len(reasons)
    if reasons or checker is not None:
        # The diff and "what changed" are of the sentences that stand.
        revision = finish(replace(revision, dropped=tuple(reasons)), brief.previous, brief.items,
                          refuted_sentences(brief.claims))
    return revision, len(reasons)


def _checker(kb: KnowledgeBase | None):
    """The sentence-by-sentence check for paraphrasing writers, with sentence embeddings when installed."""
    from tidings import semantic
    from tidings.write.support import SupportChecker

    vectoriser = semantic.SemanticVectoriser() if semantic.available() else None
    return SupportChecker(kb, (), vectoriser)
