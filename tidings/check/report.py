"""`tidings check`: fact-check any text or page on its own, without a store."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.check.claims import checkworthy_sentences
from tidings.check.kb import KnowledgeBase
from tidings.check.verify import verify
from tidings.errors import TidingsError
from tidings.ingest.extract import ExtractError, page_entry
from tidings.ingest.feeds import FeedError, parse_feed, sniff
from tidings.ingest.fetch import FetchError, FetchPolicy, fetch

_HYPE = re.compile(r"\b(shatter\w*|smash\w*|crush\w*|destroys?|best ever|ever set|revolutionar\w*|"
                   r"game[- ]chang\w*|unprecedented|blows? away|mind-blowing|every record)\b", re.I)
_SCORE = re.compile(r"\b(MMLU(?:-Pro)?|GPQA(?: Diamond)?|AIME(?: 20\d\d)?|SWE-bench(?: Verified)?|LiveCodeBench|"
                    r"Humanity's Last Exam|FrontierMath|RULER)\b[^.;]{0,60}?\b\d+(?:\.\d+)?\s*%?", re.I)
_SETTING = re.compile(r"\b(with(?:out)? tools|harness|OpenHands|shot|pass@\d|high reasoning|setting|"
                      r"at \d+\w* tokens|test-time compute)\b", re.I)


class CheckInputError(TidingsError, ValueError):
    """Input that cannot be checked; the message is one line naming it."""


@dataclass(frozen=True)
class Document:
    name: str
    text: str


def read_document(location: str, stdin_bytes: bytes | None = None, timeout: float = 10.0,
                  policy: FetchPolicy | None = None) -> Document:
    """Text from a file, an http(s) URL, or standard input ('-'); pages go through the article extractor."""
    if location == "-":
        body, name = stdin_bytes or b"", "standard input"
    else:
        try:
            body = fetch(location, timeout=timeout, allow_local=True, policy=policy).body  # the user named it
        except FetchError as exc:
            raise CheckInputError(str(exc)) from None
        name = location
    if b"\x00" in body[:4096]:
        raise CheckInputError(f"{name}: binary data, not text")
    if sniff(body) == "html":
        try:
            entry = page_entry(body, location if "://" in location else "file:///" + name)
        except ExtractError as exc:
            raise CheckInputError(f"{name}: {exc}") from None
        text = f"{entry.title}.\n\n{entry.text}" if entry.title else entry.text
    elif sniff(body) == "xml" and (entries := _feed_entries(body, location)) is not None:
        # A feed: its entries' words, not its markup.
        text = "\n\n".join(f"{e.title}.\n\n{e.text}" if e.title else e.text for e in entries)
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckInputError(f"{name}: not UTF-8 text") from None
    if not text.strip():
        raise CheckInputError(f"{name}: empty")
    return Document(name, text)


_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]")


def _feed_entries(body: bytes, location: str) -> list | None:
    """The entries of an RSS or Atom document, or None when it is not one (other XML is read as text)."""
    if not _FEED_ROOT.search(body[:4096]):
        return None  # XML with <item>s in it is not a feed unless it is an <rss>, <feed> or RDF document
    try:
        entries, _, _ = parse_feed(body, location if "://" in location else "")
    except FeedError:
        return None
    return entries


_COMPARE = re.compile(r"\b(rival\w*|match\w*|beat\w*|surpass\w*|outperform\w*|ahead of|on par with|"
                      r"comparable to|competes? with|versus|vs)\b", re.I)


def flags(sentence: str, mentions=(), kb: KnowledgeBase | None = None) -> list[str]:
    """Framing problems, separate from verdicts: hype, a score without its setting, and a model set against a
    rival its developer did not compare it with."""
    out = []
    if _HYPE.search(sentence):
        out.append("hype")
    if _SCORE.search(sentence) and not _SETTING.search(sentence):
        out.append("score-without-setting")
    if kb is not None and _COMPARE.search(sentence):
        named = {m.model for m in mentions}
        for model_id in named:
            rivals = set(kb.models[model_id].vendor_comparators)
            if rivals and named - rivals - {model_id}:
                out.append("unnamed-comparator")
                break
    return out


def check_text(text: str, kb: KnowledgeBase) -> dict:
    """Every check-worthy sentence with its claims, verdicts and evidence, in the `tidings check --json` shape."""
    sentences = []
    families = kb.family_ids
    for s in checkworthy_sentences(text, kb):
        claims = []
        for claim in s.claims:
            verdict = verify(claim, kb)
            claims.append({"model": claim.model, "attribute": claim.attribute, "value": claim.value,
                           "setting": claim.setting, "attributed_to": claim.attributed_to, "verdict": verdict.verdict,
                           "evidence": [{"fact": e.fact, "source": e.source} for e in verdict.evidence]})
        found = flags(s.text, s.mentions, kb)
        if any(c["attribute"].startswith("score:") and c["model"] in families for c in claims):
            found.append("score-without-variant")  # "Qwen3.5 scores ..." - which of the family's models?
        sentences.append({"text": s.text, "checkworthiness": s.checkworthiness, "claims": claims, "flags": found})
    return {"sentences": sentences}
