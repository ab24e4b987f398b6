"""Claims: check-worthy sentences, and the structured facts about AI models that they state.

A claim is read in parts, not by one pattern per phrasing: the models a sentence names or describes (and a
pronoun for the model of the sentence before), the clauses it is made of (a relative clause has its own subject;
"while", "whereas", "but" and "unlike" start new ones), then each clause's values — openness, licence, sizes,
release dates, context length, benchmark scores with their setting, developer — given to the clause's subject,
or to the model a figure is tied to ("60.47% for Nemotron 3 Super", "A versus B"). Negation turns openness round;
reported speech ("a blogger wrote that ...") is kept but marked as attributed, so a writer is never called wrong
for quoting someone.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from tidings.check.aliases import KBNames, kb_names
from tidings.check.checkworthy import learned_probabilities
from tidings.check.kb import KnowledgeBase, normalise
from tidings.check.mentions import Mention, comparative, find_mentions, reference
from tidings.check.prefilter import Prefiltered
from tidings.check.values import (
    ADJECTIVE,
    ANNOUNCE_SCAN,
    CLOSED_SCAN,
    LICENCE_SCAN,
    LINKING,
    NEGATION,
    OPEN_SCAN,
    QUANTITY,
    RELEASE_SCAN,
    licence_family,
    nearest_setting,
    number_value,
    setting_of,
)
from tidings.dates import dates_in
from tidings.model import Claim
from tidings.text import sentences

__all__ = ["Claim", "CheckworthySentence", "Mention", "checkworthiness", "checkworthy_sentences", "claims_in",
           "extract_claims", "find_mentions", "setting_of"]

MONTHS = {m: n for n, m in enumerate(("january", "february", "march", "april", "may", "june", "july", "august",
                                      "september", "october", "november", "december"), 1)}


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


# --- clauses ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Clause:
    start: int
    end: int
    subject: Mention | None  # whom the clause's values are about
    mentions: tuple[Mention, ...]


# Where a new clause starts: a contrast, a relative clause, a semicolon, "and" before a new subject.
_BREAK = re.compile(r"[;:]|,?\s+\b(?:while|whereas|but|although|though|unlike|yet)\b|,\s*(?:which|who|whose)\b|"
                    r"\(\s*(?:which|who)\b|^\s*(?:while|whereas|although|though|unlike)\b", re.I)
# Every break holds one of these ("though" is in "although", "who" in "whose"); see prefilter.py.
_BREAK_SCAN = Prefiltered(_BREAK, (";", ":", "while", "whereas", "but", "though", "unlike", "yet", "which", "who"))
_RELATIVE_COMMAS = re.compile(r",\s*(?:which|who|whose)\b[^,;]*(,)")
_SUBORDINATE_LEAD = re.compile(r"\s*(?:while|whereas|although|though|unlike|if|as)\b[^,;]*(,)", re.I)
_COMMA_AND = re.compile(r",\s+and\s+")
_RELATIVE_LEAD = re.compile(r"\W*(?:which|who|whose)\b")
_UNLIKE_LEAD = re.compile(r"\W*unlike\b")
_CONTRAST_LEAD = re.compile(r"\W*(?:while|whereas|but|although|though|yet)\b")
_JOINED = re.compile(r",?\s*(?:and|or|&)\s+(?:the\s+)?")
# A mention after these words is an object, not the subject of its clause. (The lookahead holds the letters the
# words start with: it changes no match, and passes over other positions before each word is tried.)
_OBJECT_LEAD = re.compile(r"(?=[abcfilmorstuvw])\b(?:against|versus|vs\.?|than|with|like|unlike|to|over|from|of|"
                          r"behind|beat|beats|beating|outperform\w*|match\w*|rival\w*|trail\w*|compared\s+(?:with|to)|"
                          r"as|for|on|in|about|before|after|since|ahead\s+of)\s+(?:(?:the|its|their|a|an)\s+(?:[a-z][\w\-]*\s+){0,2})?$",
                          re.I)


def clauses(text: str, mentions: list[Mention]) -> list[Clause]:
    """The sentence cut into clauses, each with its subject: the first model it names that is not an object
    ("against X", "than X"); a relative clause's subject is the model it hangs on ("X, which ...")."""
    cuts = sorted({0, len(text)} | {m.start() if m.group().strip()[:1] not in ",(" else m.start() + 1
                                     for m in _BREAK_SCAN.finditer(text)})
    # A relative clause set off by commas ends at the next comma: "A, which followed B, came out in ...".
    for m in _RELATIVE_COMMAS.finditer(text):
        cuts.append(m.start(1) + 1)
    # A sentence that opens with a subordinate clause ("While A stays closed, B ...") turns at its first comma.
    lead = _SUBORDINATE_LEAD.match(text)
    if lead:
        cuts.append(lead.start(1) + 1)
    # "A has X, and B has Y": "and" starts a clause when a new model follows it.
    for m in _COMMA_AND.finditer(text):
        after = next((x for x in mentions if x.start >= m.end()), None)
        if after is not None and after.start - m.end() <= 4 and any(x.end <= m.start() for x in mentions):
            cuts.append(m.start())
    cuts = sorted(set(cuts))
    out = []
    previous_subject = None
    for start, end in zip(cuts, cuts[1:], strict=False):
        if end <= start:
            continue
        inside = tuple(x for x in mentions if start <= x.start < end)
        lead = text[start:start + 12].lower()
        relative = bool(_RELATIVE_LEAD.match(lead))
        resumed = out and _RELATIVE_LEAD.match(text[out[-1].start:out[-1].start + 12].lower())
        if relative:
            antecedent = max((x for x in mentions if x.end <= start), key=lambda x: x.end, default=None)
            subject = antecedent
        elif _UNLIKE_LEAD.match(lead):
            subject = None  # "unlike X, ...": nothing is said about X here
        else:
            subject = None
            for k, x in enumerate(inside):
                if _OBJECT_LEAD.search(text[start:x.start]):
                    continue
                # "the licences of A and B": B is an object too, like the A it is joined to.
                if k and _JOINED.fullmatch(text[inside[k - 1].end:x.start]) and \
                        _OBJECT_LEAD.search(text[start:inside[k - 1].start]):
                    continue
                subject = x
                break
            if subject is None and resumed and previous_subject is not None:
                subject = previous_subject  # the main clause goes on after "A, which ...,"
            if subject is None and not inside and previous_subject is not None and not _CONTRAST_LEAD.match(lead):
                subject = previous_subject  # "X has A, and B ...": no new model, the same subject
        out.append(Clause(start, end, subject, inside))
        if subject is not None and not relative:
            previous_subject = subject
    # A clause without a model of its own, after the first clause that has one, goes on about that model
    # ("Unlike B, A ..."); a clause before it ("The larger model, ..., while A ...") is about someone else.
    first = next((n for n, c in enumerate(out) if c.subject is not None), None)
    if first is None:
        return out
    main = out[first].subject
    return [c if c.subject is not None or n < first or _UNLIKE_LEAD.match(text[c.start:c.start + 10].lower())
            else replace(c, subject=main) for n, c in enumerate(out)]


