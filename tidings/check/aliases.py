"""Finding the knowledge base's names in a sentence in one pass, with indexes built once per knowledge base.

A name is found as a run of consecutive words whose normalised forms, joined, equal a normalised name or alias:
"GPT OSS 120B", "gpt-oss-120b" and "GPT-OSS 120B" all read "gptoss120b". The matcher keeps every proper prefix of
every name, so a scan starting at a word stops as soon as the words joined so far begin no name: most words are
one set look-up, and no run of words is joined unless it could still become a name.

`KBNames` gathers what the mention finder reads about a knowledge base on every sentence (its names, benchmarks,
developers and families, normalised), so that it is worked out once per knowledge base, not once per sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from tidings.check.kb import KnowledgeBase, Model, normalise

Match = tuple[int, int, str]  # (start, end, what the name means)

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.'’/\-]*")
_POSSESSIVE_END = re.compile(r"['’]s$")
_STRETCH_END = ",;:"


@lru_cache(maxsize=65536)
def _form(raw: str) -> tuple[int, str]:
    """(length kept, normalised form) of one raw word: trailing dots and quotes, and a possessive, are not part
    of a name. Cached: news repeats its vocabulary, and normalising is a pair of regex substitutions."""
    word = _POSSESSIVE_END.sub("", raw.rstrip(".'’,"))
    return len(word), normalise(word)


@lru_cache(maxsize=4096)
def words(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, normalised form) of each word; a name of several words is the join of their forms. Cached:
    one sentence is looked at for names, short names, benchmarks and descriptions."""
    out = []
    for m in _WORD.finditer(text):
        length, form = _form(m.group())
        out.append((m.start(), m.start() + length, form))
    return tuple(out)


