"""A fast reader for ordinary RSS 0.9x/1.0/2.0 and Atom 1.0 documents: lxml instead of feedparser, same answer.

feedparser is most of ingest's time (an event-driven parser in Python, and two HTML passes in Python over every
description). This module reads with lxml the documents whose meaning it can be sure of, giving the entry fields
`feeds._entry` reads exactly as feedparser would give them: the same element wins by feedparser's own rules, and
text goes through the same steps (stripped, relative links resolved, feedparser's mojibake and cp1252 repairs).
Anything it cannot be sure of makes it decline (`read_feed` returns None) and the caller uses feedparser: a
DOCTYPE or any parse error, an unknown root or namespace layout, an element feedparser treats specially that is
not handled here, markup whose sanitising could change its text, an ambiguous choice between summary and content.

One thing is reproduced only in effect: feedparser sanitises HTML (descriptions, content, HTML-typed titles; Atom
XHTML content, which it first writes back as a string), keeping some attributes and dropping others. Only
`html_to_text` of those values is used, so markup is accepted only when it is plain enough (tags the sanitiser
keeps, or drops with nothing inside, well-formed attributes and comments) that the text is certain, and it is
written as the sanitiser would write it but without attributes. Its length, which decides between summary and
content, is then known only within bounds, so a choice the bounds leave open is declined.

The element names, namespace prefixes and handler lists come from feedparser itself, so that an element this
module takes for inert is one feedparser has no handler for.
"""

from __future__ import annotations

import contextlib
import html.entities
import re
from collections.abc import Collection
from dataclasses import dataclass
from hashlib import blake2b
from urllib.parse import urljoin

from lxml import etree

try:  # feedparser's tables; without them the fast path is simply off
    from feedparser.api import StrictFeedParser as _FP
    from feedparser.datetimes import _parse_date
    from feedparser.sanitizer import _HTMLSanitizer
    from feedparser.urls import make_safe_absolute_uri
    from feedparser.util import FeedParserDict

    _KNOWN_NS: dict[str, str] | None = {uri.lower(): prefix for uri, prefix in _FP.namespaces.items()}
    _STARTS = frozenset(n[len("_start_"):] for n in dir(_FP) if n.startswith("_start_"))
    _ENDS = frozenset(n[len("_end_"):] for n in dir(_FP) if n.startswith("_end_"))
    _ACCEPTABLE = frozenset(_HTMLSanitizer.acceptable_elements)
    _KEYMAP = frozenset(FeedParserDict.keymap)
except (ImportError, AttributeError, TypeError):  # pragma: no cover - a feedparser without these internals
    _KNOWN_NS = None
    _STARTS = _ENDS = _ACCEPTABLE = _KEYMAP = frozenset()

ATOM_NS = "http://www.w3.org/2005/Atom"
RSS10_NS = "http://purl.org/rss/1.0/"
RSS090_NS = "http://my.netscape.com/rdf/simple/0.9/"
XHTML_NS = "http://www.w3.org/1999/xhtml"
_STD_PREFIXES = frozenset(p for p in (_KNOWN_NS or {}).values() if p) | {"xml"}

# Element names as feedparser calls them (namespace prefix mapped, lower case), by the role they play for an entry.
_TITLE = {"title", "dc_title", "media_title"}  # media:title stands in for a title but does not hold its place
_GUID = {"guid", "id"}
_PUBLISHED = {"pubdate", "published", "issued", "dcterms_issued"}
_UPDATED = {"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"}
_AUTHOR = {"author", "managingeditor", "dc_author", "dc_creator", "itunes_author"}
# Summary-like elements (with their default type): a second one becomes content, unless content came first.
_SUMMARY = {"description": "text/html", "dc_description": "text/html", "media_description": "text/html",
            "summary": "text/plain", "itunes_summary": "text/plain"}
_CONTENT = {"content": "text/plain", "content_encoded": "text/html", "fullitem": "text/html"}
_TEXTS = _TITLE | set(_SUMMARY) | set(_CONTENT) | {"abstract"}
_ENTRY_FIELDS = _TEXTS | _GUID | _PUBLISHED | _UPDATED | _AUTHOR | {"link"}
_NESTED_TEXTS = {"media_title", "media_description"}  # read deeper in an entry too (as in <media:content>)
# Elements whose text feedparser takes as markup: their children are never dispatched, but their end tags are.
_SWALLOWERS = _TEXTS | {"subtitle", "tagline", "itunes_subtitle", "rights", "copyright", "dc_rights", "info",
                        "feedburner_browserfriendly", "body", "xhtml_body"}
