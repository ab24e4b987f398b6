"""The check stage: fact-check every new or changed item against the knowledge base and store the verdicts."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from tidings.check.kb import KnowledgeBase
from tidings.check.verify import verify
from tidings.check.words import value_text
from tidings.model import CheckedClaim, Evidence, Item
from tidings.store import Store
from tidings.store.store import CORROBORATION
from tidings.workers import Answers, in_processes

IN_PROCESSES = 400  # items read for claims by worker processes, when there are at least this many
BATCH = 200  # items whose claims are written per transaction
CHECKER_VERSION = 3  # raised when claims are found or worded differently, so stored ones are checked again


@dataclass
class Begun:
    """The check stage begun: the items to check, and their claims being read (by worker processes, when there
    are many, while the run does other work)."""

    items: list[Item]
    claims: Answers[list] | Generator[list, None, None]
    rechecked: int = 0

    def close(self) -> None:
        """Stop the workers, if any are still reading."""
        self.claims.close()


def begin_check(store: Store, kb: KnowledgeBase, processes: int = 0, items: Sequence[Item] | None = None) -> Begun:
    """Find the items to check (unless the caller has read them: `items`) and start reading their claims: in worker
    processes when there are many (`processes`: 0 is one per processor, 1 none), which read them all while the
    caller goes on."""
    rechecked = 0
    fingerprint = f"{CHECKER_VERSION}:{kb.fingerprint}"
    if store.meta("kb_fingerprint") != fingerprint:
        # The KB gained or corrected a fact, or the checker reads claims differently now: every stored verdict
        # may be stale, so every item is checked again.
        rechecked = store.recheck_all(fingerprint)
        if rechecked:
            items = None
    items = store.items_to_check() if items is None else list(items)
    texts = [f"{item.title}.\n\n{item.text}" for item in items]
    # All asked for at once: the answers are small, and the workers read them while the run clusters.
    claims = in_processes(_claims_in, texts, kb, processes, min_tasks=IN_PROCESSES, ahead=len(texts),
                          background=True)
    return Begun(items, claims, rechecked)


def check_items(store: Store, kb: KnowledgeBase, on_item: Callable[[], None] | None = None,
                processes: int = 0, begun: Begun | None = None) -> dict[str, int]:
    """Claims and verdicts for each item not yet checked (those of `begun`, if the stage was begun already),
    stored a batch of items per transaction."""
    begun = begun or begin_check(store, kb, processes)
    counts = {"items": 0, "claims": 0, "contradicted": 0, "rechecked": begun.rechecked}
    batch: list = []
    try:
        for item, read in zip(begun.items, begun.claims, strict=True):
            found = []
            for sentence, claims in read:
                for claim in claims:
                    verdict = verify(claim, kb)
                    found.append(CheckedClaim(item.id, sentence, claim, verdict.verdict, verdict.evidence))
            batch.append((item, found))
            if len(batch) >= BATCH:
                store.save_claims(batch)
                batch = []
            counts["items"] += 1
            counts["claims"] += len(found)
            counts["contradicted"] += sum(c.verdict == "contradicted" for c in found)
            if on_item:
                on_item()
    finally:
        begun.close()
    if batch:
        store.save_claims(batch)
    if counts["items"] or store.meta(CORROBORATION) == "pending":  # pending: a run stopped before settling them
        counts["disputed"] = corroborate(store)
    return counts


def _claims_in(kb: KnowledgeBase, text: str) -> list:
    from tidings.check.claims import claims_in  # its patterns take a while to build: only when needed

    return claims_in(text, kb)


OPEN_VERDICTS = ("unverified", "single-source", "corroborated", "disputed")  # what the KB could not settle


def corroborate(store: Store) -> int:
    """Settle what the KB cannot among the sources: a claim stated by two or more publishers (by web domain)
    is corroborated, one stated by a single publisher is single-source, and one that another publisher states
    with a different figure is disputed, with the other statements as evidence. Returns the disputed count."""
    # What a sentence only reports someone saying is not a source's own statement: it corroborates nothing.
    claims = [c for c in store.claims(verdicts=OPEN_VERDICTS) if not c.attributed_to]
    domains = {i.id: (urlsplit(i.url).hostname or i.publisher).removeprefix("www.")
               for i in store.items({c.item_id for c in claims})}
    groups: dict[tuple[str, str], list[CheckedClaim]] = {}
    for c in claims:
        groups.setdefault((c.model, c.attribute), []).append(c)
    changes = []
    for group in groups.values():
        # A claim's standing depends only on its value and its publisher's domain, which many claims of a group
        # share (the same figure, stated again by the same site): each (value, domain) is settled once. The value
        # is keyed by its type and exact spelling, so no two values `_agree` could tell apart share an answer.
        settled: dict[tuple[type, str, str], tuple[str, tuple[Evidence, ...]]] = {}
        for c in group:
            mine = domains[c.item_id]
            key = (type(c.value), repr(c.value), mine)
            if key not in settled:
                settled[key] = _standing(c.value, mine, group, domains)
            verdict, evidence = settled[key]
            if verdict != c.verdict:
                changes.append((c.id, verdict, evidence))
    store.set_verdicts(changes)
    return sum(1 for _, v, _ in changes if v == "disputed")


def _standing(value: str | float, mine: str, group: list[CheckedClaim], domains: dict[int, str]
              ) -> tuple[str, tuple[Evidence, ...]]:
    """The verdict and evidence among the sources for a claim of `group` stating `value`, published at `mine`."""
    same = {domains[o.item_id] for o in group if _agree(o.value, value)}
    other = [o for o in group if not _agree(o.value, value) and domains[o.item_id] != mine]
    if other:
        return "disputed", tuple(Evidence(f"{domains[o.item_id]} states {value_text(o.value)}: {o.sentence}")
                                 for o in other[:3])
    if len(same) >= 2:
        return "corroborated", tuple(Evidence(f"also stated by {d}") for d in sorted(same - {mine})[:3])
    return "single-source", ()


def _agree(a: str | float, b: str | float) -> bool:
    try:
        x, y = float(a), float(b)
    except ValueError:
        return str(a) == str(b)
    return abs(x - y) <= 0.02 * max(abs(x), abs(y), 1e-9)
