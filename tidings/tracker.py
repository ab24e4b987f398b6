"""The tracker of open and closed models: a ledger of the models a digest's sources write about and of every
benchmark score they report.

It is built from the checked claims of the items in a digest's live stories and from the knowledge base. Each
model row says whether the model is open or closed and on what evidence (the knowledge base's fact, and the
sources' own sentences with their verdicts); each score says who reported it, where and when, and its verdict.
For each benchmark the best open-model and the best closed-model score over time are worked out, and drawn as
an SVG with no script in it.

Claims only ever name models the knowledge base knows (a name it cannot resolve is no mention), so models the
sources report as released but the knowledge base lacks are looked for here: a model-shaped name (one with a
digit in it, "Nimbus-34B") tied to a release verb ("Acme released Nimbus-34B", "Nimbus-34B was launched") that no
knowledge-base name covers. Those names are then handed to the claim extractor as mentions, so what the sources
say of them (openness, size, scores) is read the same way as for known models, and stays unverified.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from html import escape

from tidings.check.aliases import AliasMatcher, kb_names
from tidings.check.kb import KnowledgeBase, Model, load_kb, normalise
from tidings.check.values import ANNOUNCE_SCAN, RELEASE_SCAN
from tidings.check.words import readable_date, value_text
from tidings.model import CheckedClaim, Evidence, Item
from tidings.publish.feeds import xml_text
from tidings.store import Store
from tidings.text import sentences
from tidings.urls import web_url

OPEN, CLOSED = "open", "closed"
KB_BASIS, SOURCES_BASIS = "knowledge base", "sources"
# A figure the knowledge base contradicts is wrong, and one a sentence only reports someone else saying is not
# the source's own: neither can set a best score.
_NOT_A_RECORD = ("contradicted",)


# --- the ledger -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceRef:
    """The item a claim was read in."""

    item_id: int
    title: str
    publisher: str
    url: str  # an absolute http(s) URL, or "" when the item's link is not one
    published: datetime


@dataclass(frozen=True)
class Statement:
    """A source's sentence saying a model is open or closed, with its verdict."""

    sentence: str
    value: str  # open | closed
    verdict: str
    attributed_to: str
    source: SourceRef


@dataclass(frozen=True)
class TrackedModel:
    id: str  # the KB id; for a model the KB does not know, a slug of its name
    name: str
    developer: str
    openness: str  # open | closed | "" (not known, or the sources disagree)
    openness_basis: str  # knowledge base | sources | ""
    kb_openness: str  # the KB's own word: open-weight | fully-open | closed | ""
    licence: str
    kb_fact: str  # the KB's fact on its openness, in words ("" when it holds none)
    kb_sources: tuple[str, ...]  # where the KB has that fact from (web URLs)
    statements: tuple[Statement, ...]  # the sources' sentences on its openness
    params_total_b: float | None
    params_active_b: float | None
    released: str  # YYYY, YYYY-MM or YYYY-MM-DD
    in_kb: bool
    from_sources: tuple[str, ...] = ()  # facts above taken from the sources, not the KB (developer, released ...)
    first_reported: datetime | None = None  # the earliest item in the digest that says anything of it

    @property
    def params_text(self) -> str:
        parts = [f"{self.params_total_b:g}B total" if self.params_total_b is not None else "",
                 f"{self.params_active_b:g}B active" if self.params_active_b is not None else ""]
        return ", ".join(p for p in parts if p)

    @property
    def released_text(self) -> str:
        return readable_date(self.released) if self.released else ""


@dataclass(frozen=True)
class ReportedScore:
    benchmark: str  # KB id
    model: str
    model_name: str
    openness: str  # of the model: open | closed | ""
    value: float
    setting: str
    publisher: str
    attributed_to: str  # who the sentence says gave the figure, when the writer only reports it
    verdict: str
    sentence: str
    source: SourceRef
    evidence: tuple[Evidence, ...] = ()

    @property
    def reported_by(self) -> str:
        return self.attributed_to or self.publisher

    @property
    def day(self) -> date:
        return self.source.published.date()


@dataclass(frozen=True)
class BestPoint:
    """A day on which the best score of open (or closed) models on a benchmark rose."""

    day: date
    value: float
    model: str
    model_name: str
    setting: str
    publisher: str