@lru_cache(maxsize=4096)
def _forms(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The normalised form of each word, and which stretch between commas (or semicolons, colons) it is in:
    a name never runs across one. Cached beside `words`: every matcher scans the same sentence."""
    forms, stretch, n = [], [], 0
    for _, end, form in words(text):
        forms.append(form)
        stretch.append(n)
        n += text[end:end + 1] in _STRETCH_END
    return tuple(forms), tuple(stretch)


class AliasMatcher:
    """Finds, in one pass over a sentence's words, every run of up to `longest` words that spells a name; the
    longest runs win, runs never overlap, and among runs of one length the earliest wins."""

    def __init__(self, names: Mapping[str, str], longest: int) -> None:
        self._names = dict(names)  # a copy: the prefixes below must describe exactly these names
        # Proper prefixes only: a key that is a prefix is worth extending by another word, a key that is not
        # ends the scan from that word.
        self._prefixes = frozenset(key[:n] for key in self._names for n in range(1, len(key)))
        # The words a name can start with: most words of a sentence are none, and are passed over at once.
        self._starts = self._prefixes.union(self._names)
        self.longest = longest

    def find(self, text: str) -> list[Match]:
        """(start, end, what it names) for each name in `text`, in order."""
        found_words = words(text)
        if not found_words:
            return []
        runs = self._runs(text, found_words)
        return self._choose(found_words, runs) if runs else []

    def _runs(self, text: str, found_words: tuple[tuple[int, int, str], ...]) -> list[tuple[int, int, str]]:
        """Every (first word, word count, meaning) whose words spell a name, overlapping or not."""
        names, prefixes, longest = self._names, self._prefixes, self.longest
        forms, stretch = _forms(text)
        if self._starts.isdisjoint(forms):
            return []  # the common case, settled in one set operation
        count = len(forms)
        runs = []
        for i in [i for i, form in enumerate(forms) if form in self._starts]:
            key = ""
            for j in range(i, min(i + longest, count)):
                if stretch[j] != stretch[i]:
                    break
                key += forms[j]
                meaning = names.get(key)
                if meaning is not None:
                    runs.append((i, j - i + 1, meaning))
                if key not in prefixes:
                    break
        return runs

    @staticmethod
    def _choose(found_words: tuple[tuple[int, int, str], ...], runs: list[tuple[int, int, str]]) -> list[Match]:
        """The runs kept: longest first, then leftmost, each only if none of its words is taken already."""
        taken: set[int] = set()
        found = []
        for i, size, meaning in sorted(runs, key=lambda r: (-r[1], r[0])):
            span = range(i, i + size)
            if taken.isdisjoint(span):
                found.append((found_words[i][0], found_words[i + size - 1][1], meaning))
                taken.update(span)
        return sorted(found)


_MATCHERS: dict[tuple[int, int], tuple[Mapping[str, str], int, AliasMatcher]] = {}
_MATCHERS_KEPT = 32


def matcher(names: Mapping[str, str], longest: int) -> AliasMatcher:
    """The matcher for a mapping of names, built once. The mapping is taken as grow-only (as the knowledge
    base's indexes are: names are only ever added), so a change in its size means it must be built again."""
    key = (id(names), longest)
    entry = _MATCHERS.get(key)
    # The entry holds the mapping itself, so its id cannot be reused by another while the entry is kept.
    if entry is None or entry[0] is not names or entry[1] != len(names):
        if len(_MATCHERS) >= _MATCHERS_KEPT:
            del _MATCHERS[next(iter(_MATCHERS))]  # the oldest: knowledge bases come and go in tests
        entry = (names, len(names), AliasMatcher(names, longest))
        _MATCHERS[key] = entry
    return entry[2]


# --- what the mention finder reads about a knowledge base ---------------------------------------------------

_FAMILY_WORDS_KEPT = 50_000


@dataclass(frozen=True)
class KBNames:
    names: AliasMatcher  # model names and aliases, up to six words
    benchmarks: AliasMatcher  # benchmark names and aliases, up to four words
    developers: tuple[str, ...]  # normalised developer names, as the KB's developer index gives them
    developer_first_words: frozenset[str]  # "moonshot" of "Moonshot AI", for "Moonshot's K2"
    families: frozenset[str]  # normalised family names
    long_families: frozenset[str]  # those longer than three letters, which a word may start with ("Kimi")
    longest_family: int
    plain_models: tuple[Model, ...]  # models that are not a family's stand-in, in KB order
    developer_of: dict[str, str]  # model id -> normalised developer
    family_of: dict[str, str]  # model id -> normalised family
    described_as: dict[str, str]  # model id -> its name, architecture and notes, lower-cased
    name_count: int  # the sizes of the KB's indexes when these were worked out (see `_current`)
    benchmark_count: int
    # Answers of `is_family_word`, kept: descriptions ask it of the same few words over and over.
    _family_words: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)
    # The model each description resolved so far names, or None: kept by `tidings.check.mentions.describe`, as the
    # same descriptions come back sentence after sentence ("the company's flagship", "the larger model").
    described: dict[tuple[str | None, str], Model | None] = field(default_factory=dict, compare=False, repr=False)

    def is_family_word(self, form: str) -> bool:
        """Whether a normalised word is a family name, or starts with one of more than three letters."""
        known = self._family_words.get(form)
        if known is None:
            if len(self._family_words) >= _FAMILY_WORDS_KEPT:
                self._family_words.clear()  # a long-running process meets new words without end
            known = form in self.families or any(
                form[:n] in self.long_families for n in range(4, min(len(form), self.longest_family) + 1))
            self._family_words[form] = known
        return known


def kb_names(kb: KnowledgeBase) -> KBNames:
    """The knowledge base's names, indexed once and kept on the KB object for as long as it lives."""
    cached = getattr(kb, "_tidings_kb_names", None)
    if cached is not None and _current(cached, kb):
        return cached
    built = _build(kb)
    kb._tidings_kb_names = built  # type: ignore[attr-defined]  # a cache, not part of the KB's data
    return built


def _current(cached: KBNames, kb: KnowledgeBase) -> bool:
    # Adding a model makes the KB drop its cached family names, so another frozenset object (an identity test:
    # equal contents are not enough, a replaced model may keep its family) means the models changed; the old
    # one is held in `cached`, so its id is never reused. Benchmark names are only ever added.
    return (cached.families is kb.family_names and cached.name_count == len(kb.name_index)
            and cached.benchmark_count == len(kb.benchmark_index))


def _build(kb: KnowledgeBase) -> KBNames:
    families = kb.family_names
    long_families = frozenset(f for f in families if len(f) > 3)
    developers = tuple(kb.developer_index)
    return KBNames(
        names=AliasMatcher(kb.name_index, 6),
        benchmarks=AliasMatcher(kb.benchmark_index, 4),
        developers=developers,
        developer_first_words=frozenset(w.lower() for d in kb.developer_index.values() for w in d.split()[:1]
                                        if len(w) > 2),
        families=families,
        long_families=long_families,
        longest_family=max(map(len, long_families), default=0),
        plain_models=tuple(x for x in kb.models.values() if x.id not in kb.family_ids),
        developer_of={x.id: normalise(x.developer) for x in kb.models.values()},
        family_of={x.id: normalise(x.family) for x in kb.models.values()},
        described_as={x.id: f"{x.name} {x.architecture} {x.notes}".lower() for x in kb.models.values()},
        name_count=len(kb.name_index),
        benchmark_count=len(kb.benchmark_index),
    )