# --- reported speech ------------------------------------------------------------------------------------------

# Who can be reported as saying something: a generic speaker ("a blogger", "critics") or a name.
_SPEAKER = (r"(?P<who>(?:an?|some|one|many|several|other|two|three)\s+(?:[\w\-]+\s+){0,3}?[\w\-]+"
            r"|the\s+(?:[\w\-]+\s+){0,3}?(?:blogger|commenter|commentator|critic|analyst|user|poster|reviewer|"
            r"writer|columnist|observer|rival|skeptic|sceptic|fan|post|thread|report|article|tweet|account|"
            r"people|users|critics|analysts|commenters|observers|posters|voices|rumou?r)s?"
            r"|critics|commentators|rivals|skeptics|sceptics|observers|users|fans|rumou?rs|detractors|doubters"
            r"|(?-i:[A-Z][\w.\-]*(?:\s+[A-Z][\w.\-]*){0,2}))")
# Verbs that report a view without taking it on; "said" and "reported" only do so for a generic speaker.
_DOUBTING = (r"wrote|writes?|claim(?:s|ed)?|argu(?:e|es|ed)|insist(?:s|ed)?|alleg(?:e|es|ed)|suggest(?:s|ed)?|"
             r"tweet(?:s|ed)?|post(?:s|ed)?|believes?|believed|thinks?|thought|maintain(?:s|ed)?|assert(?:s|ed)?|"
             r"call(?:s|ed)?|describ(?:e|es|ed)|contend(?:s|ed)?|quip(?:s|ped)?|jok(?:e|es|ed)|predict(?:s|ed)?|"
             r"speculat(?:e|es|ed)|reckon(?:s|ed)?|guess(?:es|ed)?|insinuat(?:e|es|ed)|counter(?:s|ed)?|"
             r"complain(?:s|ed)?|swear|swore|imply|implies|implied|rumou?red")
_NEUTRAL = r"said|say|says|told|tell|tells|reported|report|reports|noted|note|notes|remarked|added|add|adds"
_REPORTED = r"\b" + _SPEAKER + r"\s+(?P<verb>" + _DOUBTING + "|" + _NEUTRAL + r")\b"
# Every reported-speech match holds its verb, and every verb above holds one of these stems (see prefilter.py).
_REPORTED_SCAN = Prefiltered(_REPORTED, (
    "wrote", "write", "claim", "argu", "insist", "alleg", "suggest", "tweet", "post", "believ", "think", "thought",
    "maintain", "assert", "call", "describ", "contend", "quip", "jok", "predict", "speculat", "reckon", "guess",
    "insinuat", "counter", "complain", "swear", "swore", "impl", "rumo", "said", "say", "told", "tell", "report",
    "note", "remarked", "add"), re.I)
_NEUTRAL_VERB = re.compile(_NEUTRAL, re.I)
_GENERIC = re.compile(r"^(?:an?|some|one|many|several|other|two|three)\b|^(?:critics|commentators|rivals|skeptics|"
                      r"sceptics|observers|users|fans|rumou?rs|detractors|doubters)$|^the\b", re.I)
_ACCORDING = re.compile(r"\baccording to\s+" + _SPEAKER + r"(?=[,.;]|\s+(?:who|which)\b|$)", re.I)
_ACCORDING_SCAN = Prefiltered(_ACCORDING, ("according to",))
_HEDGED = re.compile(r"\b(?:reportedly|allegedly|supposedly|rumou?red|rumou?rs?|is said to|are said to|"
                     r"in all but name|so-called|(?:reported|claimed|alleged|speculated|predicted|rumou?red|"
                     r"suggested|believed) that|wrongly|falsely|mistakenly)\b", re.I)
# Every hedge holds one of these: "rumo" starts each rumour word, "ed that" ends each "... that" (see prefilter.py).
_HEDGED_SCAN = Prefiltered(_HEDGED, ("reportedly", "allegedly", "supposedly", "rumo", "said to", "in all but name",
                                     "so-called", "ed that", "wrongly", "falsely", "mistakenly"))