@dataclass(frozen=True)
class BenchmarkTrack:
    id: str
    name: str
    scores: tuple[ReportedScore, ...]  # oldest report first
    best_open: tuple[BestPoint, ...]  # the best so far, each time it rose
    best_closed: tuple[BestPoint, ...]


@dataclass(frozen=True)
class Tracker:
    digest: str | None
    models: tuple[TrackedModel, ...]
    benchmarks: tuple[BenchmarkTrack, ...]

    @property
    def scores(self) -> tuple[ReportedScore, ...]:
        return tuple(s for b in self.benchmarks for s in b.scores)

    def model(self, model_id: str) -> TrackedModel | None:
        return next((m for m in self.models if m.id == model_id), None)


@functools.cache
def _builtin_kb() -> KnowledgeBase:
    return load_kb()


def build_tracker(store: Store, digest: str | None = None, kb: KnowledgeBase | None = None) -> Tracker:
    """The ledger of the models and scores in the items of a digest's live stories (of every digest's, with
    `digest` None), checked against `kb` (the built-in knowledge base by default)."""
    kb = kb or _builtin_kb()
    items = _digest_items(store, digest)
    claims = store.claims(sorted(items))
    unknown = unknown_models(items.values(), kb)
    claims += [c for u in unknown for c in u.claims]
    refs = {i.id: _source_ref(i) for i in items.values()}
    models = _models(claims, kb, unknown, refs)
    openness = {m.id: m.openness for m in models}
    names = {m.id: m.name for m in models}
    return Tracker(digest, models, _benchmarks(claims, kb, refs, openness, names))


def _digest_items(store: Store, digest: str | None) -> dict[int, Item]:
    ids = sorted({i for story in store.stories(digest) for i in story.item_ids})
    return {i.id: i for i in store.items(ids)}


def _source_ref(item: Item) -> SourceRef:
    return SourceRef(item.id, item.title, item.publisher, web_url(item.url), item.published)


# --- models -----------------------------------------------------------------------------------------------------

def _models(claims: list[CheckedClaim], kb: KnowledgeBase, unknown: Sequence[UnknownModel],
            refs: dict[int, SourceRef]) -> tuple[TrackedModel, ...]:
    by_model: dict[str, list[CheckedClaim]] = {}
    for c in claims:
        by_model.setdefault(c.model, []).append(c)
    for u in unknown:
        by_model.setdefault(u.id, [])
    found = {u.id: u for u in unknown}
    rows = [_model_row(model_id, said, kb.models.get(model_id), found.get(model_id), refs)
            for model_id, said in by_model.items()]
    return tuple(sorted(rows, key=lambda m: (m.name.casefold(), m.id)))


def _model_row(model_id: str, said: list[CheckedClaim], known: Model | None, unknown: UnknownModel | None,
               refs: dict[int, SourceRef]) -> TrackedModel:
    statements = tuple(Statement(c.sentence, str(c.value), c.verdict, c.attributed_to, refs[c.item_id])
                       for c in said if c.attribute == "openness" and c.item_id in refs)
    dates = [refs[c.item_id].published for c in said if c.item_id in refs]
    if unknown is not None:
        dates.append(unknown.first_reported)
    from_sources: list[str] = []

    def fact(attribute: str, kb_value):
        # The KB's value when it has one; else what the sources agree on, noted as theirs.
        if kb_value not in (None, ""):
            return kb_value
        agreed = _agreed(said, attribute)
        if agreed is not None:
            from_sources.append(attribute)
        return agreed

    developer = fact("developer", known.developer if known else "") or (unknown.developer if unknown else "")
    if unknown is not None and developer and "developer" not in from_sources:
        from_sources.append("developer")
    total = fact("params_total_b", known.params_total_b if known else None)
    active = fact("params_active_b", known.params_active_b if known else None)
    released = fact("released", known.released if known else "")
    openness, basis, kb_fact = _openness(known, said)
    name = known.name if known else (unknown.name if unknown else model_id)
    return TrackedModel(
        id=model_id, name=name, developer=str(developer or ""), openness=openness, openness_basis=basis,
        kb_openness=known.openness if known else "", licence=known.licence if known else "", kb_fact=kb_fact,
        kb_sources=tuple(u for u in (web_url(s) for s in (known.sources if known and kb_fact else ())) if u)[:2],
        statements=statements, params_total_b=_number(total), params_active_b=_number(active),
        released=str(released or ""), in_kb=known is not None, from_sources=tuple(from_sources),
        first_reported=min(dates, default=None))


