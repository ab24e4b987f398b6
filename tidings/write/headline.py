"""A storyline's title: a source's headline without its publisher's name, its hype or its punctuation noise.

A storyline is titled from one of its items' headlines. Headlines carry things that belong to the page, not the
story: the site's name (" - Inference Press", "Gradient Notes 131: ..."), a kicker ("Breaking: ..."), a
clickbait tail ("and it is a monster", ": what you need to know", "(and why it matters)"). `clickbait` scores
how much a headline reads as bait, so the writer can prefer a plainer one.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from tidings.text import squash

# Separators between a headline and a site name, longest first so " :: " is not read as ":".
_SEPARATORS = (" :: ", " | ", " - ", " – ", " — ", " · ", " / ", ": ")
_SLUG = re.compile(r"[^0-9a-z]+")
# A generic tail that names a site: a few capitalised words or a domain ("| Reuters", "- The Verge", "example.com").
_SITE_TAIL = re.compile(r"(?:[A-Z0-9][\w'’&.]*(?:\s+(?:[A-Z0-9&][\w'’&.]*|of|the|and|on|for)){0,4}|[\w.-]+\.[a-z]{2,})")
_KICKER = re.compile(r"^(?:breaking(?: news)?|just in|exclusive|watch|live|updated?|opinion|analysis|explainer|"
                     r"revealed|video|podcast|sponsored|must read|new)\s*(?::|\||–|—|-)\s+", re.I)

_HYPE = (r"monster|beast|game[- ]?changer|huge|wild|insane|incredible|amazing|massive|big deal|bonkers|nuts|"
         r"unreal|mind[- ]?blowing|stunning|jaw[- ]?dropping|a must(?:[- ]see)?|epic|next level|on another level|"
         r"a banger|fire")
_TAILS = [re.compile(p, re.I) for p in (
    # "... is here and it is a monster", "..., and this is huge"
    rf"[\s,;:\-–—]+(?:and|but)?\s*(?:it|this|that|they|these|he|she)(?:['’]s|['’]re|\s+is|\s+are|\s+was|"
    rf"\s+looks|\s+seems|\s+could be|\s+might be|\s+may be)\s+(?:(?:an?|the|absolutely|totally|truly|just|so|"
    rf"real|complete|an absolute)\s+)*(?:\w+\s+)?(?:{_HYPE})\b\W*$",
    r"[\s,;:\-–—]+(?:and\s+)?here['’]?s\s+(?:why|how|what)\b.*$",
    r"[\s,;:\-–—]+(?:and\s+)?here (?:is|are)\s+(?:why|how|what)\b.*$",
    r"\s*[,;:\-–—|]\s*(?:(?:everything|what|all|things)\s+)?(?:you|we)\s+(?:need|should|want|have)\s+to\s+know"
    r"(?:\s+about\s+(?:it|this|them|that))?\W*$",
    r"\s*\(\s*(?:and\s+)?why\s+(?:it|this|that|they)\s+(?:matters?|counts?)\s*\)\W*$",
    r"[\s,;:\-–—]+(?:and\s+)?why\s+(?:it|this|that|they)\s+matters?\W*$",
    r"[\s,;:\-–—]+(?:and\s+)?you\s+won['’]?t\s+believe\b.*$",
    r"\s*[:\-–—]\s+[^:–—]*\b(?:keeps? on giving|nobody(?:['’]s| is) talking about|no one(?:['’]s| is) talking "
    r"about|will blow your mind|blows? (?:everyone|us|you) away|breaks? the internet|is a game[- ]?changer)\b.*$",
    r"\s+(?:and\s+)?(?:the\s+)?(?:internet|people|everyone|twitter|reddit)\s+(?:is|are)\s+(?:losing it|freaking "
    r"out|going wild|going crazy|buzzing|obsessed)\W*$",
    r"\s*[\[(](?:video|photos?|pictures|watch|updated?|live|exclusive|sponsored|podcast|must[- ]see|wow)[\])]\s*$",
)]
# "Everything you need to know about X": X is the story.
_BAIT_OPENING = re.compile(r"^(?:everything|what|all|\d+ things)\s+(?:you|we)\s+(?:need|should|want)\s+to\s+know\s+"
                           r"(?:about\s+)?(?=\S)", re.I)
_TRAILING_NOISE = re.compile(r"[\s:;,\-–—|·•*~/_]+$|(?:…|\.{2,})\s*$|!+\s*$")
_REPEATED = re.compile(r"([!?])[!?]+")

# Bait by weight: phrases that only bait (0.6 each), hype that a sober headline rarely uses (0.3), and words
# news headlines use too, which count only a little (0.15).
# Each of the next three starts with a lookahead for its words' first letters: most positions fail it cheaply.
_STRONG = re.compile(
    r"(?=[beghijkmnotwy])\b(?:monster|beast|mind[- ]?blowing|insane|you won['’]?t believe|won['’]?t believe|"
    r"everything you need to know|what you need to know|here['’]?s (?:why|how|what)|here is (?:why|how|what)|"
    r"this is huge|keeps? on giving|"
    r"nobody(?:['’]s| is) talking about|no one(?:['’]s| is) talking about|game[- ]?changer|jaw[- ]?dropping|"
    r"will blow your mind|breaks? the internet|omg|wtf|must[- ]see|must[- ]read|bonkers|"
    r"blows? (?:everyone|us|you) away)\b", re.I)
_MILD = re.compile(
    r"(?=[abeijrstuwy])\b(?:wild|stunning|incredible|amazing|unbelievable|shocking|epic|sweet spot|just dropped|"
    r"is here|buzzing|right now|(?:and )?why it matters|the truth about|you need|this is why|is a must)\b", re.I)
_FAINT = re.compile(r"(?=[befhmsv])\b(?:huge|massive|secrets?|finally|everyone|viral|hype[ds]?|breaking)\b", re.I)
_SECOND_PERSON = re.compile(r"\b(?:you|your|you['’]re|you['’]ll)\b", re.I)
_MEET = re.compile(r"(?:^|[?!.:]\s+)meet\s+\S", re.I)
_LISTICLE = re.compile(r"^\d+\s+(?:\w+\s+)?(?:things|reasons|ways|tips|tricks|facts|secrets|signs|mistakes|"
                       r"lessons|questions|takeaways)\b", re.I)
_TEASE_OPEN = re.compile(r"^(?:this is (?:why|how|what)|here['’]?s|here is|you['’]ll|guess what|wait until)\b", re.I)
_CAPS_WORD = re.compile(r"\b[A-Z]{4,}\b")
_MARKS = re.compile(r"[!?]{2,}")


def _slug(text: str) -> str:
    return _SLUG.sub("", text.lower())


@lru_cache(maxsize=1024)  # a few publishers, each asked about for every headline of theirs
def _publisher_slugs(publisher: str) -> frozenset[str]:
    """The publisher's name in the forms a headline may carry it: whole, before its own subtitle, without
    "The", or as its web address's host."""
    publisher = squash(publisher)
    if not publisher:
        return frozenset()
    forms = {publisher}
    for sep in (":", "|", " - ", " – ", " — ", ","):
        forms.add(publisher.split(sep, 1)[0])
    host = re.sub(r"^(?:https?://)?(?:www\.)?", "", publisher.lower()).split("/", 1)[0]
    if "." in host:
        forms.add(host.rsplit(".", 1)[0])
    out = set()
    for form in forms:
        form = form.strip()
        out.add(_slug(form))
        if form.lower().startswith("the "):
            out.add(_slug(form[4:]))
    return frozenset(s for s in out if len(s) >= 3)


