"""The writer's shortcuts give what the computations they replace give: a cache, a cheaper test first, a per-story
index. Each is checked against the plain computation on every sentence of the demo corpus (and on cases made to
sit on its edges). Nothing here is timed: bench/write.py measures."""

from __future__ import annotations

import re
import sys
from dataclasses import replace
from datetime import UTC, datetime
from functools import reduce
from itertools import combinations
from pathlib import Path

import pytest

import tidings
from tidings.dates import dates_in, written_date
from tidings.embed import merge_counts
from tidings.ingest.feeds import FeedError, parse_feed
from tidings.model import Item
from tidings.text import _tokens, sentences, squash, tokens
from tidings.write import extractive
from tidings.write.facts import (
    SAME_FACT_MIN_WORDS,
    conflict,
    content_overlap,
    fact_of,
    fact_to_compare,
    restates,
    same_fact,
)

DAYS = Path(tidings.__file__).parent / "data" / "demo" / "days"
PUBLISHED = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
# Sentences on the edges of the shortcuts: number words as words of their own or not, digits that are not figures,
# months with and without a capital, ISO dates, unusual whitespace.
EDGES = [
    "The twentyone plan and someone else's often-cited one-day pass cost nothing.",
    "__one of them, ONE of them, Eleven of them and a dozen more stayed.",
    "Altberg University's seven-member board met the Harlow Bay Council.",
    "Version² of the plan, ready in MARCH 2026, was agreed on 2026-03-11 by the council.",
    "The may 5 meeting moved to May 5, and jan. 3 to Jan 3.",
    "Prices rose\u00a0by\u20035\u2009% in the\x1cquarter\x1f to March.",
    "Nemotron 3 Super scored 60.47% on SWE-bench Verified with the OpenHands harness.",
]


@pytest.fixture(scope="module")
def items() -> list[Item]:
    """Every entry of every demo feed of every day, as an item."""
    out: list[Item] = []
    for path in sorted(p for p in DAYS.glob("*/*") if p.is_file()):
        try:
            entries, _, _ = parse_feed(path.read_bytes(), "", path.stem)
        except FeedError:
            continue  # the feeds broken on purpose
        for e in entries:
            out.append(Item(id=len(out) + 1, url=e.url or f"https://demo.example/{len(out)}", title=e.title,
                            text=e.text, publisher=e.publisher or path.stem, published=e.published or PUBLISHED))
    return out


@pytest.fixture(scope="module")
def demo_sentences(items) -> list[str]:
    found = [s for i in items for s in sentences(i.text)] + [i.title for i in items if i.title] + EDGES
    return list(dict.fromkeys(found))


def test_squash_is_the_whitespace_pattern_it_replaces(items):
    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1)
                     if not 0xD800 <= c <= 0xDFFF and re.fullmatch(r"\s", chr(c)))
    assert "\x1c" in spaces and "\u3000" in spaces
    texts = [i.text for i in items] + EDGES + [f"{spaces}a{spaces}b {spaces}", spaces, "", "x"]
    texts += [f" word{c}{c}word{c}" for c in spaces]
    for text in texts:
        assert squash(text) == re.sub(r"\s+", " ", text).strip()


def test_tokens_give_a_list_of_their_own_each_time(demo_sentences, items):
    for text in demo_sentences + [items[0].text * 3]:  # the last one too long to be kept
        first = tokens(text)
        assert first == _tokens(text)
        first.append("changed")
        assert tokens(text) == _tokens(text)


def test_fact_to_compare_leaves_out_only_the_names_of_a_sentence_without_figures(demo_sentences):
    without_names = 0
    for s in demo_sentences:
        full, compared = fact_of(s), fact_to_compare(s)
        if compared != full:
            assert not full.figures and compared == replace(full, entities=frozenset()), s
            without_names += 1
    assert without_names > len(demo_sentences) / 10  # the shortcut is taken, not only safe


def test_facts_to_compare_compare_as_the_full_facts_do(demo_sentences):
    sample = demo_sentences[:160] + EDGES
    full = {s: fact_of(s) for s in sample}
    compared = {s: fact_to_compare(s) for s in sample}
    for a, b in combinations(sample, 2):
        fa, fb, ca, cb = full[a], full[b], compared[a], compared[b]
        assert same_fact(ca, cb) == same_fact(fa, fb), (a, b)
        assert conflict(ca, cb) == conflict(fa, fb), (a, b)
        assert content_overlap(ca, cb) == content_overlap(fa, fb)
        assert restates(ca, [cb]) == restates(fa, [fb])


