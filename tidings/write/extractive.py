"""The extractive writer: an article made only of sentences taken verbatim from a story's items.

Each sentence is cited to every item that contains it or states the same fact, so attribution is exact and
corroboration visible. Sentences are reduced to facts (figures, entities, words) and picked by centrality with
maximal marginal relevance, so each fact is stated once; a sentence that only made sense where it came from (a
question, a teaser, "It ...") is never lifted; relative days are dated in brackets; a statement that a newer item
updates gives way to it. Sections follow roles: the lede, what is new, background, perspectives where sources
disagree, a timeline, and what to watch.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property, lru_cache

from tidings.dates import day_label, is_forward_looking, referred_date, resolve, written_date
from tidings.embed import MAX_CENTROID_TERMS, LexicalVectoriser, Vector, cosine
from tidings.model import Item, Revision, Section, Sentence
from tidings.text import STOPWORDS, sentences, squash, tokens
from tidings.write import Brief, register
from tidings.write.facts import (
    SAME_FACT_MIN_WORDS,
    Fact,
    attributed,
    conflict,
    fact_of,
    fact_to_compare,
    may_hold_figure,
    restates,
    same_fact,
)
from tidings.write.headline import clean_headline, clickbait
from tidings.write.notes import ItemNotes, decode, encode
from tidings.write.revision import fact_checks, finish, numbering, refuted_sentences, sources_list
from tidings.write.standalone import points_back, unusable

SUMMARY, NEW, BACKGROUND, PERSPECTIVES, TIMELINE, WATCH = (
    "Summary", "What's new", "Background", "Perspectives", "Timeline", "What to watch")
SECTION_ORDER = (SUMMARY, NEW, BACKGROUND, PERSPECTIVES, TIMELINE, WATCH)

PRESELECT = 240  # candidates kept by centrality before the pairwise work: writing stays O(n log n) in sentences
DEFAULT_CREDIBILITY = 0.6  # a source the user gave no credibility
CREDIBLE = 0.6  # the lede and the headline come from sources at least this credible, when there are any
MAX_FIGURE_USES = 2  # a figure may be stated at most this often in one article
TIMELINE_LINES = 6
TIMELINE_WORDS = 30  # a timeline line is short
PERSPECTIVE_GROUPS = 2
WATCH_SENTENCES = 2
HEADLINE_MARGIN = 0.15  # a storyline keeps its title unless another headline fits its centre this much better
HEADLINE_AGEING = 0.04  # ... less this much for each day its headline's article is older than the newest


# Sentences that tell the reader what to look out for belong under What to watch, whatever their tense.
_LOOK_AHEAD = re.compile(r"^(watch|expect|look (out )?for|keep an eye)\b|\b(to watch|next thing to|remains? to be "
                         r"seen|open question)\b", re.I)
_LOOK_AHEAD_OPENING = re.compile(r"(?:watch|expect|look (?:out )?for|keep an eye)\b", re.I)  # the first part
# What the second part cannot match without, in lower case (letters that case folding ties to no other letter, so
# a lower-cased sentence shows them where the pattern would find them): most sentences have none. A phrase added
# to the pattern needs its word here (tests/test_writer_speed.py lists the phrases).
_LOOK_AHEAD_WORDS = ("watch", "next", "to be", "open")


def _looks_ahead(text: str) -> bool:
    """Whether _LOOK_AHEAD finds something in the text."""
    low = text.lower()
    if any(word in low for word in _LOOK_AHEAD_WORDS):
        return bool(_LOOK_AHEAD.search(text))
    return bool(_LOOK_AHEAD_OPENING.match(text))


@dataclass(eq=False)
class _Candidate:
    text: str
    key: str  # squashed, case-folded: the same sentence in two items is one candidate
    item: Item  # where it was first found (the oldest carrier)
    position: int  # 0 = first sentence of its item
    vector: Vector
    carriers: list[Item] = field(default_factory=list)  # every item whose text contains it
    score: float = 0.0
    central: float = 0.0
    fact: Fact | None = None
    forward: bool = False
    when: tuple[date, str] | None = None  # the day a forward-looking sentence refers to, and that date's precision
    word_bits: int = 0  # its fact's content words, one bit each (see _number_words)
    length: int = 0  # in words

    @cached_property
    def phrases(self) -> set[tuple[str, str]]:
        """Pairs of neighbouring content words ("supply alert", "demand record"): what the sentence is about."""
        words = tokens(self.text)
        return set(zip(words, words[1:], strict=False))

    @cached_property
    def dangles(self) -> bool:
        """Whether it leans on a sentence before it (see _dangles): asked for the lede, then for the rest."""
        return _dangles(self.text)

    @cached_property
    def topics(self) -> set[tuple[str, str]]:
        """Pairs of neighbouring lower-case content words, stemmed ("gaming the evaluation" and "game the
        evaluation" are one): the sentence's topic, apart from the names every sentence of a story shares."""
        words = [w for w in map(_topic_word, _LOWER_WORD.findall(self.text)) if w is not None]
        return set(zip(words, words[1:], strict=False))


_LOWER_WORD = re.compile(r"[a-z][a-z\-]+")


@lru_cache(maxsize=16384)  # the words of a story's sentences repeat from sentence to sentence
def _topic_word(word: str) -> str | None:
    """A lower-case word's stem, or None for a stopword or a word too short to say what a sentence is about."""
    if word in STOPWORDS or len(word) <= 2:
        return None
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[:-len(suffix)]
            break
    return word.rstrip("e") if len(word) > 3 else word


class ExtractiveWriter:
    """The default writer: no model, no network, every sentence a source's own."""

    name = "extractive"

    def write(self, brief: Brief) -> Revision:
        return compose(brief)


register(ExtractiveWriter())


def compose(brief: Brief) -> Revision:
    """Write the next revision of a story from its items and the checked claims of those items.

    A sentence whose claim the checker found contradicted is never stated; one whose claim is disputed appears
    only under Perspectives, beside the other side, each cited."""
    items = sorted(brief.items, key=lambda i: (i.published, i.id))
    previous, now = brief.previous, brief.now
    contradicted = {squash(c.sentence) for c in brief.claims if c.verdict == "contradicted" and not c.attributed_to}
    refuted = refuted_sentences(brief.claims)
    notes = {i.id: brief.notes.get(i.id) or take_notes(i) for i in items}
    every = [c for c in _candidates(items, notes) if not _among(c, contradicted)]
    centroid = _centroid(every)
    days = sorted({i.published.date() for i in items})
    new_ids = _new_item_ids(items, previous, days)
    for c in every:
        _score(c, centroid, days)
    pool = _preselect(every, new_ids)
    for c in pool:
        noted = notes[c.item.id]
        c.fact = noted.facts.get(c.position) or fact_to_compare(c.text)
        c.forward = c.position in noted.ahead
        c.when = noted.ahead.get(c.position)
    _number_words(pool)
    disputed = [c for c in pool if _among(c, refuted)]
    pool = [c for c in pool if not _among(c, refuted)]
    stale = _superseded(pool, now.date())

    chosen: dict[str, list[_Candidate]] = {name: [] for name in SECTION_ORDER}
    taken: list[_Candidate] = []
    budget = max(brief.max_sentences, 1)
    perspectives = _perspectives(pool + disputed)
    for group in perspectives:
        chosen[PERSPECTIVES] += group
        taken += group
    fit = _title_fit(centroid)
    lede = _lede(pool, stale, taken, fit)
    if lede is not None:
        chosen[SUMMARY].append(lede)
        taken.append(lede)
    usable = [c for c in pool if c not in stale and c not in taken and not c.dangles]
    watch = [c for c in usable if c.forward and (c.when is None or c.when[0] > now.date())]
    _pick(chosen[WATCH], watch, taken, min(WATCH_SENTENCES, max(budget - 2, 0)))
    statements = [c for c in usable if not c.forward]
    room = budget - len(chosen[SUMMARY]) - len(chosen[WATCH])
    fresh = [c for c in statements if c.item.id in new_ids]
    _pick(chosen[NEW], fresh, taken, min(len(fresh), round(room * 0.45) if previous or len(days) > 1 else 0))
    _pick(chosen[BACKGROUND], statements, taken, budget - len(taken) + sum(len(g) for g in perspectives))
    _drop_superseded(chosen, taken)
    timeline = _timeline(items, every, taken, now.date()) if len(days) > 1 else []

    # Citation numbers: stable for the life of the story, new sources numbered in the order the article cites them.
    order = {i.id: n for n, i in enumerate(items)}
    comparable = [(c, c.word_bits, c.fact) for c in pool + disputed if c.fact is not None]  # for _cited_items
    sections_out = []
    citing: list[tuple[str, list[tuple[_Candidate, list[Item], str]]]] = []
    for name in SECTION_ORDER:
        if name == TIMELINE:
            if timeline:
                citing.append((name, timeline))
            continue
        picked = chosen[name]
        if name not in (SUMMARY, PERSPECTIVES):
            picked = sorted(picked, key=lambda c: (order[c.item.id], c.position))
        if picked:
            citing.append((name, [(c, _cited_items(c, comparable), "") for c in picked]))
    first_cited = [i.id for _, lines in citing for _, cited, _ in lines for i in cited]
    numbers = numbering(previous, first_cited, items)
    for name, lines in citing:
        out = []
        for c, cited, label in lines:
            # A headline on the timeline is dated by its label: a relative day in it ("today") needs no other.
            headline_line = name == TIMELINE and c.text == c.item.title
            text, insertions = (c.text, ()) if headline_line else resolve(c.text, c.item.published)
            out.append(Sentence(text, tuple(sorted({numbers[i.id] for i in cited})),
                                tuple((x.at, x.text) for x in insertions), label))
        sections_out.append(Section(name, tuple(out)))
    revision = Revision(story_id=brief.story_id, number=(previous.number + 1) if previous else 1, created=now,
                        headline=_headline(items, fit, previous), sections=tuple(sections_out),
                        sources=sources_list(numbers, items), item_ids=tuple(i.id for i in items),
                        fact_check=fact_checks(brief.claims, numbers, brief.names),
                        numbering=tuple(sorted(numbers.items())))
    return finish(revision, previous, items, refuted)


# --- candidates ----------------------------------------------------------------------------------------------

def take_notes(item: Item) -> ItemNotes:
    """What the writer finds in an item's sentences that depends on the item alone (see `tidings.write.notes`):
    which can stand in an article on their own, what those with a figure state, and which look ahead."""
    usable: list[int] = []
    facts: dict[int, Fact] = {}
    ahead: dict[int, tuple[date, str] | None] = {}
    for position, text in enumerate(sentences(item.text)):
        # A sentence comes squashed (its words split by single spaces), so its words are counted by its spaces.
        if not 6 <= text.count(" ") + 1 <= 60 or text[-1] not in ".!\"'”’)" or unusable(text):
            continue
        usable.append(position)
        if may_hold_figure(text):
            facts[position] = fact_of(text)
        if is_forward_looking(text) or _looks_ahead(text):
            # Only a plan's day is ever asked for (a plan whose day has passed is stale; one still ahead is watched).
            ahead[position] = referred_date(text, item.published)
    return ItemNotes(frozenset(usable), facts, ahead)


def notes_of(items: Sequence[Item], stored: Mapping[int, str]) -> tuple[dict[int, ItemNotes], dict[int, str]]:
    """Each item's notes: the `stored` ones (item id -> encoded notes) where they still hold, taken now where they
    do not; and those taken now, encoded for the store."""
    notes, taken = {}, {}
    for item in items:
        noted = decode(stored.get(item.id), item.content_hash)
        if noted is None:
            noted = take_notes(item)
            taken[item.id] = encode(noted, item.content_hash)
        notes[item.id] = noted
    return notes, taken


def _candidates(items: Sequence[Item], notes: Mapping[int, ItemNotes] | None = None) -> list[_Candidate]:
    """Every sentence that could stand in the article on its own, once, with the items that carry it."""
    vectoriser = LexicalVectoriser()
    found: dict[str, _Candidate] = {}
    raw: list[tuple[_Candidate, dict[str, float]]] = []
    for item in items:
        usable = (notes[item.id] if notes else take_notes(item)).usable
        for position, text in enumerate(sentences(item.text)):
            if position not in usable:
                continue
            length = text.count(" ") + 1
            key = text.casefold()
            known = found.get(key)
            if known is not None:
                # Items come one at a time, so an item already among the carriers is the last of them.
                if known.carriers[-1].id != item.id:
                    known.carriers.append(item)
                continue
            counts = vectoriser.counts(text)
            vectoriser.add(counts)
            c = _Candidate(text, key, item, position, {}, [item], length=length)
            found[key] = c
            raw.append((c, counts))
    for c, counts in raw:
        c.vector = vectoriser.weigh(counts)
    return [c for c, _ in raw]


def _among(c: _Candidate, texts: set[str]) -> bool:
    """Whether the candidate is one of these squashed sentences (most stories have none: nothing to squash)."""
    return bool(texts) and squash(c.text) in texts


def _centroid(candidates: Sequence[_Candidate]) -> Vector:
    """The story's centre: the candidates' vectors summed as `merge_counts` sums a profile (kept to its strongest
    terms after each one), then L2-normalised.

    The same sums in the same order as folding merge_counts over the vectors, without copying the profile at each
    step: the terms are kept in a list in the order merge_counts leaves them (new ones last; strongest first after
    a trim, equal weights in the order they came), which decides later ties and the order of the float sums."""
    total: dict[str, float] = {}
    order: list[str] = []
    for c in candidates:
        for term, weight in c.vector.items():
            previous = total.get(term)
            if previous is None:
                order.append(term)
                previous = 0.0
            total[term] = previous + weight
        if len(order) > MAX_CENTROID_TERMS:
            order.sort(key=total.__getitem__, reverse=True)  # a reversed sort is stable too
            for term in order[MAX_CENTROID_TERMS:]:
                del total[term]
            del order[MAX_CENTROID_TERMS:]
    profile = {t: total[t] for t in order}
    norm = sum(v * v for v in profile.values()) ** 0.5
    return {t: v / norm for t, v in profile.items()} if norm else {}


def _credibility(item: Item) -> float:
    return item.credibility if item.credibility is not None else DEFAULT_CREDIBILITY


def _score(c: _Candidate, centroid: Vector, days: list[date]) -> None:
    """Centrality first; then a news article's opening, credible publishers, newer days, and copies."""
    c.central = cosine(c.vector, centroid)
    age = (days[-1] - c.item.published.date()).days
    recency = 1.0 / (1.0 + age)
    c.score = (c.central + (0.1 if c.position == 0 else 0.05 if c.position == 1 else 0.0)
               + 0.3 * (_credibility(c.item) - DEFAULT_CREDIBILITY) + 0.08 * recency
               + 0.02 * min(len({i.publisher for i in c.carriers}) - 1, 3))


def _preselect(candidates: list[_Candidate], new_ids: set[int]) -> list[_Candidate]:
    """The strongest candidates, and the best two of each new item, so later steps compare a bounded set."""
    best = heapq.nlargest(PRESELECT, candidates, key=lambda c: c.score)
    chosen = set(map(id, best))
    extra: dict[int, list[_Candidate]] = {}
    for c in candidates:
        if c.item.id in new_ids and id(c) not in chosen:
            extra.setdefault(c.item.id, []).append(c)
    for group in list(extra.values())[:PRESELECT]:
        best += heapq.nlargest(2, group, key=lambda c: c.score)
    return best


def _new_item_ids(items: Sequence[Item], previous: Revision | None, days: list[date]) -> set[int]:
    if previous is not None:
        return {i.id for i in items} - set(previous.item_ids)
    return {i.id for i in items if i.published.date() == days[-1]}


# --- what is stale, what disagrees ------------------------------------------------------------------------------

def _superseded(pool: list[_Candidate], today: date) -> set[_Candidate]:
    """Statements a newer item updates, and forward-looking ones whose day has passed.

    An older sentence that shares half its content words with a sentence of a later day is about the same thing
    (a record beaten, an alert lifted, an auction decided): the newer one stands and the older goes. Two
    attributed figures that disagree are perspectives, not updates, and both stay."""
    stale = {c for c in pool if c.forward and c.when is not None and c.when[0] <= today and c.when[1] == "day"}
    by_time = sorted(pool, key=lambda c: c.item.published)
    days = [c.item.published.date() for c in by_time]
    # In time order the days run in order too (unless publication times carry different time zones): then the
    # sentences of later days are a tail of the list, found by bisection.
    in_order = all(a <= b for a, b in zip(days, days[1:], strict=False))
    bits = [c.word_bits for c in by_time]
    sizes = [len(c.fact.words) for c in by_time]
    for n, old in enumerate(by_time):
        day = days[n]
        for m in range(bisect_right(days, day, n + 1) if in_order else n + 1, len(by_time)):
            if not in_order and days[m] <= day:
                continue
            # content_overlap(old.fact, new.fact), counted on the word bits (no shared word: no overlap).
            shared = (bits[n] & bits[m]).bit_count()
            if not shared:
                continue
            overlap = shared / min(sizes[n], sizes[m])
            new = by_time[m]
            if overlap < 0.5 and not (overlap >= 0.3 and old.phrases & new.phrases):
                continue
            if conflict(old.fact, new.fact) is not None and (
                    old.fact.setting != new.fact.setting or attributed(old.text) or attributed(new.text)):
                continue
            stale.add(old)
            break
    return stale


def _number_words(pool: Sequence[_Candidate]) -> None:
    """Give each content word of the pool's facts a bit of its own, and each candidate the bits of its words: the
    pairwise steps then count the words two sentences share with an AND and a popcount, not a set intersection."""
    bit_of: dict[str, int] = {}
    for c in pool:
        bits = 0
        for word in c.fact.words:
            bit = bit_of.get(word)
            if bit is None:
                bit = bit_of[word] = 1 << len(bit_of)
            bits |= bit
        c.word_bits = bits


def _perspectives(pool: list[_Candidate]) -> list[list[_Candidate]]:
    """Pairs of sentences from different publishers that give different figures for the same quantity (an
    older statement counts here: a disagreement is not settled by being older)."""
    groups: list[list[_Candidate]] = []
    used: set[int] = set()
    # Only sentences whose figures are tied to what they measure (claims) can disagree (see conflict).
    ranked = sorted((c for c in pool if c.fact and c.fact.claims), key=lambda c: -c.score)
    for n, a in enumerate(ranked):
        if id(a) in used:
            continue
        for b in ranked[n + 1:]:
            if id(b) in used or a.item.publisher == b.item.publisher:
                continue
            sides = conflict(a.fact, b.fact)
            if sides is None:
                continue
            # A sentence that states both sides itself ("the card reports 62%, while NVIDIA measured 41.9%")
            # says it best alone, cited to both; otherwise the two sentences stand side by side.
            both = [c for c in (a, b) if set(sides) <= c.fact.figures]
            if both:
                other = b if both[0] is a else a
                # replace() copies the fields only: the cached phrases and topics are not arguments of a new one.
                groups.append([replace(both[0], carriers=_joined(both[0].carriers, other.carriers))])
            else:
                groups.append(sorted((a, b), key=lambda c: (c.item.published, c.item.id)))
            used.update((id(a), id(b)))
            break
        if len(groups) >= PERSPECTIVE_GROUPS:
            break
    return groups


# --- picking --------------------------------------------------------------------------------------------------

def _lede(pool: list[_Candidate], stale: set[_Candidate], taken: list[_Candidate],
          fit: Callable[[str], float]) -> _Candidate | None:
    """The newest important development, from a credible source: the opening sentence of a credible article
    whose headline and opening sit close to the story's centre, newer ones preferred."""
    stated = [t.fact for t in taken]
    usable = [c for c in pool if c.position <= 1 and c not in stale and c not in taken and not c.forward
              and not c.dangles and not restates(c.fact, stated)]
    credible = [c for c in usable if _credibility(c.item) >= CREDIBLE] or usable
    if not credible:
        return None
    newest = max(c.item.published for c in credible)

    def weight(c: _Candidate) -> float:
        age = (newest - c.item.published).total_seconds() / 86400
        title = fit(c.item.title)
        return (c.central + 0.5 * title + 0.15 / (1 + age) + (0.08 if c.position == 0 else 0.0)
                + 0.3 * (_credibility(c.item) - DEFAULT_CREDIBILITY))

    return max(credible, key=weight)


# References that need a sentence before them, wherever they stand: "since then", "the same day".
_DANGLING = re.compile(r"\b(since then|by then|until then|at the time|that day|the same day|the day before|"
                       r"a day earlier|the previous day|these (figures|numbers|results)|this (figure|number|result)|"
                       # "on that target", "by that measure": that, after a preposition, is what came before
                       # ("in that" is also "because": "differs in that bidders must ...")
                       r"(on|for|at|by|with|from|under|over|against) that (?!(it|they|he|she|we|you|the|a|an|is|"
                       r"was|are|were|has|had|will|would|can|could|may|might|this|these|those|its|their)\b)[a-z]+)\b|"
                       # "Keep the scale in perspective, though.", "Qwen3.5, by contrast, uses ...": a reply to the
                       # sentence before (sentences come squashed: one space after a comma)
                       r", (though|however|too|instead)\W*$|, (by contrast|in contrast|however|though|too|"
                       r"instead|in turn|meanwhile|by comparison|for its part),|"
                       # "Several months later, the pair ...": later than what the sentence before told (at the start:
                       # "rose 12% from a year earlier" and "shut two years later" say what they count from)
                       r"^(a|one|two|three|four|five|six|several|a few|some|many) (days?|weeks?|months?|years?) "
                       r"(later|earlier),|"
                       # "... is built to measure exactly that.": that which the sentence before told of
                       r"\bexactly (that|this)\W*$|"
                       # "Caldy Shoal is the harder call": harder than the one the sentence before told of
                       r"\b(is|was|looks|seems) the (harder|easier|tougher|trickier) (call|one)\b|"
                       # "how quickly the gap between 23.2 and 51.1 narrows": bare figures (no unit, no year), told
                       # of before
                       r"\b(gap|difference|distance) between (?!(19|20)\d\d\b)\d[\d.,]* and "
                       r"(?!(19|20)\d\d\b)\d[\d.,]*\s+(narrows|narrowed|widens|widened|closes|closed|shrinks|shrank|grows|grew|is|was|remains|will|"
                       r"has|had)\b",
                       re.I)
# What each of them cannot be without, in lower case (letters that case folding ties to no other letter, as for
# _LOOK_AHEAD_WORDS): most sentences have none. A phrase added above needs its word here.
_DANGLING_WORDS = ("then", "at the t", "day", "number", "gure", "ult", " that ", ", though", ", however", ", too",
                   "tead", ", by ", "turn", "contra", "meanwh", ", for ", "later", "earl", "r call", "r one", "between",
                   "exactly")


# "Nearly a month after Alibaba released Qwen3.5 on February 16, developers are ...": the date is of what came
# before; the sentence's own event is later, on no date it says.
_AFTER_THE_DATE = re.compile(r"(?:(?:nearly|almost|about|some|just|only|more than|less than|a|an|one|two|three|four|"
                             r"five|six|several|a few|days?|weeks?|months?|years?|hours?)\s+)*(?:after|since)\s[^,]*,",
                             re.I)


# A date given in passing, in an aside: right after the subject (after at most one other aside), "OpenAI's
# gpt-oss models, released on August 5, 2025, have become ...", or before it, "Released on August 5, 2025, the
# models have become ...". The date is the subject's; the sentence's own event is what follows.
_PARTICIPLE_DATE = (r"(?:(?:first|originally|officially|only)\s+)?(?:[a-z]{3,}ed|built|made|held|won|sold|shown|set|"
                    r"begun|unveiled|written|taken)\s+((?:on|in|back in)\s+[^,;]+(?:,\s*(?:19|20)\d\d)?),\s+")
_SUBJECT_ASIDE = re.compile(r"^[^,;]{1,80}(?:,\s[^,;]{1,60})?,\s+" + _PARTICIPLE_DATE, re.I)
_OPENING_ASIDE = re.compile(r"^" + _PARTICIPLE_DATE, re.I)
_NOW = r"(?:still\s+|now\s+)?(?:has|have|is|are|remains?|stays?|continues?|keeps?|holds?|leads?|sits?)\b"
_NOW_AFTER_SUBJECT = re.compile(_NOW, re.I)  # "..., have become the yardstick"
_NOW_AFTER_OPENING = re.compile(r"[^,;]{1,80}?\s" + _NOW, re.I)  # "..., the models have become the yardstick"


def _event_date(text: str, published: date) -> tuple[date, str] | None:
    """The day or month a sentence's own event happened, as `written_date` gives it; None when it has none. A
    date given in passing is not the event's: a later date in the sentence is ("The models, released on August 5,
    2025, were updated on March 10, 2026"), and a sentence that goes on to tell what is true now has none ("...,
    have become the yardstick"). Otherwise the aside's date stands ("The vote, held on March 3, was the first")."""
    when = written_date(text, published)
    if when is None:
        return None
    for aside, now in ((_SUBJECT_ASIDE, _NOW_AFTER_SUBJECT), (_OPENING_ASIDE, _NOW_AFTER_OPENING)):
        m = aside.match(text)
        if m is None:
            continue
        given = written_date(m.group(1), published)
        if given is None or given[0] != when[0]:
            continue
        later = written_date(text[m.end():], published)
        if later is not None:
            return later
        return None if now.match(text, m.end()) else when
    return when


def _dangles(text: str) -> bool:
    """Whether a sentence leans on one before it: it opens by pointing back, or refers to "then"."""
    if points_back(text):
        return True
    low = text.lower()
    return any(word in low for word in _DANGLING_WORDS) and bool(_DANGLING.search(text))


def _pick(out: list[_Candidate], pool: list[_Candidate], taken: list[_Candidate], limit: int) -> None:
    """Maximal marginal relevance: the best candidate that adds a fact not yet stated, with a bonus for a
    publisher not yet cited, until `limit` are picked."""
    remaining = [c for c in pool if c not in taken]
    checked = 0  # each remaining candidate says something that taken[:checked] do not
    while len(out) < limit and remaining:
        # What a sentence says stays said, so a candidate that passed the checks against the earlier sentences
        # needs comparing only with those taken since; only the figures count as a whole.
        said = taken[checked:]
        checked = len(taken)
        cited = {i.publisher for t in taken for i in t.carriers}
        figures: dict[tuple[str, str], int] = {}
        for t in taken:
            for f in t.fact.figures:
                figures[f] = figures.get(f, 0) + 1
        stated = [t.fact for t in said]
        best, best_score = None, float("-inf")
        keep = []
        for c in remaining:
            # (The second test is restates' own figure test, over all that is said.)
            if restates(c.fact, stated) or (c.fact.figures and c.fact.figures <= figures.keys()) or \
                    any(figures.get(f, 0) >= MAX_FIGURE_USES for f in c.fact.figures) or \
                    any(c.fact.figures <= t.fact.figures and c.topics & t.topics for t in said):
                continue  # never again: what it says is already said, in these words or others
            keep.append(c)
            score = c.score + (0.12 if c.item.publisher not in cited else 0.0)
            if score > best_score:
                best, best_score = c, score
        if best is None:
            return
        out.append(best)
        taken.append(best)
        remaining = [c for c in keep if c is not best]


def _cited_items(c: _Candidate, others: Sequence[tuple[_Candidate, int, Fact]]) -> list[Item]:
    """The items that carry the sentence, then those that state the same fact in other words (of the others, each
    given with its word bits and its fact)."""
    cited = list(c.carriers)
    fact, bits = c.fact, c.word_bits
    for other, other_bits, other_fact in others:
        # Two sentences state the same fact only if they share a figure or SAME_FACT_MIN_WORDS content words (see
        # same_fact): most of the pool is ruled out on that, cheaply, before the full comparison.
        if other is c or (bits & other_bits).bit_count() < SAME_FACT_MIN_WORDS and \
                fact.figures.isdisjoint(other_fact.figures):
            continue
        if same_fact(fact, other_fact):
            cited = _joined(cited, other.carriers)
    return cited


def _joined(first: list[Item], more: Sequence[Item]) -> list[Item]:
    """The items of `first`, then those of `more` not among them (an item is its id: comparing whole items is slow)."""
    ids = {i.id for i in first}
    return first + [i for i in more if i.id not in ids]


def _drop_superseded(chosen: dict[str, list[_Candidate]], taken: list[_Candidate]) -> None:
    """A sentence picked before one that says all it says and more ("the best agent reached 23.2", then "the best
    agent averaged 23.2, against 51.1 for ...") is dropped: a later pick is checked against the earlier ones, not
    the other way round. The summary stays, whatever follows it."""
    facts = [(t, t.fact) for t in taken if t.fact is not None]
    gone = {id(c) for c, f in facts if c not in chosen[SUMMARY] and c not in chosen[PERSPECTIVES]
            and any(o is not c and restates(f, [g]) and not restates(g, [f]) for o, g in facts)}
    if gone:
        for picked in chosen.values():
            picked[:] = [c for c in picked if id(c) not in gone]
        taken[:] = [t for t in taken if id(t) not in gone]


def _timeline(items: Sequence[Item], every: Sequence[_Candidate], taken: list[_Candidate],
              today: date) -> list[tuple[_Candidate, list[Item], str]]:
    """Dated events, oldest first: what the sources date in their text before the story began, and each day of
    the story by its most central, credible headline. One short line each, with its citation."""
    start = items[0].published.date()
    lines: dict[tuple[date, str], tuple[_Candidate, list[Item], str]] = {}
    facts = [t.fact for t in taken if t.fact]
    for c in sorted(every, key=lambda c: -c.score)[:PRESELECT]:
        if c.length > TIMELINE_WORDS:
            continue
        # The date of its own event, written out in full ("on March 11", "in October 2025"), at day or month
        # precision: a year alone, "this month", or a date given in passing does not date an event.
        when = _event_date(c.text, c.item.published)
        # A sentence about what comes next is no event, whatever date it mentions ("the next thing to watch is
        # whether OpenAI refreshes the family, since both models date from August 2025").
        if when is None or when[0] >= start or is_forward_looking(c.text) or _looks_ahead(c.text) \
                or _dangles(c.text) or _AFTER_THE_DATE.match(c.text):
            continue
        fact = fact_of(c.text)
        if restates(fact, facts) or any(k[0] == when[0] for k in lines):
            continue
        facts.append(fact)
        lines[(when[0], c.key)] = (c, c.carriers, day_label(when[0], today, when[1]))
    by_day: dict[date, list[Item]] = {}
    for item in items:
        by_day.setdefault(item.published.date(), []).append(item)
    central = {}
    for c in every:
        central[c.item.id] = max(central.get(c.item.id, 0.0), c.central)
    used: dict[tuple[str, str], int] = {}
    for f in facts:
        for figure in f.figures:
            used[figure] = used.get(figure, 0) + 1
    for day, group in sorted(by_day.items()):
        # A headline may not state a figure used up already; while none is, its figures need not be found.
        spent = {f for f, n in used.items() if n >= MAX_FIGURE_USES}
        fresh = [i for i in group if i.title and not (spent and fact_of(i.title).figures & spent)]
        if not fresh:
            continue
        item = max(fresh, key=lambda i: (_credibility(i) >= CREDIBLE, -clickbait(i.title), central.get(i.id, 0.0)))
        for figure in fact_of(item.title).figures:
            used[figure] = used.get(figure, 0) + 1
        line = _Candidate(item.title, squash(item.title).casefold(), item, 0, {}, [item])
        lines[(day, line.key)] = (line, [item], day_label(day, today))
    ordered = [lines[k] for k in sorted(lines, key=lambda k: k[0])]
    return ordered[-TIMELINE_LINES:]


def _title_fit(centroid: Vector) -> Callable[[str], float]:
    """How close a headline sits to the story's centre (cosine of its TF-IDF vector), each headline weighed once:
    the lede and the headline ask about the same titles, most of them more than once."""
    vectoriser = LexicalVectoriser()  # no documents seen: a title's weights depend on the title alone
    fits: dict[str, float] = {}

    def fit(title: str) -> float:
        if title not in fits:
            fits[title] = cosine(vectoriser.weigh(vectoriser.counts(title)), centroid)
        return fits[title]

    return fit


def _headline(items: Sequence[Item], fit: Callable[[str], float], previous: Revision | None) -> str:
    """A credible source's headline, cleaned, that fits the story's centre; the previous one stays unless another
    fits clearly better, so a storyline keeps its title while its centre holds."""
    credible = [i for i in items if i.title and _credibility(i) >= CREDIBLE] or [i for i in items if i.title]
    if not credible:
        return previous.headline if previous else ""
    def score(i: Item) -> float:
        return fit(i.title) + 0.3 * (_credibility(i) - DEFAULT_CREDIBILITY) - 0.4 * clickbait(i.title)

    best = max(credible, key=lambda i: (score(i), i.published))
    if previous is not None and previous.headline:
        same = [i for i in credible if clean_headline(i.title, i.publisher) == previous.headline]
        kept = max(map(score, same)) if same else fit(previous.headline) - 0.4 * clickbait(previous.headline)
        # A headline ages: each day between its article and the story's newest lowers the bar for a better one,
        # so a storyline that has moved on (a forecast that came true, an auction decided) gets a new title.
        newest = max(i.published for i in items)
        age = (newest - max((i.published for i in same), default=newest)).total_seconds() / 86400
        if kept >= score(best) - HEADLINE_MARGIN + HEADLINE_AGEING * age:
            return previous.headline
    return clean_headline(best.title, best.publisher)
