"""Claims: check-worthy sentences, and the structured facts about AI models that they state.

A sentence gets a check-worthiness score from what fact-checkers look for (figures, comparisons, superlatives,
named models and organisations, dates, attributions). Where a sentence says something about a model that the
knowledge base knows, the claim is structured as (model, attribute, value): openness, total or active
parameters, release year or month. One sentence can hold several claims ("comparable to closed models such as A
and B" says both A and B are closed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidings.check.checkworthy import learned_probability
from tidings.check.kb import KnowledgeBase, normalise
from tidings.text import sentences

MONTHS = {m: n for n, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                      "september", "october", "november", "december"), 1)}


@dataclass(frozen=True)
class Mention:
    model: str  # KB id
    start: int
    end: int


@dataclass(frozen=True)
class Claim:
    model: str  # KB id
    attribute: str  # openness | developer | licence | params_total_b | params_active_b | released |
    #                 context_tokens | score:<benchmark id>
    value: str | float
    text: str  # the words that state it
    setting: str = ""  # for scores: "with tools", "without tools", a harness ... as the sentence says


@dataclass(frozen=True)
class CheckworthySentence:
    text: str
    checkworthiness: float
    mentions: tuple[Mention, ...]
    claims: tuple[Claim, ...]


_FIGURE = re.compile(r"\d")
_COMPARISON = re.compile(r"\b(than|versus|vs|compared|comparable|rival\w*|match\w*|beat\w*|surpass\w*|outperform\w*|"
                         r"ahead of|behind|first|only|best|largest|biggest|fastest|most|least|record|top)\b", re.I)
_ATTRIBUTION = re.compile(r"\b(said|says|according to|reported|reports|claimed|claims|announced|told)\b", re.I)
_DATE = re.compile(r"\b(19|20)\d\d\b|\b(" + "|".join(MONTHS) + r")\b", re.I)
_ORG = re.compile(r"\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)*\b")


def checkworthiness(text: str, mentions: int) -> float:
    """0..1: how much a sentence looks like something a fact-checker would check."""
    score = 0.0
    score += 0.3 if _FIGURE.search(text) else 0.0
    score += 0.2 if _COMPARISON.search(text) else 0.0
    score += 0.25 if mentions else 0.0
    score += 0.1 if _DATE.search(text) else 0.0
    score += 0.1 if _ATTRIBUTION.search(text) else 0.0
    score += 0.05 if len(_ORG.findall(text[1:])) >= 1 else 0.0
    return min(score, 1.0)


def _normalised_words(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised form) of each word; a name of several words is the join of their forms."""
    words = []
    for m in re.finditer(r"[A-Za-z0-9][A-Za-z0-9.'’/\-]*", text):
        word = re.sub(r"['’]s$", "", m.group().rstrip(".'’"))
        words.append((m.start(), m.start() + len(word), normalise(word)))
    return words


def find_mentions(text: str, kb: KnowledgeBase) -> list[Mention]:
    """Model names and aliases in a sentence, longest first and without overlaps."""
    return [Mention(name, start, end) for start, end, name in _names_in(text, kb.name_index, longest=6)]


def _names_in(text: str, names: dict[str, str], longest: int) -> list[tuple[int, int, str]]:
    """(start, end, what it names) for each run of up to `longest` words whose joined normalised form is in
    `names`; longer runs win and runs never overlap."""
    words = _normalised_words(text)
    found, taken = [], set()
    for size in range(longest, 0, -1):
        for i in range(len(words) - size + 1):
            key = "".join(w[2] for w in words[i:i + size])
            if key in names and not any(j in taken for j in range(i, i + size)):
                found.append((words[i][0], words[i + size - 1][1], names[key]))
                taken.update(range(i, i + size))
    return sorted(found)


def _in_clause_before(text: str, mentions: list[Mention], position: int) -> list[Mention]:
    """The models named before `position` in the same clause, in order."""
    return [x for x in mentions if x.end <= position and not _CLAUSE_END.search(text[x.end:position])]


