"""Dates in lifted sentences: relative days dated for the reader, and the day a sentence's event happens on.

An article sentence is a source sentence taken verbatim, so "the alert was lifted on Friday" reads wrongly a week
later. :func:`resolve` dates every relative day against the item's publication day with a bracketed editorial
insertion ("on Friday [Mar 13]"); that is the only change ever made to a source sentence, and the insertions it
reports give the original back exactly (:func:`strip_insertions`).

How ambiguous cases are settled:

* A relative day is dated only where the label can go cleanly: right after the phrase, or after the closing
  parenthesis when the phrase sits inside one (several phrases in one parenthetical share one bracket, labels
  joined by "; "). Nothing is inserted inside square brackets, inside an unclosed parenthesis, or when a date is
  already written next to the phrase ("Friday, March 13", "Friday (13 March)", "March 13 (Friday)"). Such a
  phrase does not count for :func:`has_relative_day`, so a resolved sentence never does.
* Named days ("Black Friday", "Super Tuesday", "USA Today", "the Sunday Times", "Monday Night Football"), plurals
  ("on Mondays"), hyphen or slash compounds ("Monday-Friday", "pre-Monday") and web names ("Monday.com") are not
  relative days. Weeks ("last week") are never narrowed to a day; "next weekend" is left alone.
* Weekday direction: "last"/"this past" is strictly before the publication day, "next"/"this coming" strictly
  after. Otherwise the tense decides: the nearest tense cue before the phrase (else the first one after it) says
  whether its clause looks forward ("began on Monday and will finish on Friday" dates the two days in opposite
  directions). Forward gives the weekday on or after the publication day, anything else the one on or before
  it; "by/until/from X" lean forward unless their cue is past, "since X" is always past. A weekday that follows
  another after "to/until/and/or/through" ("from Monday to Friday") is the first such day on or after the one
  before it. "this weekend" is the Saturday of the current weekend, otherwise chosen like "this Saturday";
  "last weekend" is the Saturday of the weekend before the current or most recent one.
* Absolute dates need a capitalised month name ("may 5" is not a date), an ISO date, or a four-digit year
  1900-2100 after in/since/from/by/until/of/during/through/before/after ("of" only after a time word such as
  "end of" or "summer of"; "by/from" not when a counted noun follows: "grew by 2000 units"). A date without a
  year takes the year that puts it closest to the publication day (the same year on a tie).
* :func:`referred_date` prefers the first relative day (the news of the sentence), then the first absolute date
  of the finest precision present.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

__all__ = ["Insertion", "apply_insertions", "dates_in", "day_label", "has_relative_day", "is_forward_looking",
           "referred_date", "resolve", "strip_insertions", "written_date"]

DAY, MONTH, YEAR = "day", "month", "year"
_PRECISIONS = (DAY, MONTH, YEAR)
_ABBR = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FULL_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")
_MONTH_NUMBER = {name: i for i, name in enumerate(_FULL_MONTHS, 1)}
_MONTH_NUMBER.update({name[:3]: i for i, name in enumerate(_FULL_MONTHS, 1)})
_MONTH_NUMBER["sept"] = 9

# Patterns run on the sentence in lower case (see _lower), which keeps them fast: a case-insensitive alternation
# defeats the regex engine's literal-prefix scan. Where capitals matter ("May" the month, not "may") the original
# sentence is consulted at the same offsets.
_MON = (r"(?:january|february|march|april|may|june|july|august|september|october|november|december"
        r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b")
_FULL_MON = r"(?:" + "|".join(_FULL_MONTHS) + r")\b"
_ORD = r"(?:st|nd|rd|th)?"
_PARTS = r"(?:morning|afternoon|evening|night)"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# Cheap gates: most sentences name no time at all and should cost one scan.
_REL_HINT = re.compile(r"day|night|tomorrow|weekend|morning|afternoon|evening")
_DIGIT = re.compile(r"\d")
_MONTH_OR_PERIOD = re.compile(r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
                              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|month|year)\b")

_REL = re.compile(rf"""
    \b(?:
        (?P<dby>the\s+day\s+before\s+yesterday)
      | (?P<dat>the\s+day\s+after\s+tomorrow)
      | (?P<today>(?:(?:earlier|later)\s+)?today|tonight|this[\s-]+(?:morning|afternoon|evening))
      | (?P<yday>yesterday(?:[\s-]+{_PARTS})?|last[\s-]+night)
      | (?P<tmrw>tomorrow(?:[\s-]+{_PARTS})?)
      | (?P<wkend>(?P<wkend_dir>this|last)\s+weekend)
      | (?:(?P<dir>this\s+past|this\s+coming|last|next|this)\s+
          |(?:(?:early|late)\s+)?(?P<prep>on|by|until|till|from|since|before|after)\s+)?
        (?:(?:early|late)\s+)?(?P<wd>{"|".join(_WEEKDAYS)})(?:[\s-]+{_PARTS})?
    )(?:['’]s)?(?!\w)
""", re.X)

# A weekday or "today" that is part of a name, not a day.
_NAMED_BEFORE = re.compile(r"\b(?:black|good|cyber|super|ash|easter|palm|holy|maundy|bloody|blue|giving|freaky|"
                           r"man|girl|casual|fat|shrove|whit|usa|small\s+business)[\s-]+\Z")
_NAMED_AFTER = re.compile(r"[\s-]+(?:Times|Telegraph|Mirror|Express|Post|Herald|Mail|Independent|Star|Sport|People|"
                          r"Tribune|Journal|Edition|Magazine|Review|Football|Live|Service|School|League|Show|"
                          r"programme|program|show)\b")  # on the original: the capital is what makes it a name
# A range or list of days: the later day counts on from the earlier one, across a label dating the earlier one.
_CHAIN_GAP = re.compile(r"(?:\s*\[[^\[\]]*\])?\s*,?\s*(?:(?:and|or|to|through|thru|-|–|—)\s*)?\Z")

_EXPLICIT = (rf"(?:{_MON}\.?\s*\d{{1,2}}{_ORD}(?!\d)|(?:the\s+)?\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MON}"
             rf"|(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)\b(?!\s+[a-z])|\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?\b)")
_DATE_AFTER = re.compile(rf"(?:\s*[,(\[]\s*|\s*[-–—]\s*|\s+){_EXPLICIT}")
_DATE_BEFORE = re.compile(rf"(?:{_MON}\.?\s*\d{{1,2}}{_ORD}(?:,?\s*\d{{4}})?|\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MON}\.?"
                          rf"(?:,?\s*\d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}})\s*[,(]?\s*\Z")

# Every branch starts at a word boundary, which keeps the scan cheap; what may stand before a number
# ("3.5 March", "GPT-4 March") is checked on the match (_NOT_BEFORE_NUMBER).
_ABS = re.compile(rf"""
    \b(?:
        (?P<iso>(?P<iso_y>\d{{4}})-(?P<iso_m>\d{{2}})-(?P<iso_d>\d{{2}})(?![\w.]?\d))
      | (?P<md>(?P<md_m>{_MON})\.?\s+(?:the\s+)?(?P<md_d>\d{{1,2}}{_ORD})(?![\d%]|[:.,/]\d)
            (?:,?\s+(?P<md_y>\d{{4}})(?![\w%]|[.,:/]\d))?)
      | (?P<dm>(?:the\s+)?(?P<dm_d>\d{{1,2}}{_ORD})\s+(?:of\s+)?(?P<dm_m>{_MON})\.?
            (?:,?\s+(?P<dm_y>\d{{4}})(?![\w%]|[.,:/]\d))?)
      | (?P<my>(?P<my_m>{_MON})\.?,?\s+(?:of\s+)?(?P<my_y>\d{{4}})(?![\w%]|[.,:/]\d))
      | (?P<mo>(?P<mo_cue>in|since|from|by|until|till|during|through|throughout|before|after|of|early|late|mid|
            this|last|next)[\s-]+(?P<mo_m>{_FULL_MON})(?!['’]s|\.?,?\s+(?:of\s+)?\d))
      | (?P<yr>(?P<yr_cue>in|since|from|by|until|till|of|during|through|throughout|before|after)\s+
            (?P<yr_q>(?:early|late|mid)[\s-]+)?(?P<yr_y>\d{{4}})(?![\w%]|[.,:/]\d))
      | (?P<per>(?:(?:earlier|later)\s+)?(?P<per_d>this|last|next)\s+(?P<per_u>month|year)\b)
    )
""", re.X)
_NOT_BEFORE_NUMBER = frozenset(".,:/$€£%-")
# What a day or month written with figures needs besides a digit (see written_date): a month name with a capital
# (read on the original sentence: only ASCII capitals lower-case to the ASCII letters of a month's name), or an
# ISO date. Two patterns, each starting with the characters it needs, so each is a quick scan for those.
_CAPITAL_MONTH = re.compile(r"J[aA][nN]|J[uU][nNlL]|F[eE][bB]|M[aA][rRyY]|A[pP][rR]|A[uU][gG]|S[eE][pP]|O[cC][tT]|"
                            r"N[oO][vV]|D[eE][cC]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LEADING_DIGITS = re.compile(r"\d+")
_OF_YEAR = re.compile(rf"\b(?:end|start|beginning|middle|half|quarter|spring|summer|autumn|fall|winter|rest|part|"
                      rf"course|months?|years?|class|q[1-4]|{_FULL_MON})\s+\Z")
# After "by 2030" or "from 2019" a lowercase word that is not a function word means a quantity ("by 2000 units").
_NEXT_WORD = re.compile(r"\s+([a-z]+)")
_FUNCTION_WORDS = frozenset(
    "the a an and or to when as it he she they we its their his her in on at for with after before while was were "
    "is are has had have will would but onward onwards through until that which this there".split())

_AUX_TAIL = r"""\s+(?:going\s+to\s+(?!the\b|a\b|an\b)
    |(?:\w+ly\s+)?(?:(?:expected|scheduled|slated|poised|planned|forecast|projected|tipped)\b
        |due\b(?!\s+(?:in\s+part\s+)?to\s+(?:the|a|an|its|their|his|her|our|this|that|these|those|some)\b)
        |set\s+(?:to|for)\b|likely\s+to\b|about\s+to\b|on\s+track\s+to\b))"""


_FORWARD = re.compile(rf"""
    (?=[a-z'’])  # what every cue starts with: most positions are ruled out before the alternatives are tried
    (?:\b(?:
        (?P<will>will)\b(?!\s+of\b)
      | won['’]t\b | shall\b
      | (?:is|are|am|be|being|been|now|also|still|widely|currently){_AUX_TAIL}
      | (?:is|are)\s+to\s+(?!blame\b)\w
      | (?:plans?|planning|planned|aims?|aiming|intends?|intending|expects?|expecting|hopes?|hoping|preparing)\s+to\b
      | (?:scheduled|slated)\s+(?:to|for|on|in|at|next|later)\b
      # "due" before its look back: an alternative that starts with a literal is passed over quickly
      | due(?<!was\sdue)(?<!were\sdue)\s+(?:on|by|next|later|this|before|within|out)\b
      | due(?<!was\sdue)(?<!were\sdue)\s+in\s+(?!part\b)
      | (?:upcoming|forthcoming|impending|tomorrow)\b
      | next\s+(?:week|month|year|quarter|season|spring|summer|autumn|fall|winter|weekend|decade|time|round|phase|
            steps?|{"|".join(_WEEKDAYS)})\b
      | later\s+(?:this|today|tonight|next|in\s+the)\b
      | in\s+the\s+(?:coming|next|near\s+future)\b
      | (?:coming|next\s+few)\s+(?:days|weeks|months|years)\b
      | this\s+coming\b
      | starting\s+(?:next|tomorrow|from\s+next)\b | from\s+next\b
    )
  | ['’](?:ll\b|(?:s|re){_AUX_TAIL}))
""", re.X)
# "will" the noun: "the will of the people", "political will".
_NOT_MODAL_WILL = re.compile(r"\b(?:the|free|good|political|own|ill|his|her|their|a|of|its|our|your|my)\s+\Z")
# "would" is a plan only when it reports one ("said it would publish"); alone it is a conditional.
_WOULD = re.compile(r"\bwould\b(?!\s+have\b)")
_REPORTING = re.compile(r"\b(?:said|says|say|announced|announces|confirmed|confirms|told|tells|added|promised|"
                        r"pledged|vowed|stated|indicated|expects|expected|hoped|believes|believed|predicted|predicts|"
                        r"warned|warns|signalled|signaled|suggested)\b")
_IRREGULAR_PAST = ("began became bought brought built came caught chose drew drove fell felt fled flew fought found "
                   "froze gave got grew heard held hid kept knew laid led left lost made meant met paid ran rang rose "
                   "said sang sank saw sent shook slept sold sought spent spoke stole stood struck swept swore taught "
                   "thought threw told took tore undertook withdrew woke won wore wrote")
# Participles used as adjectives or for schedules are no sign of the past.
_NOT_PAST = frozenset(
    "need indeed speed feed seed proceed succeed exceed hundred bed red shed sacred naked wicked embed breed bleed "
    "greed weed deed steed creed reed tweed expected scheduled planned slated poised proposed projected forecasted "
    "anticipated intended based related limited advanced detailed called unprecedented united skilled automated "
    "dedicated integrated sophisticated complicated concerned interested supposed alleged powered balanced "
    "experienced qualified armed biased talented varied needed".split())
_PAST = re.compile(rf"""
    \b(?:was|were|had|did|wasn['’]t|weren['’]t|hadn['’]t|didn['’]t|ago|yesterday|last\s+(?:night|week|month|year|
        weekend)|earlier\s+(?:this|today|on)|(?P<irregular>{"|".join(_IRREGULAR_PAST.split())})|(?P<ed>[a-z]{{2,}}ed))\b
""", re.X)
# A participle after these is passive or adjectival ("will be released", "is closed"), not a past event.
_PASSIVE_BEFORE = re.compile(r"(?:\b(?:be|been|being|is|are|get|gets)|['’](?:s|re))\s+\Z")


@dataclass(frozen=True)
class Insertion:
    """Text added to a source sentence: ``original[:at] + text + original[at:]``."""

    at: int  # offset in the original sentence
    text: str  # e.g. " [Mar 13]", leading space included


@dataclass(frozen=True, slots=True)
class _Phrase:
    start: int  # the match, with a leading preposition ("on Friday")
    end: int
    first: int  # where the time expression itself starts ("Friday")
    kind: str  # "offset" (value = days from publication), "weekday" (value = 0..6), "weekend", "last_weekend"
    value: int
    mode: str  # weekdays and weekends: "<", ">", "<=", ">=" relative to the publication day, or "chain"
    insert_at: int | None  # where its label goes; None where none can go cleanly
    dated: tuple[int, int] | None  # span of a date already written next to it


def _day(published: datetime | date) -> date:
    return published.date() if isinstance(published, datetime) else published


def day_label(d: date, reference: date | None = None, precision: str = DAY) -> str:
    """'Mar 13'; 'Aug 5, 2025' when the year differs from the reference's; 'Aug 2025' for a month, '2025' a year."""
    if precision == YEAR:
        return str(d.year)
    if precision == MONTH:
        return f"{_ABBR[d.month]} {d.year}"
    if precision != DAY:
        raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(_PRECISIONS)}")
    label = f"{_ABBR[d.month]} {d.day}"
    if reference is not None and reference.year != d.year:
        label += f", {d.year}"
    return label


def apply_insertions(original: str, insertions: Sequence[Insertion]) -> str:
    """The original with each insertion made at its offset (insertions at one offset keep their order)."""
    parts, last = [], 0
    for ins in sorted(insertions, key=lambda i: i.at):
        if not last <= ins.at <= len(original):
            raise ValueError(f"insertion at {ins.at} is outside a text of length {len(original)}")
        parts += [original[last:ins.at], ins.text]
        last = ins.at
    parts.append(original[last:])
    return "".join(parts)


def strip_insertions(text: str, insertions: Sequence[Insertion]) -> str:
    """The original sentence back from one with these insertions made; raises ValueError if they are not there."""
    parts, last, shift = [], 0, 0
    for ins in sorted(insertions, key=lambda i: i.at):
        pos = ins.at + shift
        if pos < last or text[pos:pos + len(ins.text)] != ins.text:
            raise ValueError(f"insertion {ins.text!r} is not at offset {ins.at} of the original")
        parts.append(text[last:pos])
        last = pos + len(ins.text)
        shift += len(ins.text)
    parts.append(text[last:])
    return "".join(parts)


def resolve(sentence: str, published: datetime | date) -> tuple[str, tuple[Insertion, ...]]:
    """The sentence with every relative day dated, and the insertions made (empty if none)."""
    pub = _day(published)
    groups: dict[int, list[str]] = {}
    for phrase, d in _dated_phrases(sentence, pub):
        if phrase.insert_at is not None and phrase.dated is None:
            groups.setdefault(phrase.insert_at, []).append(day_label(d, pub))
    if not groups:
        return sentence, ()
    insertions = tuple(Insertion(at, " [" + "; ".join(dict.fromkeys(labels)) + "]")
                       for at, labels in sorted(groups.items()))
    return apply_insertions(sentence, insertions), insertions


def has_relative_day(sentence: str) -> bool:
    """Whether a relative day that :func:`resolve` would date has no date next to it yet."""
    return any(p.insert_at is not None and p.dated is None for p in _scan(sentence))


def dates_in(sentence: str, published: datetime | date) -> list[tuple[date, str, int, int]]:
    """(date, precision, start, end) of every relative day and absolute date, month or year, in order.

    A span covers the time expression with its direction word ("last Friday night", "next month") but not a
    leading preposition. A month or year is dated by its first day.
    """
    pub = _day(published)
    absolute = _absolute(sentence, pub)
    found = list(absolute)
    for phrase, d in _dated_phrases(sentence, pub):
        if phrase.dated and any(s < phrase.dated[1] and phrase.dated[0] < e for _, _, s, e in absolute):
            continue  # the written date says it better than our reckoning
        found.append((d, DAY, phrase.first, phrase.end))
    found.sort(key=lambda f: (f[2], f[3]))
    return found


def as_utc(value: datetime) -> datetime:
    """A time as stored and compared: one without a zone is taken to be UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def written_date(sentence: str, published: datetime | date) -> tuple[date, str] | None:
    """The first day or month the sentence writes out with figures ("on March 11", "in October 2025",
    "2025-03-11"), with its precision; None if it writes none. A year alone ("in 2019"), a month or a period
    without figures ("in March", "this month") and relative days do not count.

    The same as the first entry of :func:`dates_in` at day or month precision with a digit in its span, found
    without scanning the many sentences that cannot have one."""
    if not (_DIGIT.search(sentence) and (_CAPITAL_MONTH.search(sentence) or _ISO_DATE.search(sentence))):
        return None
    for d, precision, start, end in sorted(_absolute(sentence, _day(published)), key=lambda f: (f[2], f[3])):
        if precision in (DAY, MONTH) and any(ch.isdigit() for ch in sentence[start:end]):
            return d, precision
    return None


def referred_date(sentence: str, published: datetime | date) -> tuple[date, str] | None:
    """The day (or month, or year) the sentence's event happens on, with its precision; None if it names no time.

    The first relative day wins; otherwise the first absolute date of the finest precision the sentence has.
    """
    pub = _day(published)
    for phrase, d in _dated_phrases(sentence, pub):
        if phrase.dated is None:
            return d, DAY
    found = dates_in(sentence, pub)
    for precision in _PRECISIONS:
        for d, p, _, _ in found:
            if p == precision:
                return d, p
    return None


def is_forward_looking(sentence: str) -> bool:
    """Whether the sentence states a plan, schedule or expectation.

    Cues: will/won't/shall/'ll, is going to, is/are expected/due/set/scheduled/slated/poised/likely/about to,
    is to, plans/aims/intends/expects/hopes to, scheduled for, due on/by/in, upcoming, next week/month/Friday...,
    later this/today, in the coming/next, tomorrow, and a reported "would" ("said it would publish"). Speculation
    alone ("could", "may", "might", a bare "would") is not forward-looking.
    """
    return next(_forward_cues(_lower(sentence)), None) is not None


def _lower(s: str) -> str:
    """The sentence in lower case with every offset unchanged."""
    low = s.lower()
    return low if len(low) == len(s) else s.translate(_ASCII_LOWER)


def _forward_cues(low: str) -> Iterator[tuple[int, int]]:
    """The spans of the forward cues, one at a time: whether there is one is often all that is asked."""
    for m in _FORWARD.finditer(low):
        if not (m["will"] and _NOT_MODAL_WILL.search(low, max(0, m.start() - 12), m.start())):
            yield m.span()
    if "would" not in low:
        return  # the usual case, found without the pattern (which starts with \b, so gets no fast literal scan)
    for m in _WOULD.finditer(low):
        if _REPORTING.search(low, 0, m.start()):
            yield m.span()


def _tense_cues(s: str, low: str) -> list[tuple[int, int, bool]]:
    cues = [(a, b, True) for a, b in _forward_cues(low)]
    cues += [(m.start(), m.end(), False) for m in _PAST.finditer(low) if _past_verb(s, low, m)]
    cues.sort()
    return cues


def _past_verb(s: str, low: str, m: re.Match[str]) -> bool:
    if not (m["ed"] or m["irregular"]):
        return True
    if _PASSIVE_BEFORE.search(low, max(0, m.start() - 8), m.start()):
        return False
    # A capitalised "-ed" word is more often a name ("United", "Ahmed") than a verb.
    return not m["ed"] or (s[m.start()].islower() and m[0] not in _NOT_PAST)


def _forward_at(cues: list[tuple[int, int, bool]], start: int, end: int) -> bool | None:
    """The tense of the nearest cue before [start, end), else of the first after it; None without any."""
    before = [c for c in cues if c[1] <= start]
    if before:
        return before[-1][2]
    after = [c for c in cues if c[0] >= end]
    return after[0][2] if after else None


def _is_name_or_compound(s: str, low: str, m: re.Match[str], bare: bool) -> bool:
    start, end = m.span()
    if start and (s[start - 1] in "#@/\\" or (s[start - 1] in "-." and start > 1 and s[start - 2].isalnum())):
        return True
    if end < len(s) - 1 and s[end] in "-/@.\\" and s[end + 1].isalnum():
        return True
    if _NAMED_AFTER.match(s, end):
        return True
    return bare and bool(_NAMED_BEFORE.search(low, max(0, start - 30), start))


def _enclosure(s: str, pos: int) -> int | None | bool:
    """False outside brackets; inside only parentheses, the offset after the outermost one closes (None if never);
    None inside square or curly brackets."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for ch in s[:pos]:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs and stack and stack[-1] == pairs[ch]:
            stack.pop()
    if not stack:
        return False
    if "[" in stack or "{" in stack:
        return None
    for i in range(pos, len(s)):
        ch = s[i]
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs and stack and stack[-1] == pairs[ch]:
            stack.pop()
            if not stack:
                return i + 1
    return None


@lru_cache(maxsize=4096)
def _scan(s: str) -> tuple[_Phrase, ...]:
    low = _lower(s)
    if not _REL_HINT.search(low):
        return ()
    phrases: list[_Phrase] = []
    cues: list[tuple[int, int, bool]] | None = None
    last_weekday_end: int | None = None
    for m in _REL.finditer(low):
        start, end = m.span()
        direction = (m["dir"] or m["wkend_dir"] or "").split()
        prep = m["prep"] or ""
        if _is_name_or_compound(s, low, m, bare=not direction and not prep):
            continue
        mode = ""
        if m["dby"] or m["dat"] or m["today"] or m["yday"] or m["tmrw"]:
            kind, value = "offset", -2 if m["dby"] else 2 if m["dat"] else -1 if m["yday"] else 1 if m["tmrw"] else 0
        else:
            kind = "weekday" if m["wd"] else "weekend" if direction == ["this"] else "last_weekend"
            value = _WEEKDAYS.index(m["wd"]) if m["wd"] else 5
            if direction in (["last"], ["this", "past"]):
                mode = "<"
            elif direction in (["next"], ["this", "coming"]):
                mode = ">"
            elif (kind == "weekday" and prep != "since" and last_weekday_end is not None
                  and not direction and _CHAIN_GAP.match(low, last_weekday_end, start)):
                mode = "chain"
            else:
                if cues is None:
                    cues = _tense_cues(s, low)
                forward = _forward_at(cues, start, end)
                if prep == "since":
                    mode = "<="
                elif prep in ("by", "until", "till", "from"):
                    mode = "<=" if forward is False else ">="
                else:
                    mode = ">=" if forward else "<="
        if kind == "weekday":
            last_weekday_end = end
        placement = _placement(s, low, start, end, bare=not direction and not prep)
        first = len(low) - len(low[m.end("prep"):].lstrip()) if prep else start
        phrases.append(_Phrase(start, end, first, kind, value, mode, *placement))
    return tuple(phrases)


def _placement(s: str, low: str, start: int, end: int, bare: bool) -> tuple[int | None, tuple[int, int] | None]:
    after = _DATE_AFTER.match(low, end)
    dated = after.span() if after else None
    if dated is None and bare:
        before = _DATE_BEFORE.search(low, max(0, start - 40), start)
        dated = before.span() if before else None
    enclosure = _enclosure(s, end)
    if enclosure is False:
        return end, dated
    if enclosure is None:
        return None, dated
    if dated is None:
        after = _DATE_AFTER.match(low, enclosure)
        dated = after.span() if after else None
    return enclosure, dated


def _on_or_before(d: date, weekday: int) -> date:
    return d - timedelta(days=(d.weekday() - weekday) % 7)


def _on_or_after(d: date, weekday: int) -> date:
    return d + timedelta(days=(weekday - d.weekday()) % 7)


def _toward(d: date, weekday: int, mode: str) -> date:
    one = timedelta(days=1)
    if mode == "<":
        return _on_or_before(d - one, weekday)
    if mode == ">":
        return _on_or_after(d + one, weekday)
    return _on_or_after(d, weekday) if mode == ">=" else _on_or_before(d, weekday)


def _dated_phrases(s: str, pub: date) -> list[tuple[_Phrase, date]]:
    out: list[tuple[_Phrase, date]] = []
    previous: date | None = None
    for p in _scan(s):
        if p.kind == "offset":
            d = pub + timedelta(days=p.value)
        elif p.kind == "weekday":
            d = _on_or_after(previous, p.value) if p.mode == "chain" and previous else _toward(pub, p.value, p.mode)
            previous = d
        elif pub.weekday() >= 5:  # publication falls on a weekend: "this weekend" is this one
            saturday = pub - timedelta(days=pub.weekday() - 5)
            d = saturday if p.kind == "weekend" else saturday - timedelta(days=7)
        elif p.kind == "weekend":
            d = _toward(pub, 5, p.mode)
        else:
            d = _on_or_before(pub, 5)
        out.append((p, d))
    return out


def _closest_day(pub: date, month: int, day: int) -> date | None:
    best: date | None = None
    for year in (pub.year, pub.year - 1, pub.year + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if best is None or abs((d - pub).days) < abs((best - pub).days):
            best = d
    return best


def _closest_month(pub: date, month: int) -> date:
    here = pub.year * 12 + pub.month
    year = min((pub.year, pub.year - 1, pub.year + 1), key=lambda y: abs(y * 12 + month - here))
    return date(year, month, 1)


def _plausible_year(text: str | None) -> int | None:
    if text and 1900 <= int(text) <= 2100:
        return int(text)
    return None


def _month(s: str, m: re.Match[str], group: str) -> int | None:
    """The month a capitalised month name stands for; None for a lowercase word such as the verb 'may'."""
    if not s[m.start(group)].isupper():
        return None
    return _MONTH_NUMBER.get(m[group])


def _day_date(pub: date, month: int | None, day: int, year: int | None) -> date | None:
    if month is None:
        return None
    if year is None:
        return _closest_day(pub, month, day)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _absolute(s: str, pub: date) -> list[tuple[date, str, int, int]]:
    low = _lower(s)
    if not (_DIGIT.search(low) or _MONTH_OR_PERIOD.search(low)):
        return []
    found: list[tuple[date, str, int, int]] = []
    for m in _ABS.finditer(low):
        got: tuple[date | None, str, int, int] | None = None
        if (m["iso"] or m["dm"]) and m.start() and low[m.start() - 1] in _NOT_BEFORE_NUMBER:
            continue
        if m["per"] and low.endswith("the ", 0, m.start()):
            continue  # "over the last year" is a span of time, not a year
        if m["iso"]:
            y, mo, d = int(m["iso_y"]), int(m["iso_m"]), int(m["iso_d"])
            got = (_day_date(pub, mo, d, y) if _plausible_year(m["iso_y"]) else None, DAY, *m.span())
        elif m["md"] or m["dm"]:
            g = "md" if m["md"] else "dm"
            year = _plausible_year(m[g + "_y"])
            end = m.end() if year or g == "dm" else m.end(g + "_d")
            if g == "dm" and m["dm_y"] and not year:
                end = m.end("dm_m")
            day = int(_LEADING_DIGITS.match(m[g + "_d"])[0])
            got = (_day_date(pub, _month(s, m, g + "_m"), day, year), DAY, m.start(), end)
        elif m["my"]:
            month, year = _month(s, m, "my_m"), _plausible_year(m["my_y"])
            got = (date(year, month, 1) if month and year else None, MONTH, *m.span())
        elif m["mo"]:
            got = _month_only(s, m, pub)
        elif m["yr"]:
            got = _year_only(s, low, m)
        else:
            unit, which = m["per_u"], m["per_d"]
            step = {"this": 0, "last": -1, "next": 1}[which]
            if unit == "year":
                got = (date(pub.year + step, 1, 1), YEAR, *m.span())
            else:
                n = pub.year * 12 + pub.month - 1 + step
                got = (date(n // 12, n % 12 + 1, 1), MONTH, *m.span())
        if got and got[0] is not None:
            found.append((got[0], got[1], got[2], got[3]))
    return found


def _month_only(s: str, m: re.Match[str], pub: date) -> tuple[date | None, str, int, int]:
    month, cue = _month(s, m, "mo_m"), m["mo_cue"]
    start = m.start() if cue in ("this", "last", "next", "early", "late", "mid") else m.start("mo_m")
    if month is None:
        return None, MONTH, start, m.end()
    if cue == "this":
        d = date(pub.year, month, 1)
    elif cue == "last":
        d = date(pub.year if month < pub.month else pub.year - 1, month, 1)
    elif cue == "next":
        d = date(pub.year if month > pub.month else pub.year + 1, month, 1)
    else:
        d = _closest_month(pub, month)
    return d, MONTH, start, m.end()


def _year_only(s: str, low: str, m: re.Match[str]) -> tuple[date | None, str, int, int]:
    start = m.start("yr_q") if m["yr_q"] else m.start("yr_y")
    year, cue = _plausible_year(m["yr_y"]), m["yr_cue"]
    if year is None:
        return None, YEAR, start, m.end()
    if cue == "of" and not _OF_YEAR.search(low, max(0, m.start() - 20), m.start()):
        return None, YEAR, start, m.end()
    if cue in ("by", "from"):
        following = _NEXT_WORD.match(s, m.end())
        if following and following[1] not in _FUNCTION_WORDS:
            return None, YEAR, start, m.end()
    return date(year, 1, 1), YEAR, start, m.end()