def _without_publisher(title: str, publisher: str) -> str:
    slugs = _publisher_slugs(publisher)
    # A suffix: "... - Inference Press", "... | The Open Checkpoint".
    for sep in _SEPARATORS[:-1]:
        head, found, tail = title.rpartition(sep)
        if found and head.strip() and (_slug(tail) in slugs or not slugs and _looks_like_site(tail, head)):
            title = head.strip()
            break
    # A prefix: "Inference Press: ...", "Gradient Notes Midweek: ...", "Gradient Notes 131: ...".
    if slugs:
        for sep in _SEPARATORS:
            head, found, rest = title.partition(sep)
            if not found or not rest.strip():
                continue
            words = head.split()
            if any(_slug(" ".join(words[:k])) in slugs for k in range(max(len(words) - 2, 1), len(words) + 1)):
                title = rest.strip()
                break
    return title


def _looks_like_site(tail: str, head: str) -> bool:
    """Without the publisher's name, whether a " | X" or " - X" tail is a site name and not part of the title."""
    tail = tail.strip()
    return len(head.split()) >= 3 and len(tail.split()) <= 5 and bool(_SITE_TAIL.fullmatch(tail))


@lru_cache(maxsize=16384)  # clickbait and clean_headline both ask, mostly about the same squashed headline
def _strip_tails(title: str) -> str:
    changed = True
    while changed:
        changed = False
        for pattern in _TAILS:
            m = pattern.search(title)
            if m is not None and m.start() > 0 and any(c.isalnum() for c in title[:m.start()]):
                title = title[:m.start()]
                changed = True
    return title