# A quotation, and a verb that says someone was quoted.
_QUOTE = re.compile(r"[\"“]([^\"”]{3,})[\"”]")
_QUOTING = re.compile(r"\b(?:wrote|said|says|called|claimed|put it|quipped|joked|posted|tweeted)\b", re.I)
# Sources whose word the writer takes as fact: the model's maker, its card, its paper.
_OWN_WORD = re.compile(r"\b(?:model card|technical report|paper|official|documentation|release notes|its (?:maker|"
                       r"developer|creators?)|the (?:company|lab|developer|maker))\b", re.I)


def attribution(text: str, kb: KnowledgeBase) -> tuple[str, int]:
    """Who a sentence reports as saying what follows, and where the reported part starts; ("", 0) when the
    writer states it (or adopts the word of the model's maker)."""
    developers = kb.developer_index
    for pattern in (_REPORTED_SCAN, _ACCORDING_SCAN):
        for m in pattern.finditer(text):
            who = m.group("who").strip()
            key = normalise(who)
            if _OWN_WORD.search(who) or any(d and key.startswith(d) for d in developers):
                continue  # the model's maker or its paper: the writer takes its word
            if who.lower() in ("it", "this", "that", "which", "who", "they", "he", "she", "we", "i"):
                continue
            verb = m.groupdict().get("verb") or ""
            # "X scores 71.5, the lab's partners said" is ordinary news attribution; "a blogger said", "critics
            # claim", "X wrote that" report a view the writer does not take on.
            if pattern is _REPORTED_SCAN and _NEUTRAL_VERB.fullmatch(verb) and not _GENERIC.search(who):
                continue
            return who, m.end() if pattern is _REPORTED_SCAN else 0
    hedge = _HEDGED_SCAN.search(text)
    if hedge:
        return "unnamed sources", 0
    quote = _QUOTE.search(text)
    if quote and _QUOTING.search(text):
        return "a quoted source", 0
    return "", 0


# --- slots --------------------------------------------------------------------------------------------------

def extract_claims(text: str, mentions: list[Mention], kb: KnowledgeBase | None = None) -> list[Claim]:
    """The structured claims of one sentence, given the models it mentions."""
    return _claims_of(text, mentions, clauses(text, mentions), kb) if mentions else []


def _claims_of(text: str, mentions: list[Mention], parts: list[Clause], kb: KnowledgeBase | None,
               indexed: KBNames | None = None) -> list[Claim]:
    # A clause that asks ("are open models catching up?") asserts nothing.
    parts = [c for c in parts if not text[c.start:c.end].rstrip().endswith("?")]
    claims: list[Claim] = []
    claims += _openness(text, mentions, parts)
    claims += _licence(text, mentions, parts)
    claims += _parameters(text, mentions, parts)
    claims += _release(text, parts)
    claims += _context(text, parts)
    if kb is not None:
        claims += _scores(text, mentions, parts, kb, indexed)
        claims += _developer(text, mentions, kb)
        who, _ = attribution(text, kb) if claims else ("", 0)  # no claims, nobody to credit them to
        if who:  # reported speech: the sentence reports the claims, it does not make them
            claims = [replace(c, attributed_to=who) for c in claims]
    return _dedupe(claims)


def _clause_at(parts: list[Clause], position: int) -> Clause | None:
    return next((c for c in parts if c.start <= position < c.end), None)


_LISTED_AFTER = re.compile(r"\W*(?:models?|systems?|rivals?|peers?|competitors?|weights?)?\W*(such as|like|"
                           r"including|e\.?g\.?|namely|:)", re.I)
_RIGHT_BEFORE_NAME = re.compile(r"\s*(?:of\s+(?:the\s+)?|for\s+)?(?:model\s+|llm\s+)?", re.I)
_WITH_AT_END = re.compile(r"\bwith\s+$")


def _openness(text: str, mentions: list[Mention], parts: list[Clause]) -> list[Claim]:
    out = []
    for pattern, value in ((OPEN_SCAN, "open"), (CLOSED_SCAN, "closed")):
        for m in pattern.finditer(text):
            if any(x.start <= m.start() < x.end for x in mentions):
                continue  # part of a name ("OpenAI's open-weight 120B model")
            said = value
            if NEGATION.search(text[max(0, m.start() - 30):m.start()]):
                said = "closed" if value == "open" else "open"
            rest = text[m.end():]
            lead = _LISTED_AFTER.match(rest)
            clause = _clause_at(parts, m.start())
            if lead:  # "closed models such as A and B": every model listed, up to the clause's end
                end = clause.end if clause else len(text)
                out += [Claim(x.model, "openness", said, text[m.start():end]) for x in mentions
                        if m.end() <= x.start < end]
                continue
            after = next((x for x in mentions if x.start >= m.end()), None)
            if after and _RIGHT_BEFORE_NAME.fullmatch(text[m.end():after.start]):
                out.append(Claim(after.model, "openness", said, text[m.start():after.end]))  # "the closed A"
                continue
            if clause is None or clause.subject is None or clause.subject.start > m.start():
                continue
            gap = text[clause.subject.end:m.start()]
            with_weights = "weight" in m.group().lower() and _WITH_AT_END.search(gap)  # "ships with open weights"
            if ADJECTIVE.fullmatch(m.group().strip()) and not with_weights and (
                    not LINKING.search(gap) or len(gap.split()) > 6):
                continue  # "A rivals closed models" says nothing of A's own weights
            subjects = _joined_subjects(text, clause)
            out += [Claim(x.model, "openness", said, text[x.start:m.end()]) for x in subjects]
    return out


