"""The plain values that pipeline stages pass to each other.

Every stage takes and returns these frozen dataclasses; only `tidings.store` turns them into rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Digest:
    slug: str
    title: str
    description: str = ""
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    url: str
    name: str = ""
    digests: tuple[str, ...] = ()
    credibility: float | None = None
    id: int | None = None
    status: str = "new"  # new | ok | warning | error
    last_error: str | None = None
    last_fetched: datetime | None = None
    item_count: int = 0
    title: str = ""  # the feed's own title, learnt on the first read
    kind: str = ""  # feed | page: which reader reads it; "" until the first read (or the config) tells
    next_check: datetime | None = None  # a scheduled run reads it from then on; None: due now
    check_interval: float | None = None  # seconds between reads while healthy (None: the configured default)
    consecutive_errors: int = 0
    last_success: datetime | None = None

    @property
    def label(self) -> str:
        """What to call the source: the name the user gave it, else its feed's title."""
        return self.name or self.title


@dataclass(frozen=True)
class Entry:
    """One entry as read from a source, before it is matched against the store."""

    url: str
    title: str
    text: str
    publisher: str
    published: datetime | None = None
    guid: str | None = None
    author: str | None = None
    truncated: bool = False
    error: str | None = None  # e.g. why the full text could not be fetched


@dataclass(frozen=True)
class FetchResult:
    """What reading one source gave: its entries, or why it gave none."""

    source: Source
    entries: tuple[Entry, ...] = ()
    status: str = "ok"
    error: str | None = None
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    unchanged: bool = False
    title: str = ""  # the feed's or page's own title
    kind: str = ""  # what the source turned out to be: feed | page
    http_status: int | None = None  # of a failed request, when the server answered
    retry_after: float | None = None  # seconds the server asked us to wait (429, 503)
    prints: tuple[str, ...] | None = None  # fingerprints of every raw entry read (see `ingest.feeds`)
    skipped: int = 0  # entries left out because the last read had them unchanged


@dataclass(frozen=True)
class Polling:
    """A source's health and schedule after one read."""

    status: str  # ok | warning | error | gone
    error: str | None
    next_check: datetime | None  # None only for a source that is gone: it is not read again
    check_interval: float  # seconds
    consecutive_errors: int
    succeeded: bool


@dataclass(frozen=True)
class Item:
    id: int
    url: str
    title: str
    text: str
    publisher: str
    published: datetime
    content_hash: str = ""
    source_ids: tuple[int, ...] = ()
    publishers: tuple[str, ...] = ()  # every publisher that carried it, the first one first
    credibility: float | None = None  # the best credibility among the sources that carried it


@dataclass(frozen=True)
class Story:
    id: int
    digest: str
    title: str
    created: datetime
    updated: datetime
    item_ids: tuple[int, ...] = ()
    revision_count: int = 0


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article. Its text is a source's sentence verbatim, except for bracketed editorial
    insertions (a date for "on Friday"), which are recorded so the source's words can always be recovered."""

    text: str
    cites: tuple[int, ...]  # numbers in the revision's source list
    insertions: tuple[tuple[int, str], ...] = ()  # (offset in the source's sentence, text inserted after it)
    label: str = ""  # shown before the sentence, not part of it: a timeline line's date

    @property
    def source_text(self) -> str:
        """The sentence as its source wrote it: the text without the insertions."""
        out, pos, shift = [], 0, 0
        for at, added in sorted(self.insertions):
            out.append(self.text[pos:at + shift])
            pos = at + shift + len(added)
            shift += len(added)
        out.append(self.text[pos:])
        return "".join(out)


@dataclass(frozen=True)
class Section:
    heading: str
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class CitedSource:
    n: int
    item_id: int
    url: str
    title: str
    publisher: str
    published: datetime
    carried_by: tuple[str, ...] = ()  # other publishers that ran the same article


@dataclass(frozen=True)
class Claim:
    """A structured statement about a model a sentence makes: (model, attribute, value), with its qualifiers."""

    model: str  # KB id
    attribute: str  # openness | developer | licence | params_total_b | params_active_b | released |
    #                 context_tokens | score:<benchmark id>
    value: str | float
    text: str = ""  # the words that state it
    setting: str = ""  # for scores: "with tools", "without tools", a harness ... as the sentence says
    attributed_to: str = ""  # who the sentence reports as saying it, when the writer only reports it
    announced: bool = False  # a date of announcement, not of release


@dataclass(frozen=True)
class Evidence:
    fact: str
    source: str = ""  # a URL, or "" for evidence among the sources themselves


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str  # supported | contradicted | disputed | corroborated | single-source | unverified
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class CheckedClaim:
    """A verdict on a claim made by a sentence of a stored item."""

    item_id: int
    sentence: str
    claim: Claim
    verdict: str
    evidence: tuple[Evidence, ...] = ()
    id: int | None = None

    @property
    def model(self) -> str:
        return self.claim.model

    @property
    def attribute(self) -> str:
        return self.claim.attribute

    @property
    def value(self) -> str | float:
        return self.claim.value

    @property
    def setting(self) -> str:
        return self.claim.setting

    @property
    def attributed_to(self) -> str:
        return self.claim.attributed_to


@dataclass(frozen=True)
class FactCheck:
    """A checked claim from one of the story's sources, as the article reports it."""

    sentence: str
    cites: tuple[int, ...]
    model: str
    attribute: str
    value: str
    verdict: str
    evidence: tuple[tuple[str, str], ...]  # (fact, source URL)
    claim: str = ""  # the claim in words, with display names: "gpt-oss-120b scores 62 on SWE-bench Verified"
    attributed_to: str = ""  # the sentence reports someone else making the claim ("a blogger")


@dataclass(frozen=True)
class Revision:
    story_id: int
    number: int
    created: datetime
    headline: str
    sections: tuple[Section, ...]
    sources: tuple[CitedSource, ...]
    item_ids: tuple[int, ...]
    changes: tuple[str, ...] = field(default=())  # what changed since the previous revision
    fact_check: tuple[FactCheck, ...] = field(default=())
    added: tuple[str, ...] = field(default=())  # sentence texts that entered the article in this revision
    removed: tuple[str, ...] = field(default=())  # and those that left it
    numbering: tuple[tuple[int, int], ...] = field(default=())  # (item id, n) for every item ever cited: numbers
    #                                                              are never reused, so a source keeps its number
    writer: str = "extractive"  # the writer whose sentences these are
    model: str = ""  # for a model writer, the language model that wrote them, as its server names it
    dropped: tuple[tuple[str, str], ...] = field(default=())  # (sentence, why) the writer wrote and the check took out
    passages: tuple[tuple[int, str], ...] = field(default=())  # (n, text) a paraphrasing writer's sentences were
    #                                                            checked against, for the sources they cite

    def sentences(self):
        return [s for section in self.sections for s in section.sentences]

    @property
    def lede(self) -> Sentence | None:
        for section in self.sections:
            if section.sentences:
                return section.sentences[0]
        return None