def _openness(known: Model | None, said: list[CheckedClaim]) -> tuple[str, str, str]:
    """(open or closed, on whose word, the KB's fact in words): the KB's word when it has one ("open-weight" and
    "fully-open" are both open), else what the sources agree on."""
    if known is not None and known.openness:
        fact = f"{known.name} is {known.openness}" + (f" ({known.licence})" if known.licence else "")
        return (CLOSED if known.openness == "closed" else OPEN), KB_BASIS, fact
    said_so = _agreed(said, "openness") or ""
    return said_so, SOURCES_BASIS if said_so else "", ""


def _agreed(said: list[CheckedClaim], attribute: str):
    """The value the sources state of an attribute, if those that state it as their own agree on one; a value the
    KB contradicts or another source disputes is not taken."""
    values = {value_text(c.value): c.value for c in said if c.attribute == attribute and not c.attributed_to
              and c.verdict not in ("contradicted", "disputed")}
    return next(iter(values.values())) if len(values) == 1 else None


def _number(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# --- scores -----------------------------------------------------------------------------------------------------

def _benchmarks(claims: list[CheckedClaim], kb: KnowledgeBase, refs: dict[int, SourceRef],
                openness: dict[str, str], names: dict[str, str]) -> tuple[BenchmarkTrack, ...]:
    by_bench: dict[str, list[ReportedScore]] = {}
    for c in claims:
        if not c.attribute.startswith("score:") or c.item_id not in refs:
            continue
        value = _number(c.value)
        if value is None:
            continue
        ref = refs[c.item_id]
        bench = c.attribute.split(":", 1)[1]
        by_bench.setdefault(bench, []).append(ReportedScore(
            benchmark=bench, model=c.model, model_name=names.get(c.model, c.model),
            openness=openness.get(c.model, ""), value=value, setting=c.setting, publisher=ref.publisher,
            attributed_to=c.attributed_to, verdict=c.verdict, sentence=c.sentence, source=ref,
            evidence=c.evidence))
    tracks = []
    for bench, scores in by_bench.items():
        scores.sort(key=lambda s: (s.source.published, s.source.item_id, -s.value, s.model))
        known = kb.benchmarks.get(bench)
        tracks.append(BenchmarkTrack(bench, known.name if known else bench, tuple(scores),
                                     best_series(scores, OPEN), best_series(scores, CLOSED)))
    return tuple(sorted(tracks, key=lambda b: (b.name.casefold(), b.id)))


def best_series(scores: Iterable[ReportedScore], openness: str) -> tuple[BestPoint, ...]:
    """The best score of `openness` models so far, each day it rose: a step line over the report dates. Only a
    source's own figures that the KB does not contradict count."""
    eligible = [s for s in scores if s.openness == openness and s.verdict not in _NOT_A_RECORD
                and not s.attributed_to]
    best_of_day: dict[date, ReportedScore] = {}
    for s in eligible:
        held = best_of_day.get(s.day)
        if held is None or s.value > held.value:
            best_of_day[s.day] = s
    out: list[BestPoint] = []
    for day in sorted(best_of_day):
        s = best_of_day[day]
        if not out or s.value > out[-1].value:
            out.append(BestPoint(day, s.value, s.model, s.model_name, s.setting, s.reported_by))
    return tuple(out)


# --- models the knowledge base does not know ------------------------------------------------------------------

@dataclass(frozen=True)
class UnknownModel:
    """A model the sources report as released that no name in the knowledge base covers."""

    id: str
    name: str
    developer: str
    first_reported: datetime
    claims: tuple[CheckedClaim, ...] = ()  # what the digest's sentences say of it, all unverified


# Present-tense and noun forms of releasing; the past forms are the checker's own release and announce verbs.
_RELEASING = re.compile(r"\b(?:releases|launches|ships|unveils|introduces|debuts|announces|open-sources|publishes|"
                        r"rolls out|(?:release|launch|debut|arrival|unveiling) of)\b", re.I)
# A name: a capitalised word (or a lower-case one joined by hyphens, "nimbus-34b"), then up to three words that
# are capitalised or start with a digit ("Nimbus 34B Instruct").
_NAME = re.compile(r"(?<![\w.\-/])(?:[A-Z][\w.]*(?:['’]s\b)?|[a-z][\w.]*-[\w.\-]+)(?:-[\w.]+)*"
                   r"(?: (?:[A-Z][\w.]*|\d[\w.]*)(?:-[\w.]+)*){0,3}")
# Between a release verb and the name it releases ("launched its new open-weight model, Nimbus-34B").
_OBJECT_GAP = re.compile(r"[\s,:]+(?:(?:its|their|the|a|an|new|newest|latest|first|next|own|open|open[- ]weights?|"
                         r"open[- ]source|fully[- ]open|small|smaller|large|larger|flagship|reasoning|language|coding|"
                         r"base|instruct|chat|model|models|llm|family|version|called|named|dubbed|today)"
                         r"[\s,:]+){0,6}", re.I)
# Between a name and the verb that releases it ("Nimbus-34B was quietly launched", "Nimbus-34B, released ...").
_SUBJECT_GAP = re.compile(r",?\s+(?:(?:model|has|have|had|been|was|were|is|are|being|be|will|just|now|officially|"
                          r"finally|quietly|also|first|today|publicly|openly)\s+){0,4}", re.I)
# Words a model's name does not start with: articles, months and days, licences, sentence openers.
_NOT_A_NAME_START = frozenset(
    "the a an its their this that these those new our your on in at by for of and or but both all each every "
    "january february march april may june july august september october november december jan feb mar apr jun "
    "jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday apache mit cc gpl bsd "
    "version section article chapter figure table round phase series week day q1 q2 q3 q4 covid".split())
_MODEL_WORD = re.compile(r"\b(?:models?|llms?|weights|checkpoints?|parameters)\b", re.I)
_SIZE_IN_NAME = re.compile(r"\d(?:\.\d+)?[BbTt]\b")
_DIGIT = re.compile(r"\d")
_LETTERS = re.compile(r"[A-Za-z]{2}")
_POSSESSIVE = re.compile(r"['’]s$")
_RELEASER = re.compile(r"([A-Z][\w&.\-]*(?:\s+[A-Z][\w&.\-]*){0,3})\s+(?:(?:has|have|just|today|quietly|officially|"
                       r"finally|also|now)\s+){0,2}$")


def unknown_models(items: Iterable[Item], kb: KnowledgeBase) -> tuple[UnknownModel, ...]:
    """Models the items report as released whose names the knowledge base does not know, with what the items'
    sentences say of them (read by the claim extractor, so unverified), first reported first."""
    items = sorted(items, key=lambda i: (i.published, i.id))
    read = [(item, sentence) for item in items for sentence in sentences(_text(item))]
    found: dict[str, UnknownModel] = {}  # normalised name -> the model
    for item, sentence in read:
        for name, developer in _released_names(sentence, kb, _text(item)[:2000]):
            key = normalise(name)
            if key not in found:
                found[key] = UnknownModel(_slug(name), name, developer, item.published)
            elif developer and not found[key].developer:
                found[key] = replace(found[key], developer=developer)
    if not found:
        return ()
    claims = _claims_about(read, found, kb)
    return tuple(replace(u, claims=tuple(claims.get(u.id, ()))) for u in found.values())


def _text(item: Item) -> str:
    """An item's text as the check stage reads it, title first."""
    return f"{item.title}.\n\n{item.text}"


def _released_names(sentence: str, kb: KnowledgeBase, context: str = "") -> list[tuple[str, str]]:
    """(name, who released it as the sentence says) for each model-shaped name the sentence reports released
    that no knowledge-base model or benchmark name covers. `context`, the text around the sentence, lets a short
    name ("Scout") count as a model's, as it does for the checker."""
    verbs = [(m.start(), m.end()) for scan in (RELEASE_SCAN, ANNOUNCE_SCAN) for m in scan.finditer(sentence)]
    verbs += [(m.start(), m.end()) for m in _RELEASING.finditer(sentence)]
    if not verbs or not _DIGIT.search(sentence):
        return []
    from tidings.check.mentions import find_mentions  # its patterns take a while to build: only when needed

    known = [(m.start, m.end) for m in find_mentions(sentence, kb, context)]
    known += [(b, e) for b, e, _ in kb_names(kb).benchmarks.find(sentence)]
    out = []
    for start, end, name, owner in _names_in(sentence):
        if any(b < end and start < e for b, e in known) or kb.model(name) or kb.benchmark(name):
            continue
        if not (_MODEL_WORD.search(sentence) or _SIZE_IN_NAME.search(name)):
            continue  # a versioned product of another kind
        for v_start, v_end in verbs:
            if v_end <= start and _OBJECT_GAP.fullmatch(sentence[v_end:start]):
                out.append((name, owner or _releaser(sentence[:v_start])))
                break
            if end <= v_start and _SUBJECT_GAP.fullmatch(sentence[end:v_start]):
                out.append((name, owner))
                break
    return out


def _releaser(before: str) -> str:
    """Who the words before a release verb name as releasing ("Acme Labs" of "Acme Labs released"), if anyone."""
    found = _RELEASER.search(before)
    if found is None or normalise(found.group(1).split()[0]) in _NOT_A_NAME_START:
        return ""  # "The company released ...": no one named
    return found.group(1)


def _names_in(sentence: str) -> list[tuple[int, int, str, str]]:
    """(start, end, name, the possessive before it) for each run of words shaped like a model's name: it has a
    digit and a word of letters, and does not open with an article, a date or a licence."""
    out = []
    for m in _NAME.finditer(sentence):
        words = m.group().split(" ")
        start, owner = m.start(), ""
        # "Acme's Nimbus-34B": the possessive is who made it; "The Nimbus-34B": the article is no part of it.
        while words and (normalise(words[0].rstrip(".")) in _NOT_A_NAME_START or _POSSESSIVE.search(words[0])):
            if _POSSESSIVE.search(words[0]):
                owner = _POSSESSIVE.sub("", words[0])
            start += len(words[0]) + 1
            words = words[1:]
        name = " ".join(words).rstrip(".")
        name = _POSSESSIVE.sub("", name)
        if not name or not _DIGIT.search(name) or not _LETTERS.search(name):
            continue
        out.append((start, start + len(name), name, owner))
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-.") or "model"


def _claims_about(read: list[tuple[Item, str]], found: dict[str, UnknownModel], kb: KnowledgeBase
                  ) -> dict[str, list[CheckedClaim]]:
    """What every sentence naming one of the unknown models says of it, read by the claim extractor with that
    name as one more mention; the verdicts are the checker's (unverified: the KB holds nothing on it)."""
    from tidings.check.claims import extract_claims
    from tidings.check.mentions import Mention, find_mentions
    from tidings.check.verify import verify

    spelled = AliasMatcher({key: u.id for key, u in found.items()}, 4)
    out: dict[str, list[CheckedClaim]] = {}
    for item, sentence in read:
        named = spelled.find(sentence)
        if not named:
            continue
        mentions = find_mentions(sentence, kb, _text(item)[:2000])
        extra = [Mention(model, start, end) for start, end, model in named
                 if not any(x.start < end and start < x.end for x in mentions)]
        if not extra:
            continue
        ids = {x.model for x in extra}
        for claim in extract_claims(sentence, sorted([*mentions, *extra], key=lambda x: x.start), kb):
            if claim.model in ids:
                verdict = verify(claim, kb)
                out.setdefault(claim.model, []).append(
                    CheckedClaim(item.id, sentence, claim, verdict.verdict, verdict.evidence))
    return out


# --- the chart --------------------------------------------------------------------------------------------------

_W = 400  # the viewBox's width: the SVG scales to its container, down to a phone's
_LEGEND_H = 52
_PANEL_H = 210
_LEFT, _RIGHT = 52, 12
_PLOT_TOP, _PLOT_H = 34, 118  # within a panel
_INSET = 14  # the first and last days stand this far inside the plot, so their marks are not on the axes
_FONT = 'font-family="system-ui, sans-serif"'
_SERIES = {OPEN: ("#1f5fa8", "", "circle"), CLOSED: ("#c05600", "6 4", "square")}  # colour, dashes, mark
_LABELS = {OPEN: "Open models", CLOSED: "Closed models"}


def tracker_chart_svg(tracker: Tracker) -> str:
    """Small multiples, one panel per benchmark: the best open-model and best closed-model score so far, as step
    lines over the report dates (solid blue with circles, dashed orange with squares). Plain SVG, no script; the
    viewBox lets it scale to any width."""
    panels = [b for b in tracker.benchmarks if b.best_open or b.best_closed]
    height = _LEGEND_H + max(len(panels), 1) * _PANEL_H
    summary = "; ".join(_panel_summary(b) for b in panels) or "No benchmark scores of open or closed models yet."
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" role="img" '
           f'aria-labelledby="tracker-chart-title tracker-chart-desc" class="tracker-chart-svg">',
           '<title id="tracker-chart-title">Best reported benchmark scores of open and closed models over time'
           '</title>',
           f'<desc id="tracker-chart-desc">{_esc(summary)}</desc>',
           _legend()]
    if not panels:
        out.append(f'<text x="{_W / 2:g}" y="{_LEGEND_H + 60}" text-anchor="middle" {_FONT} font-size="14" '
                   f'fill="#555">No benchmark scores of open or closed models yet.</text>')
    for n, bench in enumerate(panels):
        out.append(_panel(bench, _LEGEND_H + n * _PANEL_H))
    out.append("</svg>")
    return "\n".join(out)