_AND_JOINED = re.compile(r"\s*(?:,\s*(?:and\s+)?|(?:and|&|as well as)\s+)(?:the\s+)?", re.I)


def _joined_subjects(text: str, clause: Clause) -> list[Mention]:
    """"Both A and B are ...", "A and B ship ...": every model joined to the subject by "and"."""
    subjects = [clause.subject]
    for x in clause.mentions:
        if x.start > subjects[-1].end and _AND_JOINED.fullmatch(text[subjects[-1].end:x.start]):
            subjects.append(x)
    return subjects


def _licence(text: str, mentions: list[Mention], parts: list[Clause]) -> list[Claim]:
    out = []
    for m in LICENCE_SCAN.finditer(text):
        family = licence_family(m)
        clause = _clause_at(parts, m.start())
        if family is None or clause is None or clause.subject is None or clause.subject.start > m.start():
            continue
        if NEGATION.search(text[max(0, m.start() - 25):m.start()]):
            continue  # "not under an Apache licence" says what it is not, not what it is
        for x in _joined_subjects(text, clause):
            out.append(Claim(x.model, "licence", family, text[m.start():m.end()]))
    return out


_PARAMS = re.compile(QUANTITY + r"(?:\s*|-)(?:active\s+|total\s+)?(?:parameters?|params)\b", re.I)
_PARAMS_LOOSE = re.compile(QUANTITY + r"(?=\s+(?:of them\s+|in\s+)?(?:active|total)\b"
                           r"|\s+(?:out\s+)?of\s+(?:its|their|the)\s+(?:[\w.]+\s+){0,2}parameters\b"
                           r"|[- ](?:dense|moe|mixture-of-experts)?\s*model\b)", re.I)
_ACTIVE = re.compile(r"\b(?:active|activat\w+|per token|for each token|at a time|at once|in use|switched on|"
                     r"used for each)\b", re.I)
_RANGE = re.compile(r"\b(?:from|between)\s+$|\s(?:to|and|-|–)\s*$", re.I)
_SIZE_WORD = Prefiltered(re.compile(r"\bparam|\bactive\b", re.I), ("param", "active"))
_SCALE_WORD = re.compile(r"[- ](?:billion|trillion)")
_YARDSTICK = re.compile(r"\b(?:as|like|than|to|versus|vs\.?|from|of)\s+(?:an?|the)\s+$", re.I)
_DIGIT = re.compile(r"\d")
_RANGE_AFTER = re.compile(r"\s*(?:to|-|–|and)\s+" + QUANTITY)
# "runs 17B of its 400B parameters": the first is active, the second the total.
_OF_TOTAL = re.compile(r"\s*(?:active\s+)?(?:parameters?\s+)?(?:out\s+)?of\s+(?:its|the|their|a total of)?\s*"
                       r"(?:(?:roughly|about|around|some|nearly|almost|over|more than)\s+)?", re.I)
_TOTAL_AFTER = re.compile(r"\s*(?:parameters?\s+)?(?:in total|total)\b", re.I)
_ACTIVE_AFTER = re.compile(r"\W*(?:\w+\W+){0,3}?(?:active|are active|activat|per token|at a time|at once)", re.I)
_ACTIVATING_BEFORE = re.compile(r"\bactivat\w*\s+(?:only\s+|just\s+|about\s+|roughly\s+|all\s+)?$", re.I)
_USING_BEFORE = re.compile(r"(?:uses?|using|runs?|with)\s+(?:only\s+|just\s+)?$", re.I)


_CONTRAST = re.compile(r"\b(?:but|while|whereas|yet)\b", re.I)


def _parameters(text: str, mentions: list[Mention], parts: list[Clause]) -> list[Claim]:
    if not _SIZE_WORD.search(text):
        return []
    found = []
    for pattern in (_PARAMS, _PARAMS_LOOSE):
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e, _ in found) or any(x.start <= m.start() < x.end for x in mentions):
                continue  # counted already, or a size in a model's own name ("Qwen3-4B")
            value = number_value(m.group("num"), m.group("scale"))
            if value is None:
                continue
            if m.group("scale") is None and value < 1e6 and not _SCALE_WORD.search(m.group()):
                continue  # "2,000 parameters" is not a model's size; a size names billions or trillions
            if pattern is _PARAMS_LOOSE and "model" in text[m.end():m.end() + 30].lower() and \
                    (m.group("scale") or "").lower() not in ("b", "billion", "bn", "t", "trillion", "tn"):
                continue  # "a 4K model" is no size
            if pattern is _PARAMS_LOOSE and _YARDSTICK.search(text[max(0, m.start() - 12):m.start()]):
                continue  # "as much work as a 3B dense model": a yardstick, not this model's size
            found.append((m.start(), m.end(), value / 1e9 if value >= 1e6 else value))
    out = []
    found.sort()
    for n, (start, end, billions) in enumerate(found):
        later = _DIGIT.search(text[end:])
        stop = end + later.start() if later else len(text)
        before, after = text[max(0, start - 40):start], text[end:min(end + 40, stop)]
        # A range ("from 0.8 billion to 9 billion") states no one model's size.
        if _RANGE.search(text[max(0, start - 12):start]) or _RANGE_AFTER.match(after):
            continue
        of_total = _OF_TOTAL.fullmatch(text[found[n - 1][1]:start]) if n else None
        following_of = n + 1 < len(found) and _OF_TOTAL.fullmatch(text[end:found[n + 1][0]])
        if of_total or _TOTAL_AFTER.match(after):
            active = False
        elif following_of:
            active = True
        else:
            # "35B parameters but activates only 3B": a word of activity after "but" is the next figure's.
            active = bool(_ACTIVE.search(text[start:end]) or _ACTIVE_AFTER.match(_CONTRAST.split(after, 1)[0])
                          or _ACTIVATING_BEFORE.search(before)
                          or _USING_BEFORE.search(before) and _ACTIVE.search(after[:30]))
        clause = _clause_at(parts, start)
        subject = clause.subject if clause else None
        if subject is None:
            continue
        out.append(Claim(subject.model, "params_active_b" if active else "params_total_b", round(billions, 3),
                         text[start:end]))
    return out


