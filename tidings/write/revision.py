"""What every writer's revision shares, whoever wrote its sentences: stable citation numbers, the sources list,
the fact check, the sentences that entered and left, and "what changed" in words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from tidings.check.words import claim_words, value_text
from tidings.model import CheckedClaim, CitedSource, FactCheck, Item, Revision
from tidings.text import squash

BLOCKING = ("contradicted", "disputed")  # verdicts under which a sentence is not stated as fact
_VERDICT_ORDER = {"contradicted": 0, "disputed": 1, "single-source": 2, "unverified": 3, "corroborated": 4,
                  "supported": 5}
_NEW_FACTS = 3  # sentences quoted in "what changed"
_QUOTE_WORDS = 14


def numbering(previous: Revision | None, cited_first: Iterable[int], items: Sequence[Item]) -> dict[int, int]:
    """Citation numbers: every item keeps the number it had in the previous revision (numbers are never reused,
    even for an item that left the story); new items take the next numbers, the cited ones first."""
    numbers: dict[int, int] = dict(previous.numbering) if previous and previous.numbering else {}
    if previous and not numbers:  # a revision written before numbers were kept: start from its sources
        numbers = {c.item_id: c.n for c in previous.sources}
    nxt = max(numbers.values(), default=0) + 1
    for item_id in [*cited_first, *(i.id for i in items)]:
        if item_id not in numbers:
            numbers[item_id] = nxt
            nxt += 1
    return numbers


def sources_list(numbers: Mapping[int, int], items: Sequence[Item]) -> tuple[CitedSource, ...]:
    """Every current item under its number, cited or not (a reader sees everything the story was written from)."""
    return tuple(sorted((CitedSource(n=numbers[i.id], item_id=i.id, url=i.url, title=i.title, publisher=i.publisher,
                                     published=i.published, carried_by=tuple(i.publishers[1:])) for i in items),
                        key=lambda c: c.n))


def fact_checks(claims: Sequence[CheckedClaim], numbers: Mapping[int, int],
                names: Mapping[str, str]) -> tuple[FactCheck, ...]:
    """The story's checked claims, the ones a reader must see first (contradicted, disputed) first; a claim stated
    by several items is one entry citing them all."""
    merged: dict[tuple, FactCheck] = {}
    for c in claims:
        key = (squash(c.sentence), c.model, c.attribute, str(c.value))
        n = numbers[c.item_id]
        found = merged.get(key)
        if found is not None:
            merged[key] = FactCheck(**{**found.__dict__, "cites": tuple(sorted({*found.cites, n}))})
            continue
        merged[key] = FactCheck(c.sentence, (n,), c.model, c.attribute, value_text(c.value), c.verdict,
                                tuple((e.fact, e.source) for e in c.evidence), claim_words(c.claim, names),
                                c.attributed_to)
    return tuple(sorted(merged.values(), key=lambda f: (_VERDICT_ORDER.get(f.verdict, 9), min(f.cites))))


def refuted_sentences(claims: Sequence[CheckedClaim]) -> set[str]:
    """The (squashed) sentences whose own claim the checker found contradicted or disputed. A sentence that only
    reports someone else's wrong claim ("a blogger wrote that ...") is not refuted: it reports truly."""
    return {squash(c.sentence) for c in claims if c.verdict in BLOCKING and not c.attributed_to}


def finish(revision: Revision, previous: Revision | None, items: Sequence[Item], refuted: set[str]) -> Revision:
    """The revision with its diff against the previous one and "what changed" in words."""
    before = [s.text for s in previous.sentences()] if previous else []
    after = [s.text for s in revision.sentences()]
    before_set, after_set = set(before), set(after)  # made once, not once a sentence
    added = tuple(t for t in after if t not in before_set)
    removed = tuple(t for t in before if t not in after_set)
    done = Revision(**{**revision.__dict__, "added": added, "removed": removed})
    return Revision(**{**done.__dict__, "changes": describe_changes(previous, done, items, refuted)})