_CLOSED = re.compile(r"\b(closed(?:[- ]source|[- ]weights?)?|proprietary|api[- ]only)\b", re.I)
_OPEN = re.compile(r"\b(open[- ]weights?|open[- ]source|fully open|openly licensed)\b", re.I)
_LIST_LEAD = re.compile(r"^\W*(models?|systems?|rivals?|peers?|competitors?)?\W*(such as|like|including|e\.?g\.?|"
                        r"namely|:)", re.I)
_COPULA_AFTER = re.compile(r"^\W*(?:is|are|was|were|remains?|stays?)\s+(?:an?\s+|still\s+)?$", re.I)
# A clause ends at a semicolon, a full stop (not a decimal point: "Claude Opus 4.6"), or a contrast.
_CLAUSE_END = re.compile(r"[;!?]|\.(?=\s|$)|\b(but|while|whereas)\b")
_PARAMS = re.compile(r"(\d+(?:\.\d+)?)\s*(billion|b|trillion|t)\b(?:\s+(active|total))?(?:\s+parameters?)?", re.I)
_RELEASE = re.compile(r"\b(released|launched|shipped|came out|unveiled|introduced)\b[^.;]*?\b(?:in|on)\s+"
                      r"((?:" + "|".join(MONTHS) + r")\s+)?((?:19|20)\d\d)\b", re.I)


def extract_claims(text: str, mentions: list[Mention], kb: KnowledgeBase | None = None) -> list[Claim]:
    claims: list[Claim] = []
    claims += _openness(text, mentions)
    claims += _parameters(text, mentions)
    claims += _release(text, mentions)
    claims += _licence(text, mentions)
    claims += _context(text, mentions)
    if kb is not None:
        claims += _scores(text, mentions, kb)
        claims += _developer(text, mentions, kb)
    return claims


_LICENCE = re.compile(r"\b(?:under|with|released under|licensed under)\s+(?:an?\s+|the\s+|its\s+)?"
                      r"(Apache[- ]?2(?:\.0)?|MIT|Llama[\w. ]{0,12}?|Gemma[\w ]{0,12}?|NVIDIA[\w ]{0,24}?|"
                      r"(?:modified|custom)\s+MIT|proprietary|research|non-commercial)\s+(?:licen[cs]e|terms)", re.I)


def _licence(text: str, mentions: list[Mention]) -> list[Claim]:
    """"released under the Apache 2.0 licence": the licence of the model named before it in the clause."""
    out = []
    for m in _LICENCE.finditer(text):
        subject = _in_clause_before(text, mentions, m.start())
        if not subject:
            continue
        # "Both A and B are released under ...": every model of the clause; otherwise the one right before.
        joined = len(subject) > 1 and re.search(r"\b(both|all|and)\b", text[subject[0].start:m.start()])
        for x in subject if joined else subject[-1:]:
            out.append(Claim(x.model, "licence", m.group(1).strip(), text[x.start:m.end()]))
    return out


_BY = re.compile(r"\b(?:developed|built|made|trained|released|published|created)\s+by\s+"
                 r"([A-Z][\w.]*(?:\s+[A-Z][\w.]*)?)")


def _developer(text: str, mentions: list[Mention], kb: KnowledgeBase) -> list[Claim]:
    """"gpt-oss-120b, developed by OpenAI": only explicit attributions to an organisation the KB knows."""
    known = kb.developer_index
    out = []
    for m in _BY.finditer(text):
        org = m.group(1)
        if not any(normalise(org).startswith(k) or k.startswith(normalise(org)) for k in known):
            continue
        subject = _in_clause_before(text, mentions, m.start())
        if subject:
            out.append(Claim(subject[-1].model, "developer", org, text[subject[-1].start:m.end()]))
    return out


_SCORE_NUMBER = re.compile(r"(?<![\w.\-])(\d{1,3}(?:\.\d{1,2})?)\s*(%|percent|points?)?"
                           r"(?!\w|\.\d|-|\s*(?:billion|million|trillion|parameters|tokens|B\b|x\b|times|per|"
                           r"experts|layers|GPUs|peers))", re.I)