_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
_YEAR_DIGITS = re.compile(r"(?:19|20)\d\d")  # what every year above is made of, word boundaries or not
_POSSESSIVE_S = re.compile(r"['’]s\b")
_DAY_FIRST = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.((?:19|20)\d\d)\b")  # "29.05.2025"
_SLASHED = re.compile(r"\b(\d{1,2})/(\d{1,2})/((?:19|20)\d\d)\b")  # "05/29/2025" or "29/05/2025"
_ARTICLE_BEFORE = re.compile(r"\b(?:the|a|an|its|their|newly|recently|freshly)\s+$", re.I)
_TIME_MOVES = re.compile(r"\b(?:before|after|since|until|later|earlier|ago|days?|weeks?|months?|years?)\b", re.I)
_OTHER_VERSION = re.compile(r"\b(?:version|preview|variant|beta|update|predecessor|successor|sibling|edition|rival|"
                            r"competitor|model)\s+(?:\w+\s+){0,3}$", re.I)
_MODEL_BEFORE = re.compile(r"\bmodel\s+$")


def _release(text: str, parts: list[Clause]) -> list[Claim]:
    verbs = [(m, False) for m in RELEASE_SCAN.finditer(text)] + [(m, True) for m in ANNOUNCE_SCAN.finditer(text)]
    # Only a verb in a clause about a model dates anything, and not one that describes ("the released o3").
    dating = []
    for verb, announced in verbs:
        clause = _clause_at(parts, verb.start())
        if clause is not None and clause.subject is not None and \
                not _ARTICLE_BEFORE.search(text[max(0, verb.start() - 9):verb.start()]):
            dating.append((verb, announced, clause))
    if not dating:
        return []  # the dates are looked for only now: most sentences with a release verb date nothing
    found = _pinned_dates(text)
    out = []
    for verb, announced, clause in dating:
        inside = [d for d in found if clause.start <= d[2] < clause.end]
        # The date the verb governs: the first after it ("came out on March 3"), else the last before it
        # ("On March 3, it came out").
        after = [d for d in inside if d[2] >= verb.end()]
        before = [d for d in inside if d[3] <= verb.start()]
        # A date before the verb is its own only with nothing between that moves time ("two days before").
        before = [d for d in before if not _TIME_MOVES.search(text[d[3]:verb.start()])]
        pick = after[0] if after else (before[-1] if before else None)
        if pick is None:
            continue
        # "was preceded by an experimental version released on 29 September": the verb is the version's.
        if _OTHER_VERSION.search(text[clause.subject.end:verb.start()][-40:]) and \
                not _MODEL_BEFORE.search(text[clause.subject.start:verb.start()]):
            continue
        when, precision, start, end = pick
        value = {"day": when.isoformat(), "month": when.isoformat()[:7], "year": str(when.year)}[precision]
        for subject in _joined_subjects(text, clause):
            out.append(Claim(subject.model, "released", value, text[min(verb.start(), start):max(
                verb.end(), end)], announced=announced))
    return out


def _pinned_dates(text: str) -> list[tuple[date, str, int, int]]:
    """(date, precision, start, end) of each date a sentence writes that can be pinned down, in order: written
    with digits, with a year in them or in the sentence (without one, "March 11" could be any year), and not a
    possessive ("July 2025's GLM-4.5" dates another model)."""
    if not _YEAR_DIGITS.search(text):
        return []  # every date kept below has a year in it or in the sentence, and a sentence without one is usual
    years = [int(y) for y in _YEAR.findall(text)]
    # A date without a year belongs to the years the sentence names, else to the present.
    reference = date(max(years), 12, 31) if years else date.today()
    found = [d for d in dates_in(text, reference) if any(ch.isdigit() for ch in text[d[2]:d[3]])
             and (years or _YEAR.search(text[d[2]:d[3]]))
             and not _POSSESSIVE_S.match(text[d[3]:d[3] + 3])]
    for m in _DAY_FIRST.finditer(text):  # day first
        with contextlib.suppress(ValueError):
            found.append((date(int(m.group(3)), int(m.group(2)), int(m.group(1))), "day", m.start(), m.end()))
    for m in _SLASHED.finditer(text):  # only when unambiguous
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if (a > 12) != (b > 12):
            day, month = (a, b) if a > 12 else (b, a)
            with contextlib.suppress(ValueError):
                found.append((date(year, month, day), "day", m.start(), m.end()))
    found.sort(key=lambda d: d[2])
    return found


