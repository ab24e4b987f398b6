"""The API's answers as JSON Schema (through pydantic models), for `/openapi.json`.

They describe what `publish.serialize` and `tracker.tracker_json` produce; the API tests check every answer
against them, so the document cannot drift from the answers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(_Shape):
    error: str


class DigestOut(_Shape):
    slug: str
    title: str
    description: str
    keywords: list[str]


class Digests(_Shape):
    digests: list[DigestOut]


class StorySummary(_Shape):
    id: int
    digest: str
    title: str
    headline: str
    lede: str
    created: str | None
    updated: str | None
    items: int
    revisions: int
    contradicted: int


class StoryList(_Shape):
    stories: list[StorySummary]
    next_cursor: str | None


class Insertion(_Shape):
    at: int
    text: str


class Passage(_Shape):
    n: int
    text: str


class SentenceOut(_Shape):
    text: str
    cites: list[int]
    insertions: list[Insertion] | None = None
    label: str | None = None
    checked_against: list[Passage] | None = None  # a model writer's sentence: the passages it was checked against


class Dropped(_Shape):
    sentence: str
    why: str


class SectionOut(_Shape):
    heading: str
    sentences: list[SentenceOut]


class CitedSourceOut(_Shape):
    n: int
    item_id: int
    url: str
    title: str
    publisher: str
    published: str
    carried_by: list[str]


class EvidenceOut(_Shape):
    fact: str
    source: str


class FactCheckOut(_Shape):
    sentence: str
    cites: list[int]
    model: str
    attribute: str
    value: str | float
    verdict: str
    claim: str
    attributed_to: str
    evidence: list[EvidenceOut]


class Diff(_Shape):
    added: list[str]
    removed: list[str]


class RevisionOut(_Shape):
    number: int
    created: str | None
    headline: str
    changes: list[str]
    item_ids: list[int]
    sections: list[SectionOut]
    sources: list[CitedSourceOut]
    fact_check: list[FactCheckOut]
    diff: Diff
    numbering: list[list[int]]
    writer: str  # "extractive", or the model writer that wrote its sentences
    model: str | None = None  # the language model, for a model writer
    dropped: list[Dropped] | None = None  # sentences the writer wrote that the grounding check took out


class StoryRevision(RevisionOut):
    story_id: int


class RevisionSummary(_Shape):
    number: int
    created: str | None
    headline: str
    changes: list[str]


class StoryOut(_Shape):
    id: int
    digest: str
    title: str
    created: str | None
    updated: str | None
    item_ids: list[int]
    sources: list[CitedSourceOut]
    revision: RevisionOut | None
    revisions: list[RevisionSummary]


class ClaimOut(_Shape):
    sentence: str
    model: str
    attribute: str
    value: str | float
    verdict: str
    setting: str
    attributed_to: str
    evidence: list[EvidenceOut]


class StoryRef(_Shape):
    id: int
    digest: str
    title: str


class ItemOut(_Shape):
    id: int
    url: str
    title: str
    text: str
    publisher: str
    publishers: list[str]
    published: str | None
    sources: list[int]
    claims: list[ClaimOut]
    stories: list[StoryRef]


class ItemBrief(_Shape):
    id: int
    url: str
    title: str
    publisher: str
    publishers: list[str]
    published: str | None
    sources: list[int]


class SearchResult(_Shape):
    item: ItemBrief
    title: str
    snippet: str
    title_html: str
    snippet_html: str
    stories: list[StoryRef]


class SearchResults(_Shape):
    results: list[SearchResult]
    next_offset: int | None


class Tracker(BaseModel):
    """The tracker's ledger (see `tracker.tracker_json`); its parts are documented there."""

    digest: str | None
    models: list[dict]
    benchmarks: list[dict]