def _scores(text: str, mentions: list[Mention], kb: KnowledgeBase) -> list[Claim]:
    """"gpt-oss-120b scored 97.9 on AIME 2025": a figure on a named benchmark, for the model it is paired with
    (the model named before it in the clause, or right after it: "60.47% for Nemotron 3 Super")."""
    benches = _find_benchmarks(text, kb)
    if not benches or not mentions:
        return []
    out = []
    taken = [(x.start, x.end) for x in mentions] + [(b, e) for b, e, _ in benches]
    for m in _SCORE_NUMBER.finditer(text):
        if any(b <= m.start() < e for b, e in taken) or re.match(r"(19|20)\d\d$", m.group(1)):
            continue
        # "88.4 on GPQA Diamond" names its benchmark after the figure; otherwise the last one named before it.
        bench = next((x for x in benches if x[0] >= m.end()
                      and re.fullmatch(r"\s*(%|percent|points?)?\s*(on|in)\s+(the\s+)?", text[m.end():x[0]], re.I)),
                     None) \
            or max((x for x in benches if x[1] <= m.start() and not _CLAUSE_END.search(text[x[1]:m.start()])),
                   key=lambda x: x[1], default=None)
        if bench is None:
            continue
        following = [x for x in mentions if x.start >= m.end() and re.fullmatch(r"\s*%?\s*(for|by|from)\s+(the\s+)?",
                                                                                text[m.end():x.start], re.I)]
        preceding = _in_clause_before(text, mentions, m.start())
        subject = following[0] if following else (preceding[-1] if preceding else None)
        if subject is None:
            continue
        out.append(Claim(subject.model, f"score:{bench[2]}", float(m.group(1)), text[m.start():m.end()],
                         setting_of(text)))
    return out


_SETTINGS = (("without tools", re.compile(r"\bwithout (?:tools|tool use)\b|\bno tools\b", re.I)),
             ("with tools", re.compile(r"\bwith (?:tools|tool use)\b", re.I)),
             ("OpenHands harness", re.compile(r"\bOpenHands\b", re.I)),
             ("zero-shot", re.compile(r"\bzero[- ]shot\b", re.I)))


def setting_of(text: str) -> str:
    """The evaluation setting a sentence states, if any (first match wins: "without tools" before "with")."""
    return next((name for name, pattern in _SETTINGS if pattern.search(text)), "")


_CONTEXT = re.compile(r"\b(\d+(?:\.\d+)?)\s*(k|m|thousand|million)?[- ]?(?:tokens?[- ]?)?(?:long[- ])?"
                      r"context(?:[- ]window)?\b|\bcontext(?:[- ]window)? of (?:up to )?(\d+(?:\.\d+)?)\s*(k|m|"
                      r"thousand|million)?\s*tokens\b", re.I)


def _context(text: str, mentions: list[Mention]) -> list[Claim]:
    """"a 1M-token context window", "a context of 200K tokens": the model named before it in the clause."""
    out = []
    for m in _CONTEXT.finditer(text):
        number, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        scale = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6}.get((unit or "").lower(), 1.0)
        subject = _in_clause_before(text, mentions, m.start())
        if subject and scale > 1:
            out.append(Claim(subject[-1].model, "context_tokens", float(number) * scale, text[m.start():m.end()]))
    return out


def _find_benchmarks(text: str, kb: KnowledgeBase) -> list[tuple[int, int, str]]:
    return _names_in(text, kb.benchmark_index, longest=4)