_CONTEXT = (QUANTITY + r"(?:\s*|-)(?:tokens?(?:\s*|-))?(?:long[- ])?context(?:[- ]window)?\b|"
            r"\bcontext(?:[- ]window)?\s+(?:of|up to|reaches|stretches to|is|tops out at|maxes out at|"
            r"extends to|covers|spans|holds|runs to)\s+(?:up to\s+)?" +
            QUANTITY.replace("?P<num>", "?P<num2>").replace("?P<scale>", "?P<scale2>") +
            r"\s*(?:tokens?)?\b|" + QUANTITY.replace("?P<num>", "?P<num3>").replace("?P<scale>", "?P<scale3>")
            + r"(?:\s*|-)tokens?\s+(?:of\s+)?context\b|\b(?:reads?|handles?|process(?:es)?|takes?|accepts?|"
            r"ingests?|sees?)\s+(?:up to\s+|as many as\s+)?" + QUANTITY.replace("?P<num>", "?P<num4>")
            .replace("?P<scale>", "?P<scale4>") + r"\s*tokens?\b")
# Three of the four ways of giving a context length name the context; the fourth says the model reads (handles,
# takes ...) so many tokens (see prefilter.py).
_CONTEXT_SCAN = Prefiltered(_CONTEXT, ("context", *(("token", verb) for verb in (
    "read", "handle", "process", "take", "accept", "ingest", "see"))), re.I)


def _context(text: str, parts: list[Clause]) -> list[Claim]:
    out = []
    for m in _CONTEXT_SCAN.finditer(text):
        num = m.group("num") or m.group("num2") or m.group("num3") or m.group("num4")
        scale = m.group("scale") or m.group("scale2") or m.group("scale3") or m.group("scale4")
        value = number_value(num, scale)
        clause = _clause_at(parts, m.start())
        if value is None or value < 1000 or clause is None or clause.subject is None:
            continue
        out.append(Claim(clause.subject.model, "context_tokens", float(value), m.group()))
    return out


_SCORE_NUMBER = re.compile(r"(?<![\w.\-])(\d{1,3}(?:\.\d{1,2})?)\s*(%|percent|per cent|points?)?"
                           r"(?!\w|\.\d|-|\s*(?:billion|million|trillion|parameters|tokens|B\b|x\b|times|per\b|"
                           r"experts|layers|GPUs|peers))", re.I)
_BENCH_AFTER = re.compile(r"\s*(?:%|percent|per cent|points?)?\s*(?:on|in|at|for|of)\s+(?:the\s+)?"
                          r"(?:(?:zero|few|one|\d+)[- ]shot\s+)?", re.I)
_PAIR = re.compile(r"\s*%?\s*(?:versus|vs\.?|against|compared (?:with|to)|to)\s+$", re.I)
_PAIR_GAP = re.compile(r"\s*%?\s*(?:versus|vs\.?|against|compared (?:with|to)|to)\s+", re.I)  # fullmatched
_YEAR_FIGURE = re.compile(r"(19|20)\d\d$")
_SET_AGAINST = re.compile(r"\b(?:compared (?:with|to)|versus|vs\.?|against)\s+$", re.I)
_FOR_OR_BY = re.compile(r"\s*(?:,\s*)?(?:for|by)\s+(?:the\s+)?", re.I)


def _scores(text: str, mentions: list[Mention], parts: list[Clause], kb: KnowledgeBase,
            indexed: KBNames | None = None) -> list[Claim]:
    """A figure on a named benchmark, for the model it is tied to: the model right after it ("60.47% for A"),
    the second of a pair to the model set against the subject ("against B it reports X versus Y"), else the
    clause's subject. The benchmark is the one named right after the figure (or after its pair), else the last
    one named before it in the clause."""
    benches = (indexed or kb_names(kb)).benchmarks.find(text)  # the KB's benchmark matcher, built once
    if not benches:
        return []
    taken = [(x.start, x.end) for x in mentions] + [(b, e) for b, e, _ in benches]
    figures = [m for m in _SCORE_NUMBER.finditer(text)
               if not any(b <= m.start() < e for b, e in taken) and not _YEAR_FIGURE.match(m.group(1))]
    out = []
    for n, m in enumerate(figures):
        pair_next = n + 1 < len(figures) and _PAIR.match(text[m.end():figures[n + 1].start()] + " ") and \
            _PAIR_GAP.fullmatch(text[m.end():figures[n + 1].start()])
        pair_prev = n > 0 and _PAIR_GAP.fullmatch(text[figures[n - 1].end():m.start()])
        anchor_end = figures[n + 1].end() if pair_next else m.end()
        bench = next((x for x in benches if x[0] >= anchor_end and _BENCH_AFTER.fullmatch(text[anchor_end:x[0]])),
                     None)
        if bench is None:
            clause = _clause_at(parts, m.start())
            lo = clause.start if clause else 0
            bench = max((x for x in benches if lo <= x[1] <= m.start()), key=lambda x: x[1], default=None)
        if bench is None:
            continue
        # "..., compared with 41.90%": a figure set against the subject's is the other model's.
        pair_prev = pair_prev or bool(_SET_AGAINST.search(text[max(0, m.start() - 16):m.start()]))
        named = None
        if bench[0] > m.end():  # "76.1 on zero-shot MMLU for Covenant-72B"
            named = next((x for x in mentions if x.start > bench[1] and _FOR_OR_BY.fullmatch(text[bench[1]:x.start])),
                         None)
        subject = named or _score_subject(text, m, mentions, parts, pair_prev, {b for b, _, _ in benches})
        if subject is None:
            continue
        # The setting stated in the figure's own clause; the sentence's only when it gives one figure.
        clause = _clause_at(parts, m.start())
        lo, hi = (clause.start, clause.end) if clause else (0, len(text))
        setting = nearest_setting(text[lo:hi], m.start() - lo, m.end() - lo) or (
            setting_of(text) if len(figures) == 1 else "")
        out.append(Claim(subject.model, f"score:{bench[2]}", float(m.group(1)), text[m.start():m.end()], setting))
    return out