def _esc(text: object) -> str:
    """Text from data, safe as SVG text or as an attribute value in double quotes."""
    return escape(xml_text(str(text)), quote=True)


def _legend() -> str:
    parts = ['<g class="legend">']
    for n, series in enumerate((OPEN, CLOSED)):
        y = 16 + n * 22  # one row each: side by side they would not fit a phone's width
        colour, dashes, mark = _SERIES[series]
        dash = f' stroke-dasharray="{dashes}"' if dashes else ""
        parts.append(f'<line x1="8" y1="{y}" x2="42" y2="{y}" stroke="{colour}" stroke-width="2.5"{dash}/>')
        parts.append(_mark(mark, 25, y, colour))
        parts.append(f'<text x="50" y="{y + 4}" {_FONT} font-size="13" fill="#222">{_LABELS[series]}: best score '
                     f'reported so far</text>')
    parts.append("</g>")
    return "".join(parts)


def _mark(kind: str, x: float, y: float, colour: str, title: str = "") -> str:
    inner = f"<title>{_esc(title)}</title>" if title else ""
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}">{inner}</circle>'
    return f'<rect x="{x - 4.5:.1f}" y="{y - 4.5:.1f}" width="9" height="9" fill="{colour}">{inner}</rect>'


def _panel_summary(bench: BenchmarkTrack) -> str:
    def latest(points: tuple[BestPoint, ...], label: str) -> str:
        if not points:
            return f"no {label} score"
        p = points[-1]
        return f"best {label} score {p.value:g} ({p.model_name}, {readable_date(p.day.isoformat())})"
    return f"{bench.name}: {latest(bench.best_open, 'open-model')}, {latest(bench.best_closed, 'closed-model')}"


