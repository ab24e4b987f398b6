"""Text helpers shared by every stage: whitespace, sentences, tokens and feed HTML to plain text."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from lxml import etree
from lxml import html as lxml_html

HEADLINE_WORDS = 12  # words of an untitled item's text that become its title
# C0 controls but tab and newline, DEL and C1 controls, which no text shows and XML 1.0 cannot carry; lone
# surrogates and the two non-characters U+FFFE/U+FFFF, which cannot even be encoded or stored as XML.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space: the form in which sentences are compared."""
    # str.split() splits on exactly the characters a str regex's \s matches (both are str.isspace: also \x1c-\x1f,
    # NBSP and the other Unicode spaces), so this is re.sub(r"\s+", " ", text).strip() at a fraction of the cost.
    return " ".join(text.split())


def counted(n: int, word: str, plural: str = "") -> str:
    """"1 item", "2 items", "1 story", "3 stories" (`plural` when adding an s is wrong)."""
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def strip_controls(text: str | None) -> str:
    """Text from a feed or page with its control characters gone, so it can be stored, shown and put in XML.

    Line breaks stay line breaks (CR and CRLF become LF) and separators that count as whitespace become spaces,
    so words on either side of them stay apart; every other control character is dropped.
    """
    if not text:
        return ""
    if not isinstance(text, str):
        text = str(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(lambda m: " " if m.group().isspace() else "", text)


def headline(title: str, text: str = "", link: str = "") -> str:
    """A title for an item: its own, else the first words of its text, else its link's host and last path
    segment, so no item reaches a story or a feed without a headline."""
    title = squash(strip_controls(title))
    if title:
        return title
    words = squash(strip_controls(text)).split()
    if words:
        return " ".join(words[:HEADLINE_WORDS]) + ("…" if len(words) > HEADLINE_WORDS else "")
    try:
        parts = urlsplit(strip_controls(link))
        host = parts.hostname or ""
    except ValueError:  # a link too broken to name anything
        return ""
    segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    segment = squash(re.sub(r"[-_+]+", " ", segment.rsplit(".", 1)[0] if "." in segment else segment))
    return squash(strip_controls(": ".join(p for p in (host, segment) if p)))


def content_hash(*parts: str) -> str:
    """A hash of text that ignores case, whitespace and Unicode compatibility forms."""
    norm = " ".join(squash(unicodedata.normalize("NFKC", p)).lower() for p in parts)
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


# --- sentences ---------------------------------------------------------------------------------------------

# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "inc", "ltd", "co", "corp", "no", "fig",
    "al", "approx", "est", "gen", "gov", "sen", "rep", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "e.g", "i.e", "u.s", "u.k", "a.m", "p.m",
}
# Paragraphs: split at blank lines, and before a line that starts a list item.
_PARAGRAPHS = re.compile(r"\n\s*\n|\n(?=\s*[-*•]\s)")
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then space.
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)")


def sentences(text: str) -> list[str]:
    """Split plain text into sentences; paragraphs (blank lines) always end a sentence.

    Returned sentences are exact substrings of the paragraph with whitespace squashed, so a sentence can always
    be found again in its source.
    """
    out: list[str] = []
    for para in _PARAGRAPHS.split(text):
        para = squash(para)
        if not para:
            continue
        start = 0
        for m in _BOUNDARY.finditer(para):
            end = m.end(2)
            marks, stop = m.group(1), m.start(1)
            if marks == ".":
                # The word before the full stop (the paragraph is squashed: words are split by single spaces).
                space = para.rfind(" ", start, stop)
                word = para[space + 1 if space >= 0 else start:stop].lower()
                if word.rstrip(".") in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                    continue
            # An ellipsis followed by a lower-case word trails off mid-sentence.
            if ("…" in marks or ".." in marks) and para[m.end():m.end() + 1].islower():
                continue
            piece = para[start:end].strip()
            if piece:
                out.append(piece)
            start = m.end()
        rest = para[start:].strip()
        if rest:
            out.append(rest)
    return out


# --- tokens ------------------------------------------------------------------------------------------------

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
on once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves said says say new one two may might
must shall us via per its it's he's she's they're we're i'm don't can't won't isn't aren't wasn't weren't
""".split())

# Words, numbers with decimals or units, and hyphenated names (gpt-oss-120b, qwen3.5, 397b-a17b) stay whole.
_TOKEN = re.compile(r"[a-z0-9]+(?:[.\-+_][a-z0-9]+)*", re.UNICODE)


# A sentence's tokens are asked for several times while its story is written (its TF-IDF counts, its fact's
# words, its phrases), so short texts keep theirs in a small cache; whole articles would only crowd it.
_CACHED_CHARS = 1000


def tokens(text: str) -> list[str]:
    """Lower-cased content words; model names and figures survive as single tokens."""
    if len(text) <= _CACHED_CHARS:
        return list(_short_tokens(text))  # a list of its own: a caller may change it
    return _tokens(text)


@lru_cache(maxsize=4096)
def _short_tokens(text: str) -> list[str]:
    return _tokens(text)  # never handed out itself: tokens() copies it


def lead_tokens(text: str, n: int) -> list[str]:
    """`tokens(text)[:n]`, reading only as much of the text as it takes.

    Cutting the text can change only the token the cut falls in (a word or a figure split, a character composed
    with what follows): the last one of the prefix. So a prefix with more than n tokens gives the first n exactly."""
    size = 40 * n
    while size < len(text):
        found = _tokens(text[:size])
        if len(found) > n:
            return found[:n]
        size *= 2
    return tokens(text)[:n]


def _tokens(text: str) -> list[str]:
    if not text.isascii():  # ASCII is NFKC already
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    return [t for t in _TOKEN.findall(text) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())]


# --- HTML to text ------------------------------------------------------------------------------------------

_BLOCK = {"p", "div", "section", "article", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
          "pre", "table", "tr", "figure", "figcaption", "header", "footer", "aside", "dd", "dt", "br", "hr"}
_DROP = ["script", "style", "noscript", "iframe", "object", "embed", "template", "svg", "form", "button"]


def html_to_text(markup: str) -> str:
    """Feed HTML (content:encoded, Atom content) to plain text, one paragraph per block element.

    Scripts, styles and other active content are dropped; the result is plain text, never markup, and carries
    no control characters (lxml refuses some, and decodes others from character references).
    """
    markup = strip_controls(markup)
    if "<" not in markup:
        return _unescape_plain(markup)
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return squash(strip_controls(re.sub(r"<[^>]+>", " ", markup)))
    etree.strip_elements(root, *_DROP, etree.Comment, with_tail=False)
    parts: list[str] = []

    def walk(el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        block = tag.lower() in _BLOCK
        if block:
            parts.append("\n\n")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
        if block:
            parts.append("\n\n")
        if el.tail:
            parts.append(el.tail)

    walk(root)
    return plain_paragraphs("".join(parts))


def _unescape_plain(text: str) -> str:
    return plain_paragraphs(html.unescape(text))


def plain_paragraphs(text: str) -> str:
    """Plain text with each paragraph's whitespace squashed and paragraphs split by one blank line, without
    control characters."""
    paragraphs = [squash(p) for p in re.split(r"\n\s*\n", strip_controls(text))]
    return "\n\n".join(p for p in paragraphs if p)
