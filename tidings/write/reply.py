"""A language model's article as tidings asks for it, read back into sections of cited sentences.

The model is asked for Markdown: a line `## Heading` starts a section; every other non-empty line is a paragraph
of sentences, each ending with the `[n]` markers of the passages that support it (`... one million tokens. [2][7]`
or `... one million tokens [2, 7].`). Models often wrap the article in a code fence or open with a line of their
own ("Here is the article:"); both are taken off. Nothing here decides whether a sentence may be published: a
sentence without markers comes back with no citations, for the grounding check to drop and report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.errors import TidingsError
from tidings.text import sentences, squash, strip_controls

SUMMARY = "Summary"


class ReplyError(TidingsError):
    """A reply that holds no article: empty, or no sentence in it."""


@dataclass(frozen=True)
class ReplySentence:
    text: str
    cites: tuple[int, ...]  # the passage numbers its markers name, in their order, each once


@dataclass(frozen=True)
class ReplySection:
    heading: str
    sentences: tuple[ReplySentence, ...]


_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*?)\s*#*\s*$")
_MARKERS = re.compile(r"(?:\s*\[\s*\d{1,6}(?:\s*[,;]\s*\d{1,6})*\s*\])+")
_MARK_BODY = re.compile(r"\s*\d{1,6}(?:\s*[,;]\s*\d{1,6})*\s*")  # what stands between a marker's brackets
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(.+?)\1")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")


def parse_reply(reply: str) -> tuple[ReplySection, ...]:
    """The sections of an article a model wrote; raises ReplyError when there is no sentence to read."""
    lines = _unfenced(strip_controls(reply or "").splitlines())
    sections: list[tuple[str, list[ReplySentence]]] = []
    heading: str | None = None
    for line in lines:
        if not line.strip():
            continue
        m = _HEADING.match(line)
        if m:
            heading = squash(_plain(m.group(1))) or SUMMARY
            sections.append((heading, []))
            continue
        found = _sentences(line)
        if heading is None:
            # Before any heading: a line that cites nothing is the model talking ("Here is the article:"), not
            # the article; one that cites is the article's opening, under Summary.
            if not any(s.cites for s in found):
                continue
            heading = SUMMARY
            sections.append((heading, []))
        sections[-1][1].extend(found)
    out = tuple(ReplySection(h, tuple(found)) for h, found in sections if found)
    if not out:
        raise ReplyError("the reply holds no article: no sentence under a heading or citing a passage")
    return out


def _unfenced(lines: list[str]) -> list[str]:
    """The lines inside the first fenced block when the reply has one (the article); else all, fences dropped."""
    fences = [k for k, line in enumerate(lines) if _FENCE.match(line)]
    if len(fences) >= 2:
        inside = lines[fences[0] + 1:fences[1]]
        if any(line.strip() for line in inside):
            return inside
    return [line for line in lines if not _FENCE.match(line)]


def _sentences(line: str) -> list[ReplySentence]:
    """A paragraph's sentences, each with the passages its trailing markers cite."""
    text = squash(_plain(_LIST_MARK.sub("", line)))
    out = []
    for piece in _pieces(text):
        body, cites = _ending(piece)
        body = squash(_MARKERS.sub("", body))  # markers inside a sentence cite nothing on their own
        if body and body not in ".!?":
            out.append(ReplySentence(body, cites))
    return out


def _ending(piece: str) -> tuple[str, tuple[int, ...]]:
    """A sentence without its trailing markers ("... tokens [2][7]." -> "... tokens."), and the numbers they cite,
    each once. Read off the end one marker at a time: a pattern anchored at the end would try every starting point,
    which a reply of thousands of markers makes slow."""
    text = piece.rstrip()
    stop = ""
    if text[-1:] in (".", "!", "?") and text[:-1].rstrip().endswith("]"):
        stop, text = text[-1], text[:-1].rstrip()
    marks = []
    while text.endswith("]"):
        start = text.rfind("[")
        if start < 0 or not _MARK_BODY.fullmatch(text, start + 1, len(text) - 1):
            break
        marks.append(text[start + 1:-1])
        text = text[:start].rstrip()
    if not marks:
        return piece, ()
    cites = dict.fromkeys(int(n) for mark in reversed(marks) for n in re.findall(r"\d+", mark))
    return text + stop, tuple(cites)


def _pieces(text: str) -> list[str]:
    """Sentences of a paragraph, a sentence's markers kept with it whether they come before or after its stop."""
    # Move markers that follow a stop ("tokens. [2][7] Next") to before it, so the splitter keeps them with their
    # sentence; they are read off the end of each piece afterwards.
    moved = re.sub(r"([.!?])((?:\s*\[\s*\d{1,6}(?:\s*[,;]\s*\d{1,6})*\s*\])+)", r"\2\1", text)
    return [p.strip() for p in sentences(moved) if p.strip()]


def _plain(text: str) -> str:
    """Markdown emphasis and inline code taken off, their words kept."""
    return _EMPHASIS.sub(r"\2", text)