def _panel(bench: BenchmarkTrack, top: float) -> str:
    points = [*bench.best_open, *bench.best_closed]
    first, last = min(p.day for p in points), max(p.day for p in points)
    low, high, ticks = _value_scale([p.value for p in points])
    x0, x1 = _LEFT, _W - _RIGHT
    y0, y1 = top + _PLOT_TOP, top + _PLOT_TOP + _PLOT_H

    def x_of(day: date) -> float:
        if first == last:
            return (x0 + x1) / 2
        return x0 + _INSET + (day - first).days / (last - first).days * (x1 - x0 - 2 * _INSET)

    def y_of(value: float) -> float:
        return y1 - (value - low) / (high - low) * (y1 - y0)

    out = [f'<g role="group" aria-label="{_esc(_panel_summary(bench))}">',
           f"<title>{_esc(_panel_summary(bench))}</title>",
           f'<text x="8" y="{top + 20}" {_FONT} font-size="14" font-weight="600" fill="#111">{_esc(bench.name)}</text>',
           f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="none" stroke="#bbb"/>']
    for tick in ticks:
        y = y_of(tick)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT} font-size="12" '
                   f'fill="#444">{tick:g}</text>')
    for day in _day_ticks(sorted({p.day for p in points}), x_of):
        label = f"{day:%b} {day.day}" if first.year == last.year else f"{day:%b} {day.day}, {day.year}"
        out.append(f'<text x="{x_of(day):.1f}" y="{y1 + 17:.1f}" text-anchor="middle" {_FONT} font-size="12" '
                   f'fill="#444">{label}</text>')
    out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{y1 + 38:.1f}" text-anchor="middle" {_FONT} font-size="12" '
               f'fill="#222">Date reported</text>')
    mid = (y0 + y1) / 2
    out.append(f'<text x="16" y="{mid:.1f}" transform="rotate(-90 16 {mid:.1f})" text-anchor="middle" {_FONT} '
               f'font-size="12" fill="#222">Score</text>')
    for series, series_points in ((OPEN, bench.best_open), (CLOSED, bench.best_closed)):
        out.append(_series(series, series_points, bench.name, x_of, y_of, x_of(last)))
    out.append("</g>")
    return "\n".join(out)