def test_written_date_is_the_first_day_or_month_written_with_figures(demo_sentences):
    def first_written(sentence: str, published: datetime):
        for when, precision, start, end in dates_in(sentence, published):
            if precision in ("day", "month") and any(ch.isdigit() for ch in sentence[start:end]):
                return when, precision
        return None

    found = 0
    for s in demo_sentences:
        for published in (PUBLISHED, datetime(2025, 1, 2, tzinfo=UTC)):
            assert written_date(s, published) == first_written(s, published), s
            found += written_date(s, published) is not None
    assert found


def _stories(items: list[Item]) -> list[list[Item]]:
    """The demo's items by publisher, and all of them as one story (over the centroid's term limit)."""
    by_publisher: dict[str, list[Item]] = {}
    for item in items:
        by_publisher.setdefault(item.publisher, []).append(item)
    return [*by_publisher.values(), items]


def test_centroid_is_the_fold_of_merge_counts(items):
    for story in _stories(items):
        candidates = extractive._candidates(sorted(story, key=lambda i: (i.published, i.id)))
        profile = reduce(merge_counts, (c.vector for c in candidates), {})
        norm = sum(v * v for v in profile.values()) ** 0.5
        expected = {t: v / norm for t, v in profile.items()} if norm else {}
        assert list(extractive._centroid(candidates).items()) == list(expected.items())


def test_word_bits_count_shared_words_and_rule_out_only_sentences_stating_other_facts(items):
    candidates = extractive._candidates(items)[:250]
    for c in candidates:
        c.fact = fact_to_compare(c.text)
    extractive._number_words(candidates)
    for a, b in combinations(candidates, 2):
        shared = (a.word_bits & b.word_bits).bit_count()
        assert shared == len(a.fact.words & b.fact.words)
        if same_fact(a.fact, b.fact):  # what _cited_items relies on to skip the others
            assert shared >= SAME_FACT_MIN_WORDS or a.fact.figures & b.fact.figures


def test_sentences_come_squashed(items):
    """The writer takes a sentence as its own squashed form and counts its words by its spaces."""
    for item in items:
        for s in sentences(item.text):
            assert s == squash(s) and s.count(" ") + 1 == len(s.split())


def _pick_by_comparing_all(out, pool, taken, limit):
    """extractive._pick as it was, comparing every candidate with every sentence taken, in every round."""
    remaining = [c for c in pool if c not in taken]
    while len(out) < limit and remaining:
        cited = {i.publisher for t in taken for i in t.carriers}
        figures: dict[tuple[str, str], int] = {}
        for t in taken:
            for f in t.fact.figures:
                figures[f] = figures.get(f, 0) + 1
        stated = [t.fact for t in taken]
        best, best_score, keep = None, float("-inf"), []
        for c in remaining:
            if restates(c.fact, stated) or any(figures.get(f, 0) >= extractive.MAX_FIGURE_USES
                                               for f in c.fact.figures) \
                    or any(c.topics & t.topics and c.fact.figures <= t.fact.figures for t in taken):
                continue
            keep.append(c)
            score = c.score + (0.12 if c.item.publisher not in cited else 0.0)
            if score > best_score:
                best, best_score = c, score
        if best is None:
            return
        out.append(best)
        taken.append(best)
        remaining = [c for c in keep if c is not best]


def test_pick_compares_each_candidate_only_with_what_was_said_since(items):
    for story in _stories(items):
        candidates = extractive._candidates(sorted(story, key=lambda i: (i.published, i.id)))
        centroid = extractive._centroid(candidates)
        days = sorted({i.published.date() for i in story})
        for c in candidates:
            extractive._score(c, centroid, days)
            c.fact = fact_to_compare(c.text)
        for first in range(3):  # with nothing taken yet, and with sentences taken before
            taken, expected_taken = candidates[:first], candidates[:first]
            out, expected = [], []
            extractive._pick(out, candidates, taken, 12)
            _pick_by_comparing_all(expected, candidates, expected_taken, 12)
            assert out == expected and taken == expected_taken