# Never accepted below the top of the feed or of an entry: they open a context of their own in feedparser.
_ALWAYS_DECLINED = {"rss", "channel", "feed", "item", "entry", "image", "textinput", "source", "body", "xhtml_body"}
_PERSON_PARTS = {"name", "email", "uri", "url", "homepage"}
_IMAGE_PARTS = {"title", "link", "url", "href", "width", "height", "description"}  # others end feedparser's image
_TEXTINPUT_PARTS = {"title", "link", "description", "name"}
# Keys an element without a handler must not be stored under: anywhere, the ones feedparser's handlers add to
# (a string there breaks them); in an entry, also the fields read from it and the names feedparser maps onto them.
_STRUCTURES = {"links", "tags", "authors", "contributors", "author_detail", "publisher_detail", "media_content",
               "media_thumbnail", "media_credit", "media_rating", "media_restriction", "media_license",
               "media_player", "where", "image", "textinput", "generator_detail", "license", "cloud", "source",
               "content", "title_detail", "summary_detail", "subtitle_detail", "rights_detail"}
_ENTRY_KEYS = _STRUCTURES | _KEYMAP | {"link", "id", "guidislink", "summary", "title", "published",
                                       "published_parsed", "updated", "updated_parsed", "author"}
_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}
_TEXTUAL = {"text/plain", "text/html", "application/xhtml+xml"}

# Tags whose markup is passed through feedparser's sanitiser with its text intact (all in its acceptable list)
# and that lxml reads as ordinary elements; the void ones are written by feedparser as "<br />".
_VOID = {"br", "hr", "img", "col", "source"}
_SAFE_TAGS = _VOID | {
    "a", "abbr", "acronym", "address", "article", "aside", "audio", "b", "big", "blockquote", "caption", "center",
    "cite", "code", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "font",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "i", "ins", "kbd", "li", "nav", "ol", "p", "pre", "q",
    "s", "samp", "section", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "time", "tr", "tt", "u", "ul", "var", "video"}
# Tags the sanitiser removes, when that leaves the text as it was: inline wrappers (their content stays), and
# embeds and scripts with nothing inside (html_to_text drops them anyway).
_UNWRAPPED = {"mark", "picture"}
_EMPTY_DROPPED = {"iframe", "script"}
_TEXT = r"(?:[^<]|<(?![A-Za-z/!?>]))"  # a "<" that cannot open a tag is text to sgmllib and to lxml alike
_TAG = r"""(?P<token>
    <!--(?!-?>)(?:(?!--).)*-->
  | </(?P<end>[A-Za-z][A-Za-z0-9]*)\s*>
  | <(?P<start>[A-Za-z][A-Za-z0-9]*)
     (?:\s+[A-Za-z_][-:.A-Za-z_0-9]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))?)*\s*(?P<slash>/?)>)"""