def _openness(text: str, mentions: list[Mention]) -> list[Claim]:
    out = []
    for pattern, value in ((_CLOSED, "closed"), (_OPEN, "open")):
        for m in pattern.finditer(text):
            # "closed models such as A and B": every model listed after the phrase, up to the clause's end.
            rest = text[m.end():]
            if _LIST_LEAD.match(rest):
                end = _CLAUSE_END.search(rest)
                clause_end = m.end() + (end.start() if end else len(rest))
                listed = [x for x in mentions if m.end() <= x.start < clause_end]
                out += [Claim(x.model, "openness", value, text[m.start():clause_end]) for x in listed]
                continue
            # "A is a closed model" / "A and B are proprietary": models before the phrase, joined by a copula.
            before = [x for x in mentions if x.end <= m.start()]
            if before and _COPULA_AFTER.match(text[before[-1].end:m.start()]):
                out.append(Claim(before[-1].model, "openness", value, text[before[-1].start:m.end()]))
            # "the closed A" / "open-weight A": the model right after the phrase.
            after = [x for x in mentions if x.start >= m.end()]
            if after and re.fullmatch(r"\W*(model\s+)?", text[m.end():after[0].start], re.I):
                out.append(Claim(after[0].model, "openness", value, text[m.start():after[0].end]))
    return out


def _parameters(text: str, mentions: list[Mention]) -> list[Claim]:
    if not mentions or not re.search(r"\bparameters?\b|\bactive\b", text, re.I):
        return []
    out = []
    for m in _PARAMS.finditer(text):
        number = float(m.group(1)) * (1000.0 if m.group(2).lower() in ("trillion", "t") else 1.0)
        after = text[m.end():m.end() + 20].lower()
        before = text[max(0, m.start() - 30):m.start()].lower()
        active = "active" in (m.group(3) or "").lower() or "activat" in before or "active" in after
        says_parameters = "param" in m.group(0).lower() or re.search(r"parameters?|\bare active",
                                                                       text[m.end():m.end() + 30], re.I)
        if not says_parameters and not m.group(3):
            continue
        if any(x.start <= m.start() < x.end for x in mentions):
            continue  # a size in a model's own name ("Qwen3-4B") is not a claim about it
        # The claim is about the model named before the figure in the same clause; none, no claim.
        preceding = _in_clause_before(text, mentions, m.start())
        if not preceding:
            continue
        subject = preceding[-1]
        out.append(Claim(subject.model, "params_active_b" if active else "params_total_b", number,
                         text[m.start():m.end()]))
    return out


def _release(text: str, mentions: list[Mention]) -> list[Claim]:
    out = []
    for m in _RELEASE.finditer(text):
        subject = [x for x in mentions if x.end <= m.start(1) + 200 and x.start < m.end()]
        if not subject:
            continue
        month = MONTHS[m.group(2).strip().lower()] if m.group(2) else None
        value = f"{m.group(3)}-{month:02d}" if month else m.group(3)
        for x in subject:
            out.append(Claim(x.model, "released", value, text[m.start():m.end()]))
    return out


def claims_in(text: str, kb: KnowledgeBase) -> list[tuple[str, list[Claim]]]:
    """(sentence, its claims) for the sentences that state structured claims; cheaper than scoring every
    sentence, since a sentence that names no model states none."""
    out = []
    for sentence in sentences(text):
        mentions = find_mentions(sentence, kb)
        if mentions:
            claims = _dedupe(extract_claims(sentence, mentions, kb))
            if claims:
                out.append((sentence, claims))
    return out


def checkworthy_sentences(text: str, kb: KnowledgeBase, threshold: float = 0.3) -> list[CheckworthySentence]:
    """Sentences worth checking: half the score is the cues above (which know about AI models), half the
    model learned from fact-checked debates. A sentence that states a structured claim is always kept."""
    out = []
    for sentence in sentences(text):
        mentions = find_mentions(sentence, kb)
        claims = extract_claims(sentence, mentions, kb)
        score = 0.5 * checkworthiness(sentence, len(mentions)) + 0.5 * learned_probability(sentence)
        if score < threshold and not claims:
            continue
        out.append(CheckworthySentence(sentence, round(score, 3), tuple(mentions), tuple(_dedupe(claims))))
    return out


def _dedupe(claims: list[Claim]) -> list[Claim]:
    seen, out = set(), []
    for c in claims:
        key = (c.model, c.attribute, c.value)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out
