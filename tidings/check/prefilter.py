"""Ruling a pattern out before running it: most sentences hold none of the words a claim pattern needs.

The claim patterns are long case-insensitive alternations tried at every position of a sentence, so running one
over a sentence that cannot match costs far more than asking whether the sentence holds any of a few words at all.
A `Prefiltered` pattern pairs a compiled pattern with its cues — lower-case words one of which every match of
the pattern contains (or a group of words, all of which it contains) — and runs the pattern only on text that
holds a cue, so it finds exactly what the pattern finds, sooner.

Whether a text holds a cue is asked of the text lower-cased. That agrees with the patterns' IGNORECASE matching
for every character but three, which a case-insensitive pattern matches to an ASCII letter while `str.lower`
makes them something else (found by trying every code point against every ASCII letter): the dotted capital I
(lower-cased to "i" and a combining dot), the dotless i and the long s. A text holding one of them is never
ruled out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

Cue = str | tuple[str, ...]  # a word, or words that must all be there

_FOLDED_APART = "İıſ"  # matched to "i", "i" and "s" by IGNORECASE, but not lower-cased to them


@lru_cache(maxsize=256)
def caseless(text: str) -> str | None:
    """`text` lower-cased, for finding the words a case-insensitive pattern matches in it; None when the text
    holds a character that IGNORECASE and lower-casing treat differently. Cached: each sentence is asked about
    by several patterns in turn."""
    if not text.isascii() and any(ch in text for ch in _FOLDED_APART):
        return None
    return text.lower()


def holds_any(text: str, words: tuple[str, ...], groups: tuple[tuple[str, ...], ...] = ()) -> bool:
    """Whether `text` may hold one of the lower-case `words`, or all the words of one of the `groups`, as a
    case-insensitive pattern reads it: False only when it certainly holds none."""
    low = caseless(text)
    if low is None:
        return True
    for word in words:  # noqa: SIM110 - a plain loop: any() over a generator costs a third more, on every sentence
        if word in low:
            return True
    for group in groups:
        for word in group:
            if word not in low:
                break
        else:
            return True
    return False


class Prefiltered:
    """A pattern that is only run on text holding one of its cues. Every match of the pattern must contain a cue
    (the cues are written beside each pattern, with why); then `finditer` and `search` give exactly what the
    pattern's own would. Given as source text (with its flags), the pattern is compiled when a text first holds a
    cue: the longest claim patterns take tens of milliseconds to compile, and most runs meet none of their cues."""

    __slots__ = ("_compiled", "_source", "cues", "groups", "words")

    def __init__(self, pattern: re.Pattern[str] | str, cues: tuple[Cue, ...], flags: int = 0) -> None:
        self._compiled = pattern if isinstance(pattern, re.Pattern) else None
        self._source = (pattern, flags) if isinstance(pattern, str) else None
        self.cues = cues
        self.words = tuple(cue for cue in cues if isinstance(cue, str))
        self.groups = tuple(cue for cue in cues if not isinstance(cue, str))
        every = [*self.words, *(word for group in self.groups for word in group)]
        if not cues or any(word != word.lower() or not word for word in every):
            raise ValueError("cues are non-empty and lower-case: they are looked for in lower-cased text")

    @property
    def pattern(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(*self._source)
        return self._compiled

    def possible(self, text: str) -> bool:
        """Whether the pattern may match `text` (False only when it certainly cannot)."""
        return holds_any(text, self.words, self.groups)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.pattern.finditer(text) if holds_any(text, self.words, self.groups) else iter(())

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text) if holds_any(text, self.words, self.groups) else None