_OWNER_GAP = re.compile(r"['’]s\s+")  # fullmatched
_AT_GAP = re.compile(r"\s+(?:\w+\s+){0,3}?(?:at|on|with)\s+(?:about\s+|roughly\s+)?", re.I)  # fullmatched
_NEXT_FIGURE = re.compile(r"\b(?:and|versus|vs|against|than)\b")
_POSTER_GAP = re.compile(r"\s*(?:%|percent|per cent)?\s*(?:that\s+)?", re.I)  # fullmatched
_POSTED = re.compile(r"\s+(?:posted|scored|reached|achieved|managed|got|recorded|hit|set)\b", re.I)
_FOR_GAP = re.compile(r"\s*(?:%|percent|per cent|points?)?\s*(?:for|by|from)\s+(?:the\s+)?", re.I)  # fullmatched
_OWNED = re.compile(r"\s*(?:%|percent|per cent|points?)?\s+(?:of|for|by|from)\s+(?:the\s+|its\s+)?")
_TEST_WORD = re.compile(r"(?:the\s+)?(?:test|benchmark|tasks?|problems?|issues?|questions?)\b", re.I)
_FOR_BEFORE = re.compile(r"(?:^|\s)(?:for|by)\s+(?:the\s+)?$")
_SCORED_GAP = re.compile(r"[\s,]*(?:scored|scores|got|gets|reached|reaches|at|with|of)?\s*", re.I)  # fullmatched


def _score_subject(text: str, figure: re.Match, mentions: list[Mention], parts: list[Clause],
                   second_of_pair: bool, bench_starts: set[int] = frozenset()) -> Mention | None:
    owner = next((x for x in mentions if _OWNER_GAP.fullmatch(text[x.end:figure.start()])), None)
    if owner is not None:
        return owner  # "trailing Sonnet 4.5's 80.9%"
    at = max((x for x in mentions if x.end <= figure.start() and _AT_GAP.fullmatch(text[x.end:figure.start()])),
             key=lambda x: x.end, default=None)
    if at is not None and not _NEXT_FIGURE.search(text[at.end:figure.start()]):
        return at  # "A at 91.75 and B way down at 22.30"
    poster = next((x for x in mentions if x.start >= figure.end() and _POSTER_GAP.fullmatch(
        text[figure.end():x.start]) and _POSTED.match(text[x.end:])), None)
    if poster is not None:
        return poster  # "the 80.9% Claude Opus 4.5 posted"
    after = next((x for x in mentions if x.start >= figure.end() and _FOR_GAP.fullmatch(text[figure.end():x.start])),
                 None)
    if after is not None:
        return after
    clause = _clause_at(parts, figure.start())
    if clause is None:
        return None
    if second_of_pair:
        # "against B it reports X versus Y" / "A scored X versus Y for B": the second figure is the object's.
        objects = [x for x in clause.mentions if x is not clause.subject]
        return objects[0] if objects else None
    if clause.subject is not None and clause.subject.start > figure.start():
        return None  # "NVIDIA's result of 60.47%, above the 41.9% that B scored": the first figure is not B's
    owned = _OWNED.match(text[figure.end():])
    if owned and figure.end() + owned.end() not in bench_starts and \
            not any(x.start == figure.end() + owned.end() for x in mentions) and not _TEST_WORD.match(
            text[figure.end() + owned.end():]):
        return None  # "the 51.1 of the official instruct models" is theirs
    before_owner = max((x for x in mentions if x.end <= figure.start() and _FOR_BEFORE.search(
        text[max(0, x.start - 6):x.start])), key=lambda x: x.end, default=None)
    if before_owner is not None and before_owner is not clause.subject and clause.start <= before_owner.start:
        return before_owner if _SCORED_GAP.fullmatch(text[before_owner.end:figure.start()]) else clause.subject
    return clause.subject


_BY = re.compile(r"\b(?:(?:developed|built|made|trained|released|published|created|designed|produced)\s+by|came out of|"
                 r"comes out of|comes from|came from)\s+(?:the\s+)?([A-Z][\w.]*(?:\s+[A-Z][\w.]*)?)")
# "... by" or "came/comes out of", "came/comes from": every match holds one of these (see prefilter.py).
_BY_SCAN = Prefiltered(_BY, ("by", "came", "comes"))
_POSSESSIVE = re.compile(r"\b([A-Z][\w.]*(?:\s+[A-Z][\w.]*)?)['’]s\s+$")
_TURN = re.compile(r"[;]|\b(?:but|while|whereas)\b")
_ORG_POSSESSIVE_AFTER = re.compile(r"(?:,\s*|\s+(?:is|was|remains)\s+)([A-Z][\w.]*(?:\s+[A-Z][\w.]*){0,2})['’]s\s")
_ORG_MODEL_AFTER = re.compile(r"\s+(?:is|was|remains)\s+(?:an?|the)\s+([A-Z][\w.]*(?:\s+[A-Z][\w.]*)?)\s+"
                              r"(?:model|system|llm|release|product)\b")
_LIST_GOES_ON = re.compile(r"\s*(?:and|or|,)")