# Markup made of nothing else. Possessive and atomic, so that a mismatch fails in linear time (and without
# capturing groups, which Python 3.11's re mishandles under possessive repetition).
_HTML = re.compile(rf"(?:{_TEXT}++|(?>{re.sub(r'[(][?]P<[a-z]+>', '(?:', _TAG)}))*+", re.X | re.S)
# Splits markup into [text, token, end tag name, start tag name, "/" or "", text, ...].
_HTML_TAG = re.compile(_TAG, re.X | re.S)
# Attributes feedparser takes for a base (as a string, not a compiled XPath: feeds are parsed on several threads).
_BASE_ATTRS = "//@*[translate(local-name(), 'BASE', 'base') = 'base']"
# Elements that may be an entry's guid or id, whatever their case (`name` says which are).
_GUID_LIKE = "//*[translate(local-name(), 'GUID', 'guid') = 'guid' or translate(local-name(), 'ID', 'id') = 'id']"
# feedparser's HTML pass (sgmllib) rewrites references in text: a character reference keeps its number (C1 ones
# become the cp1252 character's), a named one is kept when HTML 4 knows the name and otherwise loses its ";" and
# has its "&" escaped. A name needs a character after it to count; at the very end it stays as written.
_REFERENCE = re.compile(r"&#([0-9]+|[xX][0-9a-fA-F]+);|&([A-Za-z][-.A-Za-z0-9]*)(?:;|(?=[^A-Za-z0-9]))")
_LOOKS_HTML = re.compile(r"</\w+>|&#?\w+;")
_MANGLED_QUERY = re.compile(r"&([A-Za-z0-9_]+);")
_URL_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+,.-]*://)/+")  # "http:///x" -> "http://x", as feedparser does
_PROLOG = re.compile(rb"(?:[ \t\r\n]++|<\?.*?\?>|<!--.*?-->)*+(?=<[^?!])", re.S)
_VERSION_10 = re.compile(rb"""<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.0\1""")
_CP1252 = {i: bytes([i]).decode("cp1252") for i in range(0x80, 0xA0) if i not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


@dataclass
class FastFeed:
    """What feedparser would have said of a document: its version, the feed's title and the entries' fields (as
    plain dicts with the keys `feeds._entry` reads)."""

    version: str
    title: str
    entries: list[dict]  # those not left out as unchanged
    prints: tuple[str, ...]  # of every entry in the document, in order
    skipped: int


class _Decline(Exception):
    """The document is not one this module can read exactly as feedparser does."""


def read_feed(data: bytes, seen: Collection[str] = frozenset(), context: tuple = ()) -> FastFeed | None:
    """The feed in UTF-8 `data` (as `to_utf8_xml` gives it), or None when feedparser should read it instead.

    Each entry's fingerprint covers its element as written and everything else its fields are made from here and
    in `feeds._entry`: the document's namespaces, base and version, the feed's title and the caller's `context`.
    An entry whose fingerprint is in `seen` is left out before it is read: most of a feed's entries are the same at
    every read, and reading an entry is most of the time a feed takes."""
    if _KNOWN_NS is None or not _plain_prolog(data):
        return None
    # Feeds are untrusted: no DTD, no entities beyond XML's own, no network, libxml2's size limits.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True, collect_ids=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    if len(parser.error_log):  # a warning (an XML 1.1 document, say) that expat might not pass over the same way
        return None
    try:
        return _Reader(root).read(seen, context)
    except _Decline:
        return None


def _plain_prolog(data: bytes) -> bool:
    """Only whitespace, an XML 1.0 declaration, processing instructions and comments before the root element.

    A DOCTYPE is never read here, even inside a comment: feedparser rewrites those with regular expressions."""
    prolog = _PROLOG.match(data)
    if prolog is None:
        return False
    head = prolog.group().lower()
    if b"<!doctype" in head or b"<!entity" in head:
        return False
    return not data.startswith(b"<?xml") or _VERSION_10.match(data) is not None


def _join(base: str, uri: str) -> str:
    """A URI resolved as feedparser resolves it (its slash repair first; "" when urljoin refuses it)."""
    if "://" in uri:
        uri = _URL_SLASHES.sub(r"\1", uri)
    try:
        return urljoin(base, uri)
    except ValueError:
        return ""


def _finish(text: str) -> str:
    """feedparser's last steps for every text value: text that is valid UTF-8 read as Latin-1 is read again as
    UTF-8, and C1 control characters become the cp1252 characters they stand for."""
    if not text.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            text = text.encode("latin-1").decode("utf-8")
        text = text.translate(_CP1252)
    return text


def _map_type(value: str) -> str:
    value = value.lower()
    return _TYPES.get(value, value)


class _Value:
    """A text value: feedparser's string, or for markup that string without its attributes; and the bounds of
    the length of feedparser's string."""

    __slots__ = ("text", "low", "high", "exact", "source")

    def __init__(self, text: str, low: int | None = None, high: int | None = None, exact: bool = True,
                 source: tuple | None = None) -> None:
        self.text = text
        self.low = len(text) if low is None else low
        self.high = len(text) if high is None else high
        self.exact = exact  # the very string feedparser gives
        self.source = source  # what feedparser's string is made from: the same source makes the same string


class _EntryState:
    """What feedparser keeps while it reads one entry, for the fields whose element it chooses."""

    def __init__(self, has_content: bool) -> None:
        self.fields: dict = {}
        self.has_content = has_content
        self.title_lock: int | None = None  # the depth of the title that holds the place (its title_depth)
        self.depths: dict[str, int] = {}  # the depth each field was stored from
        self.summary: _Value | None = None
        self.contents: list[_Value] = []

    def store(self, key: str, value: _Value, depth: int) -> None:
        if self.depths.get(key, depth) >= depth:
            self.fields[key] = value.text
            self.depths[key] = depth
            if key == "summary":
                self.summary = value

    def finish(self) -> dict:
        """The fields, once it is certain that `feeds._entry` keeps the same text from them as from feedparser's:
        it takes the longest content (the first of equals) if it is at least as long as the summary. Markup's
        length in feedparser is known only within bounds, so the choice must be settled by them, and the
        strings here (whose markup may be written differently) must lead to the same choice."""
        if not self.contents:
            return self.fields
        self.fields["content"] = [{"value": v.text} for v in self.contents]
        contents, summary = self.contents, self.summary
        best = next((v for i, v in enumerate(contents)
                     if all(v.low > w.high if j < i else v.low >= w.high for j, w in enumerate(contents) if j != i)),
                    None)
        if best is None or best is not max(contents, key=lambda v: len(v.text)):
            raise _Decline
        if summary is None or summary is best:
            return self.fields
        if summary.source is not None and summary.source == best.source:
            keeps_content = True  # the same markup: feedparser's strings are equal too
        elif best.low >= summary.high or best.high < summary.low:
            keeps_content = best.low >= summary.high
        else:
            raise _Decline
        if keeps_content != (len(best.text) >= len(summary.text)):
            raise _Decline
        return self.fields


class _Reader:
    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.prefixes = self._namespaces(root)
        self.names: dict[str, str] = {}
        self.base = self._base(root)

    # --- names and attributes, as feedparser sees them -----------------------------------------------------

    def _namespaces(self, root: etree._Element) -> dict[str, str]:
        """The prefix feedparser gives each namespace URI in the document.

        feedparser knows a list of namespaces by URI (compared in lower case) and names their elements with its
        own prefix; an unknown one is named by the prefix the document declared for it, looked up at the time,
        and an unknown default namespace makes its elements look like RSS. Only layouts where that lookup has one
        answer are read: every prefix bound to one URI, an unknown URI bound to one prefix that is not one of
        feedparser's, and no prefix of feedparser's bound to a different namespace."""
        prefixes: dict[str, str] = {}
        bound: dict[str, str] = {}
        for _event, (prefix, uri) in etree.iterwalk(root, events=("start-ns",)):
            lower = uri.lower()
            std = "" if "backend.userland.com/rss" in lower else _KNOWN_NS.get(lower)
            if prefix:
                key = prefix.lower()
                if bound.setdefault(key, uri) != uri or (key in _STD_PREFIXES and key != std):
                    raise _Decline
                if std is None:
                    std = key
            if std is None:  # an unknown default namespace
                raise _Decline
            if prefixes.setdefault(uri, std) != std:  # one unknown URI under two prefixes
                raise _Decline
        return prefixes

    def name(self, tag: object) -> str:
        if not isinstance(tag, str):
            raise _Decline
        name = self.names.get(tag)
        if name is None:
            if tag[0] == "{":
                uri, local = tag[1:].split("}", 1)
                prefix = self.prefixes.get(uri)
                if prefix is None:
                    raise _Decline
                name = f"{prefix}_{local}".lower() if prefix else local.lower()
            else:
                name = tag.lower()
            self.names[tag] = name
        return name

    def attrs(self, el: etree._Element) -> dict[str, str]:
        """An element's attributes keyed as feedparser keys them: lower-cased, with feedparser's prefix for a
        namespace it knows and none for one it does not (so two attributes may claim one key: declined)."""
        out: dict[str, str] = {}
        for key, value in el.attrib.items():
            if key[0] == "{":
                uri, local = key[1:].split("}", 1)
                prefix = _KNOWN_NS.get(uri.lower(), "")
                key = f"{prefix}:{local}" if prefix else local
            key = key.lower()
            if key in out:
                raise _Decline
            out[key] = value.lower() if key in ("rel", "type") else value
        return out

    def _base(self, root: etree._Element) -> str:
        """The base feedparser resolves links against below the root: "" unless the root has an xml:base.

        feedparser keeps a stack of bases that does not always unwind to the right one, so a base anywhere else
        is read only on the elements whose markup is read here (where it changes no text; `read` checks that no
        other has one), and only when the root has one too (then the stack unwinds as it should)."""
        self.based: set[etree._Element] = set()
        self.based_ok: set[etree._Element] = set()
        if not root.xpath(f"boolean({_BASE_ATTRS})"):
            return ""
        self.based = {a.getparent() for a in root.xpath(_BASE_ATTRS)}
        self.based.discard(root)
        attrs = self.attrs(root)
        given = attrs.get("xml:base", attrs.get("base"))
        if not given:
            if self.based:
                raise _Decline
            return ""
        base = _join("", given)
        for _ in range(3):  # each element below the root normalises it again, to a fixed point
            again = make_safe_absolute_uri(base, base) or base
            if again == base:
                return base
            base = again
        raise _Decline

    def resolve(self, uri: str) -> str:
        return _join(self.base, uri)

    # --- the document ----------------------------------------------------------------------------------------

    def read(self, seen: Collection[str] = frozenset(), context: tuple = ()) -> FastFeed:
        root, name = self.root, self.name(self.root.tag)
        nsmap = {u.lower() for u in self.root.nsmap.values()}
        children = list(root)
        if name == "rss":
            channels = [c for c in children if self.name(c.tag) == "channel"]
            if len(children) != 1 or len(channels) != 1:
                raise _Decline
            version, feed_level = "rss", list(channels[0])
        elif name == "feed" and root.tag == f"{{{ATOM_NS}}}feed":
            if RSS10_NS in nsmap or root.nsmap.get(None, "").lower() == RSS090_NS:
                raise _Decline  # feedparser would call it RSS 1.0
            version, feed_level = "atom10", children
        elif name == "rdf_rdf" and (RSS10_NS in nsmap or root.nsmap.get(None, "").lower() == RSS090_NS):
            # The channel's title is the feed's only if no item or image title came before it.
            if ATOM_NS.lower() in nsmap or not children or self.name(children[0].tag) != "channel":
                raise _Decline
            version, feed_level = "rss10", list(children[0]) + children[1:]
        else:
            raise _Decline
        self.version = version
        titles, items = [], []
        # feedparser's flag that an entry has content is reset after each entry, but set by feed-level elements
        # too, for the entry that follows them; it decides whether a second summary-like element is content.
        has_content = has_summary = False
        for el in feed_level:
            kind = self.name(el.tag)
            if kind in ("item", "entry"):
                items.append((el, has_content))
                has_content = False
                continue
            if kind in _SUMMARY and has_summary and not has_content or kind in _CONTENT:
                has_content = has_summary = True
            elif kind in ("summary", "itunes_summary"):
                has_summary = True
            if kind in ("title", "dc_title"):
                titles.append(el)
            elif kind in ("image", "textinput"):
                self.check_parts(el, _IMAGE_PARTS if kind == "image" else _TEXTINPUT_PARTS)
            elif kind in _AUTHOR or kind in ("contributor", "itunes_owner"):
                self.check_parts(el, _PERSON_PARTS | {"itunes_name", "itunes_email"})
            else:
                self.check_other(el, _ALWAYS_DECLINED | {"media_title"}, _ALWAYS_DECLINED | _TEXTS, _STRUCTURES)
        if len(titles) > 1 or not items:
            raise _Decline
        title = ""
        if titles:
            value = self.text(titles[0], "text/plain")
            if not value.exact:
                raise _Decline  # markup in the feed's title: feedparser's sanitised string is used as it is
            title = value.text
        prints = self.prints(items, (context, version, title))
        # Ids are looked at only when some entry could be left out: a feed read for the first time, or whose
        # entries all changed, is read whole anyway.
        known = seen if any(p in seen for p in prints) and self.skippable(items) else frozenset()
        entries = [self.entry(el, has) for (el, has), p in zip(items, prints, strict=True) if p not in known]
        if self.based - self.based_ok:
            raise _Decline
        return FastFeed(version, title, entries, prints, len(items) - len(entries))

    def prints(self, items: list[tuple[etree._Element, bool]], context: tuple) -> tuple[str, ...]:
        salt = repr(("xml", context, self.base, sorted(self.prefixes.items()))).encode()
        return tuple(blake2b(salt + repr(has).encode() + etree.tostring(el, with_tail=False), digest_size=10)
                     .hexdigest() for el, has in items)

    def skippable(self, items: list[tuple[etree._Element, bool]]) -> bool:
        """Whether entries may be left out: not when two share an id (telling them apart, `tidy`, needs all of
        them), nor when a base below the root is read (which `read` checks on the entries it reads)."""
        if self.based:
            return False
        ids = [i for i in self.entry_ids(items) if i]
        return len(ids) == len(set(ids))

    def entry_ids(self, items: list[tuple[etree._Element, bool]]) -> list[str]:
        """The id `entry` gives each item (its last guid or id, else its rdf:about), without reading the rest:
        the elements that may be one found by libxml2 in one pass over the document."""
        at = {el: n for n, (el, _) in enumerate(items)}
        found = [self.attrs(el).get("rdf:about", "") if el.attrib else "" for el, _ in items]
        for el in self.root.xpath(_GUID_LIKE):  # in document order: the last one in an item wins, as in `entry`
            n = at.get(el.getparent())
            if n is not None and not len(el) and self.name(el.tag) in _GUID:
                found[n] = self.guid_value(el)[0]
        return found

    def check_parts(self, el: etree._Element, parts: set[str]) -> None:
        """An element whose children feedparser reads into a context of its own (an image, an author): only
        leaves it expects there, so nothing leaks into the feed's or the entry's fields."""
        for child in el:
            if len(child) or self.name(child.tag) not in parts:
                raise _Decline

    def check_other(self, el: etree._Element, declined: set[str], nested: set[str], keys: set[str],
                    found: list | None = None, depth: int = 1) -> None:
        """An element read for nothing: it must not be one feedparser would take for a field or a context, nor
        hold one (`declined` here, `nested` below), nor be stored under one of `keys`; an element feedparser
        treats as markup must keep its children from being dispatched. Below an entry, a media:title or
        media:description is added to `found` with its depth, to be read in its turn."""
        name = self.name(el.tag)
        if name in declined or name.startswith(("gml_", "psc_")):  # these handlers fail out of their context
            raise _Decline
        if found is not None and depth > 1 and name in _NESTED_TEXTS:
            found.append((el, name, depth))
            return
        if name in _SWALLOWERS:
            self.check_swallowed(el)
            return
        # Without a start handler it is stored under its own name, or with attributes not even pushed (so an end
        # handler would find nothing to pop).
        if name not in _STARTS and ((name not in _ENDS and name in keys) or (name in _ENDS and el.attrib)):
            raise _Decline
        for child in el:
            self.check_other(child, nested, nested, keys, found, depth + 1)

    def check_swallowed(self, el: etree._Element) -> None:
        """feedparser turns the children of a text element into markup, except under an XML type other than
        XHTML; their end tags still reach its handlers, so none may have one."""
        kind = _map_type(self.attrs(el).get("type", "text/plain"))
        if kind.endswith("xml") and kind != "application/xhtml+xml":
            raise _Decline
        for child in el.iterdescendants():
            if self.name(child.tag) in _ENDS:
                raise _Decline

    # --- an entry --------------------------------------------------------------------------------------------

    def entry(self, item: etree._Element, has_content: bool) -> dict:
        """An item's fields, its children taken in order as feedparser takes them."""
        attrs = self.attrs(item)
        if attrs.keys() & {"lastmod", "href"}:
            raise _Decline
        state = _EntryState(has_content)
        if attrs.get("rdf:about"):
            state.fields["id"] = attrs["rdf:about"]
        authors, person = 0, False
        for el in item:
            name = self.name(el.tag)
            if name in _TEXTS:
                self.text_field(state, el, name, 1)
            elif name == "link":
                self.link(el, state.fields)
            elif name in _GUID:
                self.guid(el, state.fields)
            elif name in _PUBLISHED or name in _UPDATED:
                key = "published" if name in _PUBLISHED else "updated"
                state.fields[key] = self.plain(el)
                state.fields[f"{key}_parsed"] = _parse_date(state.fields[key])
            elif name in _AUTHOR:
                authors, person = authors + 1, person or len(el) > 0
                state.fields["author"] = self.author(el)
            elif name == "source":
                if len(el):
                    raise _Decline
                state.title_lock = None  # feedparser forgets which title holds the place
            else:
                found: list = []
                self.check_other(el, _ALWAYS_DECLINED, _ALWAYS_DECLINED | (_ENTRY_FIELDS - _NESTED_TEXTS),
                                 _ENTRY_KEYS, found)
                for child, child_name, depth in found:
                    self.text_field(state, child, child_name, depth)
        if authors > 1 and person:
            raise _Decline  # feedparser's merging of several authors is not reproduced
        return state.finish()

    def text_field(self, state: _EntryState, el: etree._Element, name: str, depth: int) -> None:
        """A title, summary or content element at `depth` below its entry, by feedparser's rules: the first
        non-empty title holds its place against later ones; a value from deeper down never replaces one from
        higher up; a summary-like element after a summary and before any content is content."""
        if name in _TITLE:
            value = self.text(el, "text/plain")
            if state.title_lock is None or depth < state.title_lock:
                state.store("title", value, depth)
            if name != "media_title" and value.text:  # (markup here is empty exactly when feedparser's is)
                state.title_lock = depth
        elif name in _CONTENT or (name in _SUMMARY and "summary" in state.fields and not state.has_content):
            state.has_content = True
            value = self.text(el, _CONTENT.get(name, "text/plain"), markup_ok=True)
            state.contents.append(value)
            if "summary" not in state.fields:  # copied without a depth
                state.fields["summary"], state.summary = value.text, value
        else:
            state.store("summary", self.text(el, _SUMMARY.get(name, "text/plain"), markup_ok=True), depth)

    def link(self, el: etree._Element, entry: dict) -> None:
        """feedparser's <link>: an href (from url, uri or href) is the link if rel is alternate and its type is
        HTML; without one, the element's text is, whatever it is."""
        if len(el):
            raise _Decline
        attrs = self.attrs(el)
        rel = attrs.setdefault("rel", "alternate")
        kind = attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
        href = attrs["url"] if "url" in attrs else attrs["uri"] if "uri" in attrs else attrs.get("href")
        if href:
            attrs["href"] = href
        if "href" in attrs:
            if rel == "alternate" and _map_type(kind) in ("text/html", "application/xhtml+xml"):
                entry["link"] = self.resolve(attrs["href"])
            return
        text = (el.text or "").strip()
        text = _finish(self.resolve(text) if text else text)
        if "&" in text:  # feedparser undoes what it takes for a query string's "&" mangled into references
            text = _MANGLED_QUERY.sub(r"&\1", text.replace("&amp;", "&"))
        entry["link"] = text

    def guid(self, el: etree._Element, entry: dict) -> None:
        """feedparser's <guid>/<id>: a permalink (an isPermaLink other than exactly "true" says it is not) is
        resolved and becomes the link if there is none yet; only the first one says whether the id is a link."""
        if len(el):
            raise _Decline
        value, permalink = self.guid_value(el)
        entry["id"] = value
        entry.setdefault("guidislink", permalink and "link" not in entry)
        if permalink:
            entry.setdefault("link", value)

    def guid_value(self, el: etree._Element) -> tuple[str, bool]:
        permalink = self.attrs(el).get("ispermalink", "true") == "true"
        value = (el.text or "").strip()
        return _finish(self.resolve(value) if value and permalink else value), permalink

    def author(self, el: etree._Element) -> str:
        """An author's text, or for an Atom person "name (email)", "name" or "email" as feedparser writes it."""
        if not len(el):
            return self.plain(el)
        self.check_parts(el, _PERSON_PARTS)
        parts = {}
        for child in el:
            kind = self.name(child.tag)
            if kind in ("name", "email"):
                if kind in parts:
                    raise _Decline
                parts[kind] = (child.text or "").strip()
        name, email = parts.get("name"), parts.get("email")
        if name and email:
            return f"{name} ({email})"
        if name or email:
            return name or email
        return _finish("".join([el.text or ""] + [c.tail or "" for c in el]).strip())

    def plain(self, el: etree._Element) -> str:
        if len(el):
            raise _Decline
        return _finish((el.text or "").strip())

    # --- text and markup -------------------------------------------------------------------------------------

    def text(self, el: etree._Element, default_type: str, markup_ok: bool = False) -> _Value:
        """A title, summary or content as feedparser stores it (or, for markup, as `html_to_text` reads it)."""
        attrs = self.attrs(el)
        kind = _map_type(attrs.get("type", default_type))
        if "mode" in attrs or kind not in _TEXTUAL:
            raise _Decline
        own_base = ""
        if any(k.rsplit("}", 1)[-1].lower() == "base" for k in el.attrib):
            # a base of its own only moves the links inside its markup; feedparser's stack unwinds it (see _base)
            if not (markup_ok and self.base):
                raise _Decline
            self.based_ok.add(el)
            own_base = attrs.get("xml:base", attrs.get("base", ""))
        extra_base = len(own_base) + len(self.base) if own_base else 0
        if kind == "application/xhtml+xml":
            if not markup_ok or self.version != "atom10":
                raise _Decline
            return self.xhtml(el, extra_base)
        if len(el):
            raise _Decline  # feedparser would rebuild the children as markup
        raw = (el.text or "").strip()
        if kind == "text/plain" and (self.version.startswith("atom") or not _looks_like_html(raw)):
            return _Value(_finish(raw))
        if "\r" in raw:
            raise _Decline  # the sanitiser turns CR LF into LF
        if "<" not in raw and "&" not in raw:
            return _Value(_finish(raw))  # nothing the HTML pass would touch
        value = self.markup(raw, extra_base)
        value.source = (raw, self.base, own_base)
        return value

    def markup(self, raw: str, extra_base: int) -> _Value:
        """HTML that feedparser resolves and sanitises, accepted only when that keeps its text: written here as
        the sanitiser writes it but without attributes (the text is the same), with the bounds of the length of
        feedparser's string."""
        if _HTML.fullmatch(raw) is None:
            raise _Decline
        out: list[str] = []
        text_parts: list[str] = []
        high = 0
        base_len = len(self.base) + extra_base
        dropped = ""  # an <iframe> or <script> whose end tag must come next
        parts = _HTML_TAG.split(raw)
        for i in range(0, len(parts), 5):
            text = parts[i]
            if text:
                if dropped:
                    raise _Decline
                if "&" in text:
                    text = _html_refs(text, last=i == len(parts) - 1)
                text_parts.append(text)
                out.append(text)
            if i + 1 == len(parts):
                break
            token, end, start, slash = parts[i + 1:i + 5]
            if start is None and end is None:  # a comment: kept by feedparser, dropped by html_to_text
                out.append(token)
                high += len(token)
                continue
            tag = (start or end).lower()
            if dropped:
                if end is None or tag != dropped:
                    raise _Decline
                dropped = ""
            elif tag in _UNWRAPPED and not slash:
                pass
            elif tag in _EMPTY_DROPPED and start and not slash:
                dropped = tag
            elif tag not in _SAFE_TAGS or (end and tag in _VOID) or (slash and tag not in _VOID):
                raise _Decline
            else:
                out.append(f"<{tag} />" if tag in _VOID else f"</{tag}>" if end else f"<{tag}>")
                # The sanitiser may drop every attribute, or escape and absolutise the ones it keeps.
                high += 6 * len(token) + 8 + base_len * (token.count("=") + 1)
        if dropped:
            raise _Decline
        text = "".join(text_parts)
        _check_mojibake(text)
        value = "".join(out).strip()  # the sanitiser strips its result (removed tags may leave spaces at an end)
        # With no tag at all this is exactly the sanitiser's string.
        if not value.isascii():
            value = value.translate(_CP1252)
        return _Value(value, len(value), high + len(text), exact=len(parts) == 1)

    def xhtml(self, el: etree._Element, extra_base: int) -> _Value:
        """Atom XHTML content: feedparser writes the children back as markup (a lone wrapping <div> dropped) and
        sanitises that; here they are written as tags without attributes, which reads as the same text."""
        out: list[str] = []
        text_parts: list[str] = []
        slack = [0]
        base_len = len(self.base) + extra_base

        def text(value: str | None) -> None:
            if value:
                escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                out.append(escaped)
                text_parts.append(escaped)

        def write(node: etree._Element) -> None:
            tag = node.tag
            if not _xhtml_tag(tag):
                raise _Decline
            local = tag.rsplit("}", 1)[-1].lower()
            if local not in _SAFE_TAGS or self.name(tag) in _ENDS:
                raise _Decline
            slack[0] += sum(6 * (len(k) + len(v) + 4) + base_len for k, v in node.attrib.items())
            if local in _VOID:
                if len(node) or node.text:
                    raise _Decline
                out.append(f"<{local} />")
            else:
                out.append(f"<{local}>")
                text(node.text)
                for child in node:
                    write(child)
                out.append(f"</{local}>")
            text(node.tail)

        children = list(el)
        if (len(children) == 1 and not (el.text or "").strip() and not (children[0].tail or "").strip()
                and isinstance(children[0].tag, str) and children[0].tag.rsplit("}", 1)[-1].lower() == "div"):
            wrapper = children[0]
            if not _xhtml_tag(wrapper.tag) or self.name(wrapper.tag) in _ENDS:
                raise _Decline
            slack[0] += sum(6 * (len(k) + len(v) + 4) + base_len for k, v in wrapper.attrib.items())
            text(wrapper.text)
            for child in wrapper:
                write(child)
        else:
            text(el.text)
            for child in children:
                write(child)
        value = "".join(out).strip()
        _check_mojibake("".join(text_parts))
        return _Value(value.translate(_CP1252), len(value), len(value) + slack[0] + 8, exact=False)


def _xhtml_tag(tag: object) -> bool:
    """An element of XHTML content in a namespace it may be in (XHTML's, Atom's or none)."""
    return isinstance(tag, str) and (tag[0] != "{" or tag.startswith((f"{{{XHTML_NS}}}", f"{{{ATOM_NS}}}")))


def _looks_like_html(text: str) -> bool:
    """feedparser's guess that a plain-text element holds HTML: a close tag or a reference, every tag one its
    sanitiser accepts and every named reference one HTML 4 knows."""
    if not _LOOKS_HTML.search(text):
        return False
    if any(t.lower() not in _ACCEPTABLE for t in re.findall(r"</?(\w+)", text)):
        return False
    return all(e in html.entities.entitydefs for e in re.findall(r"&(\w+);", text))


def _html_refs(text: str, last: bool) -> str:
    """References in a run of HTML text as feedparser's HTML pass leaves them (the run ends at a tag, which ends
    a reference's name, unless it is the last run)."""
    if "&" not in text:
        return text
    text = text.replace("&#39;", "'").replace("&#34;", '"')
    probe = text if last else text + "<"

    def charref(m: re.Match) -> str:
        ref = m.group(1).lower()
        number = int(ref[1:], 16) if ref.startswith("x") else int(ref)
        return f"&#x{ord(_CP1252[number]):x};" if number in _CP1252 else f"&#{ref};"

    def reference(m: re.Match) -> str:
        if m.group(1) is not None:  # a character reference is tried first at each "&", then a named one
            return charref(m)
        name = m.group(2)
        return f"&{name};" if name in html.entities.name2codepoint or name == "apos" else f"&amp;{name}"

    out = _REFERENCE.sub(reference, probe)
    return out if last else out[:-1]


def _check_mojibake(text: str) -> None:
    """feedparser re-reads a whole value as UTF-8 when all of it is Latin-1 that is also valid UTF-8. Its value
    here has different markup around the same text, so the repair must be certain to fail for both (a character
    beyond Latin-1, or bytes that are not UTF-8, in the text itself) or to change no text (ASCII text)."""
    if text.isascii():
        return
    try:
        text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return
    raise _Decline