def describe_changes(previous: Revision | None, current: Revision, items: Sequence[Item],
                     refuted: set[str] = frozenset()) -> tuple[str, ...]:
    """What a reader needs to know about how this revision differs from the one before: the sources that joined
    or left, by name; the claims whose verdict changed, and why; the new facts, briefly; a new headline."""
    if previous is None:
        n = len(current.item_ids)
        return (f"First version, from {n} source{'s' * (n != 1)}.",)
    out = []
    by_id = {i.id: i for i in items}
    were, are = set(previous.item_ids), set(current.item_ids)  # made once, not once an item
    joined = [by_id[i] for i in current.item_ids if i not in were and i in by_id]
    if joined:
        out.append("New source" + "s" * (len(joined) > 1) + ": "
                   + "; ".join(f"{i.publisher}, “{i.title}”" for i in joined) + ".")
    gone = [c for c in previous.sources if c.item_id not in are]
    if gone:
        out.append("No longer part of this story: " + "; ".join(f"{c.publisher}, “{c.title}”" for c in gone) + ".")
    verdicts = _verdict_changes(previous, current, refuted)
    out += verdicts
    if not joined and not gone and not verdicts and previous.item_ids == current.item_ids:
        out.append("A source updated its article.")
    added = set(current.added)
    fresh = [s for s in current.sentences() if s.text in added and not s.label]
    if fresh:
        quoted = "; ".join(f"“{_brief(s.text)}”" for s in fresh[:_NEW_FACTS])
        more = f" and {len(fresh) - _NEW_FACTS} more" if len(fresh) > _NEW_FACTS else ""
        out.append(f"New in the article: {quoted}{more}.")
    if current.removed and not fresh:
        out.append(f"{len(current.removed)} sentence{'s' * (len(current.removed) != 1)} taken out.")
    if previous.headline != current.headline:
        out.append(f"Headline changed from “{previous.headline}”.")
    return tuple(out)


def _verdict_changes(previous: Revision, current: Revision, refuted: set[str]) -> list[str]:
    """Each claim whose verdict changed, with why; each sentence taken out because its claim no longer holds."""
    out = []
    before = {(f.sentence, f.model, f.attribute, f.value): f for f in previous.fact_check}
    for f in current.fact_check:
        was = before.get((f.sentence, f.model, f.attribute, f.value))
        if (was.verdict == f.verdict) if was else f.verdict not in BLOCKING:
            continue
        claim = f.claim or claim_words({"model": f.model, "attribute": f.attribute, "value": f.value})
        why = ""
        if f.evidence:
            fact = f.evidence[0][0]
            why = f": {fact}" if f.verdict == "disputed" else f": the knowledge base says {fact}"
        status = f"is now {f.verdict} (was {was.verdict})" if was else f"is {f.verdict}"
        out.append(f"Fact check: “{claim}” {status}{why}.")
    for s in previous.sentences():
        if squash(s.source_text) in refuted:
            out.append(f"Taken out, because its claim is now contradicted or disputed: “{s.text}”")
    return out


def _brief(text: str) -> str:
    words = text.split()
    return " ".join(words[:_QUOTE_WORDS]) + ("…" if len(words) > _QUOTE_WORDS else "")


def same_article(a: Revision, b: Revision) -> bool:
    """Whether two revisions would read the same: then the later one need not be stored."""
    return (a.headline, a.sections, a.sources, a.fact_check) == (b.headline, b.sections, b.sources, b.fact_check)


def writer_note(revision: Revision) -> str:
    """What a reader is told about who wrote the article, when it is not the sources' own sentences ("" then)."""
    if revision.writer == "extractive":
        return ""
    model = f" ({revision.model})" if revision.model else ""
    note = (f"Written by a language model{model} from these sources; each sentence was checked against the sources "
            f"it cites")
    n = len(revision.dropped)
    return note + (f", and {n} that did not hold up {'was' if n == 1 else 'were'} left out." if n else ".")


def numbering_note(revision: Revision) -> str:
    """Why numbers are missing from the sources list, when some are ("" otherwise): a source keeps its number
    from revision to revision (see `numbering`), so one that left leaves a gap."""
    if not revision.sources or max(c.n for c in revision.sources) <= len(revision.sources):
        return ""
    return ("A source keeps its number from one revision to the next, so a missing number is a source that has "
            "since left the story or turned out to be a copy of one listed here (\"also carried by\").")


def domain(url: str) -> str:
    """The web domain a link points to, for labelling evidence links ("arxiv.org")."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")