def _symbols_out(text: str) -> str:
    """Emoji and other pictographs out: they are decoration, not words."""
    if text.isascii():
        return text
    return "".join(" " if unicodedata.category(c) == "So" else c for c in text)


@lru_cache(maxsize=16384)
def clean_headline(title: str, publisher: str = "") -> str:
    """The title without a publisher suffix or prefix (" - Inference Press", " | The Open Checkpoint",
    "Inference Press: …"), without a trailing clickbait clause ("and it is a monster", ": what you need to know",
    "— here's why", "(and why it matters)"), without trailing punctuation noise; never empty (fall back to the
    input squashed)."""
    original = squash(title)
    text = squash(_symbols_out(original))
    if not text:
        return original
    text = _without_publisher(text, publisher)
    kicker = _KICKER.match(text)
    if kicker is not None and text[kicker.end():].strip():
        text = text[kicker.end():]
        text = text[0].upper() + text[1:]
    opening = _BAIT_OPENING.match(text)
    if opening is not None:
        text = text[opening.end():]
        text = text[0].upper() + text[1:]
    text = _strip_tails(text)
    text = _REPEATED.sub(r"\1", text)
    previous = None
    while previous != text:
        previous = text
        text = _TRAILING_NOISE.sub("", text).strip()
    text = text.strip(" \t:;,-–—|·•*~/_")
    return text if any(c.isalnum() for c in text) else original


@lru_cache(maxsize=16384)
def clickbait(title: str) -> float:
    """0..1: how much the title reads as clickbait: "monster", "wild", "you won't believe", "everything you need to
    know", "here's why", "this is huge", "keeps on giving", "insane", "mind-blowing", all caps words, "!!", a
    question headline, etc."""
    text = squash(title)
    if not text:
        return 0.0
    score = 0.6 * len(_STRONG.findall(text)) + 0.3 * len(_MILD.findall(text)) + 0.15 * len(_FAINT.findall(text))
    if _strip_tails(text) != text:
        score = max(score, 0.6)
    if _SECOND_PERSON.search(text):
        score += 0.2
    if _MEET.search(text):
        score += 0.2
    if _LISTICLE.search(text):
        score += 0.4
    if _TEASE_OPEN.search(text):
        score += 0.4
    if _MARKS.search(text):
        score += 0.4
    elif "!" in text:
        score += 0.25
    if text.rstrip(" \"'”’)").endswith("?"):
        score += 0.3
    elif "?" in text:
        score += 0.2
    # In ASCII, letters all in capitals need text.isupper(): most headlines are ruled out on that, without the list.
    letters = [c for c in text if c.isalpha()] if text.isupper() or not text.isascii() else []
    if len(letters) >= 12 and all(c.isupper() for c in letters):
        score += 0.5
    else:
        # One word in capitals is usually a name (NVIDIA, RULER); more than that starts to shout.
        score += min(0.15 * max(len(_CAPS_WORD.findall(text)) - 1, 0), 0.45)
    return round(min(score, 1.0), 2)