def test_pick_counts_every_figure_said_before_not_only_the_latest():
    """A candidate whose figures were all said, over two earlier sentences, adds nothing, as before."""
    said = ["Harlow Bay's new turbines reached 120 megawatts on their first windy afternoon.",
            "The council approved a budget of 45 million euros for the harbour works."]
    repeat = "Engineers logged 120 megawatts while accountants booked 45 million euros across several ledgers."
    fresh = "Ferry crews reported calmer crossings after the breakwater was finished in spring."

    def candidate(n: int, text: str, score: float) -> extractive._Candidate:
        item = Item(id=n, url=f"https://demo.example/{n}", title="", text=text, publisher=f"P{n}",
                    published=PUBLISHED)
        return extractive._Candidate(text, text.casefold(), item, 0, {}, [item], score=score, fact=fact_of(text))

    first, second, third, last = (candidate(n, t, s) for n, (t, s) in enumerate(
        [(said[0], 1.0), (said[1], 0.9), (repeat, 0.8), (fresh, 0.1)], 1))
    assert third.fact.figures == first.fact.figures | second.fact.figures
    out, taken = [], [first]
    extractive._pick(out, [second, third, last], taken, 3)
    assert out == [second, last]


# Each phrase the look-ahead, dangling and teaser patterns look for, for the cheap word tests in front of them.
_PHRASES = {
    "look ahead": ["Watch for it", "Expect delays.", "Look out for the vote.", "look for it", "Keep an eye on it",
                   "what to watch", "the next thing to do", "It remains to be seen.", "it remain to be seen",
                   "an open question"],
    "dangling": ["since then", "by then", "until then", "at the time", "that day", "the same day", "the day before",
                 "a day earlier", "the previous day", "these figures", "these numbers", "these results",
                 "this figure", "this number", "this result", "on that target", "by that measure",
                 "It is fine, though.", "Prices fell, however.", "They came, too.", "It moved, instead.",
                 "Qwen, by contrast, uses", "Qwen, in contrast, uses", "prices, in turn, rose", "It, meanwhile, fell",
                 "NVIDIA, for its part, said", "Several months later, it fell", "A day later, it rose",
                 "Two years earlier, it rose", "It is the harder call", "it was the easier one",
                 "the gap between 23.2 and 51.1 narrows", "the difference between 3.5 and 4 is",
                 "is built to measure exactly that."],
    "teaser": ["and more…", "wait...", "so [...]", "so […]", "Read more", "Continue reading »", "and more »"],
}


def _variants(phrase: str) -> list[str]:
    """The phrase as written, in capitals, capitalised, and with the letters that case folding ties to others."""
    folded = phrase.replace("i", "\u0131").replace("s", "\u017f").replace("k", "\u212a")
    return [phrase, phrase.upper(), phrase.title(), folded, f"So {phrase} now.", f"X{phrase}"]


def test_word_tests_let_through_whatever_the_patterns_find(demo_sentences):
    from tidings.write import standalone

    texts = demo_sentences + [v for phrases in _PHRASES.values() for p in phrases for v in _variants(p)]
    for text in texts:
        assert extractive._looks_ahead(text) == bool(extractive._LOOK_AHEAD.search(text)), text
        assert extractive._dangles(text) == (standalone.points_back(text) or bool(extractive._DANGLING.search(text)))
        assert standalone._is_teaser(text) == bool(standalone._TEASER.search(text[-40:])), text
    for name, phrases in _PHRASES.items():  # each found by its pattern, in every form
        pattern = {"look ahead": extractive._LOOK_AHEAD, "dangling": extractive._DANGLING,
                   "teaser": standalone._TEASER}[name]
        assert all(pattern.search(p) for p in phrases), name


def test_notes_come_back_from_the_store_as_they_were_taken(items):
    from tidings.write.notes import decode, encode

    taken = [extractive.take_notes(item) for item in items]
    assert sum(len(n.facts) for n in taken) > 20 and any(n.ahead for n in taken)
    assert any(when is not None for n in taken for when in n.ahead.values())
    for notes in taken:
        stored = encode(notes, "c0ffee" * 10)
        assert decode(stored, "c0ffee" * 10) == notes
        assert decode(stored, "beef" * 16) is None  # the item's text changed since: noted again
    stored = encode(taken[0], "")
    assert decode(stored.replace('"v":"', '"v":"x'), "") is None  # made by other code
    assert decode("{not json", "") is None and decode(None, "") is None and decode('{"v": 1}', "") is None


def test_a_story_written_from_stored_notes_reads_as_one_written_without(items):
    from tidings.write import Brief
    from tidings.write.notes import decode, encode

    now = datetime(2026, 3, 20, tzinfo=UTC)
    for story in _stories(items):
        stored = {i.id: decode(encode(extractive.take_notes(i), i.content_hash), i.content_hash) for i in story}
        plain = extractive.compose(Brief(1, story, None, (), now))
        noted = extractive.compose(Brief(1, story, None, (), now, notes=stored))
        assert noted == plain and plain.sections
