"""The extractive writer: an article made only of sentences taken verbatim from a story's items.

Every sentence is cited to each item that contains it, so attribution is exact by construction. Sections follow
the shape of a digest article: a summary, what is new since the last revision, supporting developments, why it
matters and what to watch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tidings.embed import LexicalVectoriser, Vector, cosine, merge_counts
from tidings.model import CitedSource, FactCheck, Item, Revision, Section, Sentence
from tidings.text import sentences, squash, tokens

SUMMARY, NEW, SUPPORTING, WHY, WATCH = ("Summary", "What's new", "Supporting developments", "Why it matters",
                                        "What to watch")
SECTION_ORDER = (SUMMARY, NEW, SUPPORTING, WHY, WATCH)

_WHY = re.compile(r"\b(because|matters?|means|could|significan\w*|impact\w*|implications?|suggests?|important|"
                  r"risks?|threat\w*|challenge\w*|consequence\w*|signals?|evidence|undercuts?|raises? questions?)\b",
                  re.I)
_WATCH = re.compile(r"\b(will|plans? to|planned|planning|(is|are) expected|expected to|expects? to|"
                    r"next (week|month|year|step)|upcoming|later this|due (to|on|in|next|by)|scheduled|(is|are) set to|"
                    r"intends?|aims? to|to watch|pending|deadline|follow-up)\b", re.I)
# A lede that starts by pointing back at something it does not contain reads badly on its own.
_DANGLING = re.compile(r"^(it|this|that|these|those|he|she|they|his|her|their|its|but|and|so|also|however)\b", re.I)
_TEASER = re.compile(r"(\[\s*(…|\.\.\.)\s*\]|…)\s*$")


@dataclass
class _Candidate:
    text: str
    key: str  # squashed, case-folded form: the same sentence in two items is one candidate
    item: Item  # the item it was first found in
    position: int  # 0 = first sentence of its item
    words: frozenset[str]
    vector: Vector
    score: float = 0.0


def budget(max_sentences: int) -> dict[str, int]:
    """How many sentences each section may take; the summary is always one."""
    rest = max(max_sentences - 1, 0)
    new, why, watch = round(rest * 0.27), round(rest * 0.18), round(rest * 0.18)
    return {SUMMARY: 1, NEW: new, WHY: why, WATCH: watch, SUPPORTING: max(rest - new - why - watch, 0)}


def compose(story_id: int, items: Sequence[Item], previous: Revision | None, now: datetime,
            max_sentences: int = 12, claims: Sequence[dict] = ()) -> Revision:
    """Write the next revision of a story from its items and the checked claims of those items.

    A sentence whose claim the checker found contradicted is never stated as fact: it is left out of the
    article, and the "Fact check" list quotes it with the correction."""
    items = sorted(items, key=lambda i: (i.published, i.id))
    refuted = {squash(c["sentence"]) for c in claims if c["verdict"] in ("contradicted", "disputed")}
    candidates = [c for c in _candidates(items) if squash(c.text) not in refuted]
    centroid = _centroid(candidates)
    for c in candidates:
        c.score = cosine(c.vector, centroid) + (0.12 if c.position == 0 else 0.05 if c.position == 1 else 0.0)
    headline_item = max(items, key=lambda i: (_title_score(i, centroid), -i.published.timestamp()))
    new_ids = _new_item_ids(items, previous)
    limits = budget(max_sentences)
    chosen: dict[str, list[_Candidate]] = {name: [] for name in SECTION_ORDER}
    taken: list[_Candidate] = []

    def pick(section: str, pool: list[_Candidate], per_item: int = 2) -> None:
        for c in sorted(pool, key=lambda c: -c.score):
            if len(chosen[section]) >= limits[section]:
                return
            if c in taken or any(_overlap(c, t) > 0.6 for t in taken):
                continue
            if sum(t.item.id == c.item.id for t in chosen[section]) >= per_item:
                continue
            chosen[section].append(c)
            taken.append(c)

    # The lede is the opening of the article whose headline leads: news writing puts the event first.
    opening = sorted((c for c in candidates if c.item.id == headline_item.id and not _DANGLING.match(c.text)),
                     key=lambda c: c.position)[:1]
    pick(SUMMARY, opening or [c for c in candidates if c.position <= 2 and not _DANGLING.match(c.text)]
         or candidates)
    cued = [c for c in candidates if _WHY.search(c.text) or _WATCH.search(c.text)]
    fresh = [c for c in candidates if c.item.id in new_ids]
    pick(NEW, [c for c in fresh if c not in cued] or fresh, per_item=1)
    pick(WATCH, [c for c in candidates if _WATCH.search(c.text)], per_item=1)
    pick(WHY, [c for c in candidates if _WHY.search(c.text)], per_item=1)
    pick(SUPPORTING, [c for c in candidates if c.item.id not in new_ids] or candidates, per_item=1)

    order = {i.id: n for n, i in enumerate(items)}
    numbers: dict[int, int] = {}
    sections = []
    for name in SECTION_ORDER:
        picked = sorted(chosen[name], key=lambda c: (order[c.item.id], c.position))
        if not picked:
            continue
        out = []
        for c in picked:
            cites = [numbers.setdefault(i.id, len(numbers) + 1) for i in _carriers(c, items)]
            out.append(Sentence(c.text, tuple(sorted(cites))))
        sections.append(Section(name, tuple(out)))
    for item in items:  # every item is listed under Sources, cited or not
        numbers.setdefault(item.id, len(numbers) + 1)
    by_id = {i.id: i for i in items}
    sources = tuple(CitedSource(n=n, item_id=i, url=by_id[i].url, title=by_id[i].title,
                                publisher=by_id[i].publisher, published=by_id[i].published,
                                carried_by=tuple(by_id[i].publishers[1:]))
                    for i, n in sorted(numbers.items(), key=lambda kv: kv[1]))
    checks = []
    for c in sorted(claims, key=lambda c: (c["verdict"] != "contradicted", numbers[c["item_id"]])):
        check = FactCheck(c["sentence"], (numbers[c["item_id"]],), c["model"], c["attribute"], str(c["value"]),
                          c["verdict"], tuple((e["fact"], e["source"]) for e in c["evidence"]))
        if check not in checks:
            checks.append(check)
    revision = Revision(story_id=story_id, number=(previous.number + 1) if previous else 1, created=now,
                        headline=headline_item.title, sections=tuple(sections), sources=sources,
                        item_ids=tuple(i.id for i in items), fact_check=tuple(checks))
    return Revision(**{**revision.__dict__, "changes": describe_changes(previous, revision, by_id, refuted)})


def same_article(a: Revision, b: Revision) -> bool:
    """Whether two revisions would read the same: then the later one need not be stored."""
    return (a.headline, a.sections, a.sources, a.fact_check) == (b.headline, b.sections, b.sources, b.fact_check)


def describe_changes(previous: Revision | None, current: Revision, items: dict[int, Item],
                     refuted: set[str] = frozenset()) -> tuple[str, ...]:
    """What a reader needs to know about how this revision differs from the one before."""
    if previous is None:
        return (f"First version, from {len(current.item_ids)} source{'s' * (len(current.item_ids) != 1)}.",)
    out = list(_verdict_changes(previous, current, refuted))
    if out and set(previous.item_ids) == set(current.item_ids):
        return tuple(out)  # only the fact check moved: say that, and not that a source changed
    added = [i for i in current.item_ids if i not in set(previous.item_ids)]
    removed = [i for i in previous.item_ids if i not in set(current.item_ids)]
    for i in added:
        out.append(f"New source: {items[i].publisher} — {items[i].title}")
    if removed:
        out.append(f"{len(removed)} source{'s' * (len(removed) != 1)} no longer part of this story.")
    if not added and not removed:
        out.append("A source updated its article.")
    if previous.headline != current.headline:
        out.append(f"Headline changed from “{previous.headline}”.")
    before = {s.text for sec in previous.sections for s in sec.sentences}
    after = {s.text for sec in current.sections for s in sec.sentences}
    if after - before or before - after:
        out.append(f"{len(after - before)} sentence{'s' * (len(after - before) != 1)} added, "
                   f"{len(before - after)} removed.")
    return tuple(out)


def _verdict_changes(previous: Revision, current: Revision, refuted: set[str]) -> list[str]:
    """Each claim whose verdict changed, with why; each sentence taken out because its claim no longer holds."""
    from tidings.publish.site import claim_words

    out = []
    before = {(f.sentence, f.model, f.attribute, f.value): f for f in previous.fact_check}
    for f in current.fact_check:
        was = before.get((f.sentence, f.model, f.attribute, f.value))
        if (was.verdict == f.verdict) if was else f.verdict not in ("contradicted", "disputed"):
            continue
        claim = claim_words({"model": f.model, "attribute": f.attribute, "value": f.value})
        why = ""
        if f.evidence:
            fact = f.evidence[0][0]
            why = f": {fact}" if f.verdict == "disputed" else f": the knowledge base says {fact}"
        status = f"is now {f.verdict} (was {was.verdict})" if was else f"is {f.verdict}"
        out.append(f"Fact check: “{claim}” {status}{why}.")
    for section in previous.sections:
        for s in section.sentences:
            if squash(s.text) in refuted:
                out.append(f"Taken out, because its claim is now contradicted or disputed: “{s.text}”")
    return out


def _candidates(items: Sequence[Item]) -> list[_Candidate]:
    vectoriser = LexicalVectoriser()
    found: dict[str, _Candidate] = {}
    raw: list[tuple[str, str, Item, int, dict[str, float]]] = []
    for item in items:
        for position, text in enumerate(sentences(item.text)):
            words = text.split()
            if not 6 <= len(words) <= 60 or _TEASER.search(text) or text[-1] not in ".!?\"'”’)":
                continue
            key = squash(text).casefold()
            if key in found or any(r[0] == key for r in raw):
                continue
            counts = vectoriser.counts(text)
            vectoriser.add(counts)
            raw.append((key, text, item, position, counts))
    for key, text, item, position, counts in raw:
        found[key] = _Candidate(text, key, item, position, frozenset(tokens(text)), vectoriser.weigh(counts))
    return list(found.values())


def _centroid(candidates: Sequence[_Candidate]) -> Vector:
    total: dict[str, float] = {}
    for c in candidates:
        total = merge_counts(total, c.vector)
    norm = sum(v * v for v in total.values()) ** 0.5
    return {t: v / norm for t, v in total.items()} if norm else {}


def _title_score(item: Item, centroid: Vector) -> float:
    vec = LexicalVectoriser().weigh(LexicalVectoriser().counts(item.title))
    return cosine(vec, centroid)


def _new_item_ids(items: Sequence[Item], previous: Revision | None) -> set[int]:
    if previous is not None:
        return {i.id for i in items} - set(previous.item_ids)
    newest = items[-1].published.date()
    return {i.id for i in items if i.published.date() == newest}


def _overlap(a: _Candidate, b: _Candidate) -> float:
    if not a.words or not b.words:
        return 0.0
    return len(a.words & b.words) / len(a.words | b.words)


def _carriers(c: _Candidate, items: Sequence[Item]) -> list[Item]:
    """Every item whose title or text contains the sentence (syndicated copies cite all publishers)."""
    text = squash(c.text)
    return [i for i in items if text in squash(i.text) or text == squash(i.title)] or [c.item]
