"""Text helpers shared by every stage: whitespace, sentences, tokens and feed HTML to plain text."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata

from lxml import etree
from lxml import html as lxml_html

_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Collapse runs of whitespace to one space: the form in which sentences are compared."""
    return _SPACE.sub(" ", text).strip()


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
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then space.
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”’)\]]*)(\s+)")


def sentences(text: str) -> list[str]:
    """Split plain text into sentences; paragraphs (blank lines) always end a sentence.

    Returned sentences are exact substrings of the paragraph with whitespace squashed, so a sentence can always
    be found again in its source.
    """
    out: list[str] = []
    for para in re.split(r"\n\s*\n|\n(?=\s*[-*•]\s)", text):
        para = squash(para)
        if not para:
            continue
        start = 0
        for m in _BOUNDARY.finditer(para):
            end = m.end(2)
            before = para[start:m.start(1)]
            word = before.rsplit(" ", 1)[-1].lower()
            nxt = para[m.end():m.end() + 1]
            if m.group(1) == "." and (word.rstrip(".") in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())):
                continue
            # An ellipsis followed by a lower-case word trails off mid-sentence.
            if ("…" in m.group(1) or ".." in m.group(1)) and nxt.islower():
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


def tokens(text: str) -> list[str]:
    """Lower-cased content words; model names and figures survive as single tokens."""
    text = unicodedata.normalize("NFKC", text).lower()
    return [t for t in _TOKEN.findall(text) if t not in STOPWORDS and (len(t) > 1 or t.isdigit())]


# --- HTML to text ------------------------------------------------------------------------------------------

_BLOCK = {"p", "div", "section", "article", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
          "pre", "table", "tr", "figure", "figcaption", "header", "footer", "aside", "dd", "dt", "br", "hr"}
_DROP = ["script", "style", "noscript", "iframe", "object", "embed", "template", "svg", "form", "button"]


def html_to_text(markup: str) -> str:
    """Feed HTML (content:encoded, Atom content) to plain text, one paragraph per block element.

    Scripts, styles and other active content are dropped; the result is plain text, never markup.
    """
    if not markup or "<" not in markup:
        return _unescape_plain(markup or "")
    try:
        root = lxml_html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return squash(re.sub(r"<[^>]+>", " ", markup))
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
    paragraphs = [squash(p) for p in re.split(r"\n\s*\n", "".join(parts))]
    return "\n\n".join(p for p in paragraphs if p)


def _unescape_plain(text: str) -> str:
    return plain_paragraphs(html.unescape(text))


def plain_paragraphs(text: str) -> str:
    """Plain text with each paragraph's whitespace squashed and paragraphs split by one blank line."""
    paragraphs = [squash(p) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)