def _series(series: str, points: tuple[BestPoint, ...], bench_name: str, x_of, y_of, x_end: float) -> str:
    if not points:
        return ""
    colour, dashes, mark = _SERIES[series]
    path = f"M{x_of(points[0].day):.1f} {y_of(points[0].value):.1f}"
    for p in points[1:]:
        path += f" H{x_of(p.day):.1f} V{y_of(p.value):.1f}"
    path += f" H{x_end:.1f}"  # the best so far holds until the last report shown
    dash = f' stroke-dasharray="{dashes}"' if dashes else ""
    out = [f'<g class="series-{series}">',
           f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>']
    for p in points:
        setting = f", {p.setting}" if p.setting else ""
        title = (f"{p.model_name} ({series}): {p.value:g} on {bench_name}{setting}, reported "
                 f"{readable_date(p.day.isoformat())} by {p.publisher}")
        out.append(_mark(mark, x_of(p.day), y_of(p.value), colour, title))
    # The best figure in words by its last mark: open above the line, closed below, so the two rarely collide.
    last = points[-1]
    x, y = x_of(last.day), y_of(last.value) + (-9 if series == OPEN else 18)
    anchor = "end" if x > x_end - 30 else "middle"
    out.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {_FONT} font-size="12" font-weight="600" '
               f'fill="{colour}">{last.value:g}</text>')
    out.append("</g>")
    return "".join(out)