def _developer(text: str, mentions: list[Mention], kb: KnowledgeBase) -> list[Claim]:
    """"gpt-oss-120b, developed by OpenAI", "Meta's Llama 4 Scout": an organisation the KB knows, said to have
    made the model."""
    known = kb.developer_index
    out = []

    def known_org(org: str) -> bool:
        key = normalise(org)
        return any(key.startswith(k) or k.startswith(key) for k in known if k)

    for m in _BY_SCAN.finditer(text):
        org = m.group(1).rstrip(".")
        if any(x.start <= m.start(1) < x.end for x in mentions):
            continue  # "developed by" a model is not an organisation
        owner = max((x for x in mentions if x.end <= m.start()), key=lambda x: x.end, default=None)
        if owner is not None and not _TURN.search(text[owner.end:m.start()]):
            out.append(Claim(owner.model, "developer", org, text[owner.start:m.end()]))
    # The possessive phrasings below all hold an apostrophe and an "s": most sentences have none to look for.
    possessive = "'s" in text or "’s" in text
    # "Claude Opus 4, Google DeepMind's big coding bet", "GLM-4.6 is Moonshot AI's answer to Claude".
    for x in mentions if possessive else ():
        m = _ORG_POSSESSIVE_AFTER.match(text[x.end:])
        if m and known_org(m.group(1)):
            out.append(Claim(x.model, "developer", m.group(1), text[x.start:x.end + m.end()]))
    # "Claude Sonnet 4 is an OpenAI model": a known developer named as the maker.
    for x in mentions:
        m = _ORG_MODEL_AFTER.match(text[x.end:])
        if m and known_org(m.group(1)):
            out.append(Claim(x.model, "developer", m.group(1), text[x.start:x.end + m.end()]))
    for x in mentions if possessive else ():
        if x.kind != "name":
            continue
        m = _POSSESSIVE.search(text[max(0, x.start - 40):x.start])
        if m and known_org(m.group(1)) and not _LIST_GOES_ON.match(text[x.end:x.end + 5]):
            out.append(Claim(x.model, "developer", m.group(1), text[x.start - len(m.group()):x.end]))
    return out


# --- sentences ------------------------------------------------------------------------------------------------

_LATER_REFERENCE = re.compile(r"\b(?:it|its|of them|they|them)\b")


def _read(sentence: str, kb: KnowledgeBase, indexed: KBNames, previous: Mention | None, context: str,
          recent: Sequence[str] = ()) -> tuple[list[Mention], list[Claim], Mention | None]:
    """A sentence's mentions and claims, and the model a following "It" refers to. `indexed` is `kb_names(kb)`,
    looked up once for all the sentences of a text; `recent`, the models the last sentence before it that named
    several named."""
    mentions = find_mentions(sentence, kb, context, indexed)
    described = None
    if len(recent) > 1 and not mentions:
        # "... for the larger model": the larger of the models just named; "its" in the sentence is that one too.
        described = comparative(sentence, [kb.models[k] for k in recent if k in kb.models])
        if described is not None:
            mentions, previous = [described], described
    ref = reference(sentence)
    if ref is None and (not mentions or described) and previous is not None:
        # "The company shipped it in February", "Only 3.7 billion of them are active per token."
        later = _LATER_REFERENCE.search(sentence)
        ref = (later.start(), later.end()) if later else None
    if ref and previous is not None and not any(x.start < ref[1] and ref[0] < x.end for x in mentions):
        mentions = sorted([Mention(previous.model, ref[0], ref[1], "reference"), *mentions], key=lambda x: x.start)
    parts = clauses(sentence, mentions) if mentions else []
    claims = _claims_of(sentence, mentions, parts, kb, indexed) if mentions else []
    # What a following "It" means: the latest subject of this sentence, else the last model it names.
    latest = next((c.subject for c in reversed(parts) if c.subject is not None), None)
    return mentions, claims, latest or (mentions[-1] if mentions else previous)


def claims_in(text: str, kb: KnowledgeBase) -> list[tuple[str, list[Claim]]]:
    """(sentence, its claims) for the sentences that state structured claims."""
    out = []
    previous = None
    context = text[:2000]
    indexed = kb_names(kb)
    named: deque[list[str]] = deque(maxlen=RECENT_SENTENCES)
    for sentence in sentences(text):
        mentions, claims, previous = _read(sentence, kb, indexed, previous, context, _recent(named))
        named.append([x.model for x in mentions])
        if claims:
            out.append((sentence, claims))
    return out


RECENT_SENTENCES = 3  # how far back "the larger model" looks for the models it compares


def _recent(named: deque[list[str]]) -> list[str]:
    """The models of the latest sentence (of the last few) that named more than one: what "the larger" compares."""
    for models in reversed(named):
        distinct = list(dict.fromkeys(models))
        if len(distinct) > 1:
            return distinct
    return []


def checkworthy_sentences(text: str, kb: KnowledgeBase, threshold: float = 0.3) -> list[CheckworthySentence]:
    """Sentences worth checking: half the score is the cues above (which know about AI models), half the
    model learned from fact-checked debates. A sentence that states a structured claim is always kept."""
    out = []
    previous = None
    split = sentences(text)
    learned = learned_probabilities(split) if split else []  # one pass of the ranker over the whole text
    context = text[:2000]
    indexed = kb_names(kb)
    named: deque[list[str]] = deque(maxlen=RECENT_SENTENCES)
    for sentence, probability in zip(split, learned, strict=True):
        mentions, claims, previous = _read(sentence, kb, indexed, previous, context, _recent(named))
        named.append([x.model for x in mentions])
        score = 0.5 * checkworthiness(sentence, len(mentions)) + 0.5 * float(probability)
        if score < threshold and not claims:
            continue
        out.append(CheckworthySentence(sentence, round(score, 3), tuple(mentions), tuple(claims)))
    return out


def _dedupe(claims: list[Claim]) -> list[Claim]:
    seen, out = set(), []
    for c in claims:
        key = (c.model, c.attribute, c.value, c.setting)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out
