"""Bytes to text for feeds and pages whose servers may declare the wrong character set, or a hostile one.

The order of evidence: a byte order mark, then the HTTP Content-Type's charset, then the document's own XML
declaration or HTML <meta>, else UTF-8. A declaration that does not fit the bytes gives way to UTF-8 and then to
cp1252, with a one-line warning; decoding never fails.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

FALLBACK = "cp1252"
_XML_HEAD = 1024  # an XML declaration sits at the very start
_HTML_HEAD = 4096  # where HTML says a <meta charset> must appear

_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# How "<?" begins a document in a BOM-less UTF-16 or UTF-32 (XML 1.0, appendix F).
_WIDE_STARTS = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_NAME = rb"([A-Za-z0-9][A-Za-z0-9._:-]{0,39})"
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9][A-Za-z0-9._:-]{0,39})""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']""" + _NAME, re.I)
_META = re.compile(rb"""<meta\s[^>]*?\bcharset\s*=\s*["']?\s*""" + _NAME, re.I)
_XML_DECL_TEXT = re.compile(r"""^(\s*<\?xml\s[^>]*?\bencoding\s*=\s*)(["'])[^"'>]*\2""", re.I)

# Codecs Python knows that no document may choose: UTF-7 smuggles markup past filters, the escape and IDNA codecs
# are not character sets at all.
_REFUSED = {"utf-7", "unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"}
# As browsers do, a label names the superset that servers mean by it: a page labelled Latin-1 or ASCII is cp1252 in
# practice (its curly quotes live in 0x80-0x9f), GB2312 is GB18030, Shift_JIS is Microsoft's cp932, and so on.
_SUPERSETS = {"iso8859-1": "cp1252", "ascii": "cp1252", "iso8859-9": "cp1254", "tis-620": "cp874",
              "gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "euc_kr": "cp949"}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Python codec that read the bytes
    warning: str | None = None  # one line, when the bytes were not read as declared


def decode(body: bytes, content_type: str = "") -> Decoded:
    """`body` as text, by its BOM, the Content-Type's charset, its XML or HTML declaration, else UTF-8."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return _read(body[len(bom):], encoding, {encoding}, f"the byte order mark says {encoding}, but the "
                                                                 "bytes do not fit")
    declared = _declarations(body, content_type)
    if not declared:
        wide = next((enc for start, enc in _WIDE_STARTS if body.startswith(start)), None)
        return _read(body, wide or "utf-8", set(), "no charset declared and the bytes are not UTF-8")
    usable = [(label, codec) for label, codec in ((label, _codec(label, body)) for label in declared) if codec]
    if not usable:
        return _read(body, None, set(), f"declared charset {declared[0]!r} is unknown or refused")
    label, first = usable[0]
    return _read(body, first, {codec for _, codec in usable}, f"declared charset {label!r} does not fit the bytes")


def to_utf8_xml(body: bytes, content_type: str = "") -> tuple[bytes, str | None]:
    """An XML document re-encoded as UTF-8 without a BOM, its declaration saying so, and any charset warning.

    An XML parser trusts the declaration over everything else, so it must name the encoding the bytes now have.
    """
    decoded = decode(body, content_type)
    text = _XML_DECL_TEXT.sub(r'\1"utf-8"', decoded.text, count=1)
    return text.encode("utf-8"), decoded.warning


def _declarations(body: bytes, content_type: str) -> list[str]:
    """The charset labels that claim to describe `body`, strongest first."""
    labels = []
    header = _HEADER_CHARSET.search(content_type or "")
    if header:
        labels.append(header.group(1))
    head = body[:_HTML_HEAD]
    if head.lstrip().startswith(b"<"):  # only markup declares itself inside; JSON or text never does
        for pattern, size in ((_XML_DECL, _XML_HEAD), (_META, _HTML_HEAD)):
            found = pattern.search(head[:size])
            if found:
                labels.append(found.group(1).decode("ascii"))
    return labels


def _codec(label: str, body: bytes) -> str | None:
    """The Python codec for a charset label, or None when Python has none or a document may not choose it."""
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name in _REFUSED or not _is_text_codec(name):
        return None
    if name in ("utf-16", "utf-32"):  # without a BOM Python would assume little-endian; markup starts with "<"
        return name + ("-be" if body[:1] == b"\0" else "-le")
    return _SUPERSETS.get(name, name)


def _is_text_codec(name: str) -> bool:
    """False for the codecs that turn bytes into bytes (zlib, base64, ...), which bytes.decode refuses."""
    try:
        b"a".decode(name, "ignore")
    except LookupError:
        return False
    except ValueError:  # a text codec that dislikes the probe
        pass
    return True


def _read(body: bytes, first: str | None, declared: set[str], misfit: str) -> Decoded:
    """Decode with `first`, else UTF-8, else cp1252; warn unless the encoding that fits is `first` or declared."""
    tries = [first or "utf-8", "utf-8", FALLBACK]
    if first and not first.startswith("utf") and _is_utf8_text(body):
        # Bytes that are valid UTF-8 and not plain ASCII are almost never meant as anything else, while a legacy
        # charset like Latin-1 decodes any bytes at all: a wrong Latin-1 label would pass unnoticed.
        tries.insert(0, "utf-8")
    for encoding in dict.fromkeys(tries):
        text = _strict(body, encoding)
        if text is not None:
            break
    else:
        encoding, text = FALLBACK, body.decode(FALLBACK, errors="replace")
    fits = encoding == first or encoding in declared
    return Decoded(text=text, encoding=encoding, warning=None if fits else f"{misfit}; read as {encoding}")


def _strict(body: bytes, encoding: str) -> str | None:
    if encoding.startswith(("utf-16", "utf-32")) and body and b"\0" not in body[:_XML_HEAD]:
        return None  # markup in UTF-16 or UTF-32 is full of zero bytes; ASCII bytes labelled so are not
    try:
        return body.decode(encoding)
    except ValueError:  # UnicodeDecodeError, or another UnicodeError from a less common codec
        return None


def _is_utf8_text(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