def _value_scale(values: list[float]) -> tuple[float, float, list[float]]:
    """(low, high, ticks) of a score axis holding `values`, on round numbers."""
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.15, abs(hi) * 0.02, 1.0)
    lo, hi = lo - pad, hi + pad
    if min(values) >= 0:
        lo = max(lo, 0.0)
    step = _nice_step((hi - lo) / 4)
    low, high = (lo // step) * step, -((-hi) // step) * step
    ticks, tick = [], low
    while tick <= high + step / 1000:
        ticks.append(round(tick, 6))
        tick += step
    return low, high, ticks


def _nice_step(raw: float) -> float:
    """The round step (1, 2, 2.5 or 5 times a power of ten) nearest above `raw`."""
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(magnitude * f for f in (1, 2, 2.5, 5, 10) if magnitude * f >= raw)


def _day_ticks(days: list[date], x_of) -> list[date]:
    """The report days to label, at least 70 units apart (the first and the last always)."""
    kept: list[date] = []
    for day in days:
        if not kept or x_of(day) - x_of(kept[-1]) >= 70:
            kept.append(day)
    if kept[-1] != days[-1]:
        if len(kept) > 1 and x_of(days[-1]) - x_of(kept[-1]) < 70:
            kept.pop()
        kept.append(days[-1])
    return kept


# --- CSV and JSON -----------------------------------------------------------------------------------------------

CSV_COLUMNS = ("record", "model_id", "model", "in_kb", "openness", "attribute", "benchmark", "value", "setting",
               "verdict", "reported_by", "attributed_to", "basis", "date", "source_title", "source_url", "sentence")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def tracker_csv(tracker: Tracker) -> str:
    """The ledger as CSV, one row per model fact ("model"), per source sentence on a model's openness
    ("statement") and per reported score ("score"); see `CSV_COLUMNS`. A cell a spreadsheet would read as a
    formula is prefixed with a quote."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in _csv_rows(tracker):
        writer.writerow([_cell(row.get(column, "")) for column in CSV_COLUMNS])
    return buffer.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = value_text(value) if isinstance(value, float) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_rows(tracker: Tracker) -> Iterable[dict]:
    for m in tracker.models:
        base = {"model_id": m.id, "model": m.name, "in_kb": "yes" if m.in_kb else "no", "openness": m.openness}
        kb_url = m.kb_sources[0] if m.kb_sources else ""
        # Openness first and always, so a model known by name only still has its row.
        yield {**base, "record": "model", "attribute": "openness", "value": m.kb_openness or m.openness,
               "basis": m.openness_basis, "source_url": kb_url if m.openness_basis == KB_BASIS else ""}
        for attribute, value in (("developer", m.developer), ("params_total_b", m.params_total_b),
                                 ("params_active_b", m.params_active_b), ("released", m.released)):
            if value not in (None, ""):
                yield {**base, "record": "model", "attribute": attribute, "value": value,
                       "basis": SOURCES_BASIS if attribute in m.from_sources else KB_BASIS}
        for s in m.statements:
            yield {**base, "record": "statement", "attribute": "openness", "value": s.value, "verdict": s.verdict,
                   "reported_by": s.source.publisher, "attributed_to": s.attributed_to, "basis": "source",
                   **_source_cells(s.source), "sentence": s.sentence}
    in_kb = {m.id for m in tracker.models if m.in_kb}
    for s in tracker.scores:
        yield {"record": "score", "model_id": s.model, "model": s.model_name, "openness": s.openness,
               "in_kb": "yes" if s.model in in_kb else "no",
               "attribute": f"score:{s.benchmark}", "benchmark": s.benchmark, "value": s.value, "setting": s.setting,
               "verdict": s.verdict, "reported_by": s.publisher, "attributed_to": s.attributed_to, "basis": "source",
               **_source_cells(s.source), "sentence": s.sentence}


def _source_cells(source: SourceRef) -> dict:
    return {"date": source.published.date().isoformat(), "source_title": source.title, "source_url": source.url}


def tracker_json(tracker: Tracker) -> dict:
    """The ledger as plain JSON values (what `GET /api/tracker` serves)."""
    return {
        "digest": tracker.digest,
        "models": [_model_json(m) for m in tracker.models],
        "benchmarks": [{"id": b.id, "name": b.name, "scores": [_score_json(s) for s in b.scores],
                        "best_open": [_point_json(p) for p in b.best_open],
                        "best_closed": [_point_json(p) for p in b.best_closed]} for b in tracker.benchmarks],
    }


def _source_json(source: SourceRef) -> dict:
    return {"item_id": source.item_id, "title": source.title, "publisher": source.publisher, "url": source.url,
            "published": source.published.isoformat()}


def _model_json(m: TrackedModel) -> dict:
    return {"id": m.id, "name": m.name, "developer": m.developer, "in_kb": m.in_kb, "openness": m.openness,
            "openness_basis": m.openness_basis, "kb_openness": m.kb_openness, "licence": m.licence,
            "params_total_b": m.params_total_b, "params_active_b": m.params_active_b, "released": m.released,
            "from_sources": list(m.from_sources),
            "first_reported": m.first_reported.isoformat() if m.first_reported else None,
            "evidence": {"knowledge_base": {"fact": m.kb_fact, "sources": list(m.kb_sources)} if m.kb_fact else None,
                         "statements": [{"sentence": s.sentence, "value": s.value, "verdict": s.verdict,
                                         "attributed_to": s.attributed_to, "source": _source_json(s.source)}
                                        for s in m.statements]}}


def _score_json(s: ReportedScore) -> dict:
    return {"model": s.model, "model_name": s.model_name, "openness": s.openness, "value": s.value,
            "setting": s.setting, "reported_by": s.reported_by, "publisher": s.publisher,
            "attributed_to": s.attributed_to, "verdict": s.verdict, "sentence": s.sentence,
            "source": _source_json(s.source),
            "evidence": [{"fact": e.fact, "source": e.source} for e in s.evidence]}


def _point_json(p: BestPoint) -> dict:
    return {"date": p.day.isoformat(), "value": p.value, "model": p.model, "model_name": p.model_name,
            "setting": p.setting, "reported_by": p.publisher}

