"""The values a claim can state, in the many ways people write them: sizes ("a 70-billion-parameter model", "half
a trillion parameters", "0.4T"), context lengths ("a million-token window"), openness ("reachable only through a
paid endpoint", "anyone can grab the checkpoints"), licences ("Apache-licensed", "licensed MIT"), release verbs
("rolled out", "dropped") and evaluation settings ("without tools")."""

from __future__ import annotations

import re

from tidings.check.prefilter import Prefiltered, holds_any

# --- numbers ------------------------------------------------------------------------------------------------

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "b": 1e9, "bn": 1e9,
           "trillion": 1e12, "t": 1e12, "tn": 1e12}
_FRACTIONS = {"half": 0.5, "one-third": 1 / 3, "a third": 1 / 3, "two-thirds": 2 / 3, "a quarter": 0.25,
              "one-quarter": 0.25, "three-quarters": 0.75}
_UNIT_WORDS = "|".join(sorted(_UNITS, key=len, reverse=True))
_SMALL_NUMBER = r"(?:(?:" + "|".join(_TENS) + r")(?:[- ](?:" + _UNIT_WORDS + r"))?|" + _UNIT_WORDS + r")"
_WORD_NUMBER = (
    r"(?:half|one[- ]third|a third|two[- ]thirds|a quarter|one[- ]quarter|three[- ]quarters)(?:(?: of)? an?|(?=[\s-]"
    r"(?:thousand|million|billion|trillion)\b))"  # "half a trillion", "a quarter-million"
    r"|an?(?=[\s-]+(?:thousand|million|billion|trillion)\b)"  # "a million"
    r"|" + _SMALL_NUMBER + r"\s+point(?:\s+(?:" + _UNIT_WORDS + r"))+"  # "one point seven"
    r"|(?:" + _SMALL_NUMBER + r"|an?)\s+hundred(?:\s+and\s+" + _SMALL_NUMBER + r")?"  # "four hundred and fifty"
    r"|" + _SMALL_NUMBER + r"(?:\s+and\s+a\s+half)?")
# A quantity: digits ("116.8", "2,000") or words ("seventeen", "half a"), then an optional scale word or letter.
# The lookahead holds every letter a number word starts with (half, one, a, two, zero, four, six, eight, nine): it
# changes no match, but passes over the many words that start with none of them before trying each number word.
QUANTITY = (r"(?<![\w.])(?=[\dhoatzfsen])(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|(?:" + _WORD_NUMBER + r"))"
            r"(?:-|\s*)(?P<scale>thousand|million|billion|trillion|bn|mn|tn|[kmbt])?(?![a-z])")


def number_value(num: str, scale: str | None = None) -> float | None:
    """A quantity's value: "116.8" "billion" -> 1.168e11; "half a" "trillion" -> 5e11; "seventeen" -> 17."""
    text = num.lower().replace(",", "").strip()
    try:
        value = float(text)
    except ValueError:
        value = _words(text)
        if value is None:
            return None
    return value * _SCALES.get((scale or "").lower(), 1.0)


def _words(text: str) -> float | None:
    text = text.replace("-", " ")
    for fraction, value in _FRACTIONS.items():
        if text == fraction.replace("-", " ") or text.startswith(fraction.replace("-", " ") + " "):
            return value
    if text in ("a", "an"):
        return 1.0
    if text.endswith(" and a half"):
        whole = _words(text[:-len(" and a half")])
        return whole + 0.5 if whole is not None else None
    if " point " in text:  # "one point seven": the digits after the point are read one by one
        whole, _, rest = text.partition(" point ")
        head = _words(whole)
        digits = [_UNITS.get(w) for w in rest.split()]
        if head is None or any(d is None or d > 9 for d in digits):
            return None
        return float(f"{head:g}." + "".join(str(d) for d in digits))
    total = 0.0
    for word in text.split():
        if word in _UNITS:
            total += _UNITS[word]
        elif word in _TENS:
            total += _TENS[word]
        elif word == "hundred":
            total = (total or 1) * 100
        elif word in ("and", "a", "an"):
            continue
        else:
            return None
    return total


# --- openness -------------------------------------------------------------------------------------------------

# Phrases that say a model's weights are, or are not, there for anyone to take. Each carries its own meaning:
# "its weights were never published" is closed without any negation to undo.
_OPEN_PHRASES = (
    r"open[- ]weights?", r"open[- ]source(?:d)?", r"fully open", r"openly (?:licen[cs]ed|released|available)",
    r"released openly", r"(?:is|are|was|were) open\b", r"an open model", r"open models?\b(?! like| such)",
    r"(?:can|could) be (?:self[- ]hosted|downloaded|run locally)", r"self[- ]hostable",
    r"(?:anyone|everyone|developers|you) can (?:grab|download|get|fetch) (?:the |its |their )?(?:weights|checkpoints)",
    r"(?:weights|checkpoints) (?:are|were|is) (?:freely |publicly )?(?:available|downloadable|published|released)",
    r"published (?:its|the|their) weights", r"released (?:its|the|their) weights", r"downloadable weights",
    r"(?:weights|checkpoints) (?:can|could) be (?:freely |publicly )?(?:downloaded|fetched|self-hosted)",
    r"(?:can|could) (?:download|self-host) (?=\S)", r"openly\b(?! (?:said|admitted|discussed|criticised))",
    r"(?:weights|checkpoints) (?:are |were )?(?:up |posted )?on hugging ?face",
    r"run (?:it|them) (?:locally|on (?:their|your|its|our) own (?:hardware|machines?|servers?|gpus?))",
    r"available (?:to|for) download", r"made (?:its|the|their) weights(?: of)?(?= )", r"weights (?:are|were) public",
    r"weights (?:you|anyone|developers|people|users) can (?:download|grab|fetch|run)",
    r"(?:weights|checkpoints) (?:have been|had been|were|are|got) (?:posted|published|released|put online|"
    r"uploaded)(?: publicly)?",
    r"(?:publicly|freely) (?:downloadable|available weights)",
)
_CLOSED_PHRASES = (
    r"closed(?:[- ](?:source|weights?))?(?: models?| systems?)?", r"proprietary", r"api[- ]only",
    r"(?:reachable|available|accessible|offered|sold) (?:only|solely|exclusively) (?:through|via|as|over|behind|"
    r"from)", r"(?:only|solely|exclusively) (?:through|via) (?:an? |its |the )?(?:paid |hosted )?(?:api|endpoint)",
    r"(?:weights|checkpoints) (?:were|was|have|has|are|is) (?:never|not) (?:been )?(?:published|released|shared|"
    r"made (?:public|available))", r"never (?:published|released|shared|opened) (?:its|the|their) weights",
    r"kept (?:its|the|their) weights (?:private|in-house|secret)", r"behind an? (?:paid )?api",
    r"kept (?:its|the|their) weights(?: of)?(?= )", r"never (?:published|released|shared|opened) the weights of",
    r"(?:has|have) not (?:published|released|shared) (?:its|the|their) weights",
    r"(?:didn['’]t|did not|won['’]t|will not|doesn['’]t|does not) (?:release|publish|share|open[- ]source) "
    r"(?:the|its|their|any) weights",
    r"(?:only|solely|exclusively) (?:available|accessible|reachable|offered|sold) (?:through|via|as|over|behind|"
    r"from|on)", r"behind (?:its|an?|their) (?:own )?(?:paid )?(?:api|endpoint)",
)
OPEN = r"\b(?:" + "|".join(_OPEN_PHRASES) + r")"
# An adjective ("open-weight", "proprietary") says something of a model only through a linking verb ("A is
# proprietary") or right before it ("the proprietary A"); a verb phrase ("can be downloaded") says it by itself.
ADJECTIVE = re.compile(r"(?:open[- ]weights?|open[- ]source(?:d)?|fully open|closed(?:[- ](?:source|weights?))?"
                       r"(?: models?| systems?)?|proprietary|api[- ]only|an open model|open models?|self[- ]hostable)$",
                       re.I)
LINKING = re.compile(r"\b(?:is|are|was|were|remains?|remained|stays?|stayed|becomes?|became|been|be|isn['’]t|aren['’]t|"
                     r"wasn['’]t|'s|kept|keeps|keep|kept it)\b", re.I)
CLOSED = r"\b(?:" + "|".join(_CLOSED_PHRASES) + r")"
# OPEN and CLOSED run only on sentences holding words one of their phrases holds (see prefilter.py). Open: "open
# source", "open model" (not "OpenAI"), "openly", "fully open", "is open" and the like; "self" (self-hostable, can
# self-host), "weight" (open-weight, its weights are published) and "checkpoint", "download" (can be downloaded,
# available for download), and "run" as in "run locally", "run it", "run them".
OPEN_SCAN = Prefiltered(OPEN, ("open source", "open-source", "open model", "openly", "fully open", "is open",
                               "are open", "was open", "were open", "self", "weight", "checkpoint", "download",
                               "run locally", "run it", "run them"), re.I)
# Closed: "closed", "proprietary", "api" and "endpoint" (api-only, behind an API), "solely" and "exclusively",
# "only" before the ways in ("only through", "only available"), and weights or checkpoints with what keeps them in
# ("never", "not", "kept", "n't": its weights were never published, it did not release the weights).
CLOSED_SCAN = Prefiltered(CLOSED, (
    "closed", "proprietary", "api", "endpoint", "solely", "exclusively",
    *(f"only {way}" for way in ("through", "via", "as", "over", "behind", "from", "available", "accessible",
                                "reachable", "offered", "sold")),
    *(("weight", keeping) for keeping in ("never", "not", "kept", "n't", "n’t")),
    ("checkpoint", "never"), ("checkpoint", "not")), re.I)
# A negation just before an open/closed word turns it round: "isn't an open model", "is not a closed system".
NEGATION = re.compile(r"(?:\bnot|n['’]t|\bnever|\bno longer|\bno)\s+(?:(?:an?|the|really|truly|actually|quite|fully|"
                      r"yet)\s+){0,2}$", re.I)

# --- licences -------------------------------------------------------------------------------------------------

LICENCE_FAMILIES = (
    ("apache", r"apache(?:[- ]?2(?:\.0)?)?"),
    ("modified mit", r"modified mit"),
    ("mit", r"mit"),
    ("llama", r"llama(?: ?\d(?:\.\d)?)? community"),
    ("community", r"(?:custom )?community"),
    ("gemma", r"gemma(?: terms| licen[cs]e)"),
    ("nvidia", r"nvidia(?: nemotron)? open model"),
    ("mistral research", r"mistral research"),
    ("proprietary", r"proprietary"),
    ("permissive", r"permissive"),
    ("non-commercial", r"non-commercial|research-only"),
)
_LICENCE_NAMES = "|".join(f"(?P<l{n}>{p})" for n, (_, p) in enumerate(LICENCE_FAMILIES))
# "under the Apache 2.0 terms", "Apache-licensed", "licensed MIT", "an MIT licence", "ships under MIT".
LICENCE = (
    r"\b(?:(?:under|with|via|uses?|using|carries|ships? under|released under|licensed under)\s+(?:an?\s+|the\s+|its\s+"
    r"|a\s+)?(?:(?:restrictive|permissive|custom|open|own|standard|usual|very|fairly|plain|simple|ordinary|"
    r"vanilla|classic|original)\s+){0,2}(?:"
    + _LICENCE_NAMES.replace("(?P<l", "(?P<a") + r")\b(?:[- ]?(?:licen[cs]ed?|licen[cs]e|terms|"
    r"terms of use))?"
    r"|(?:" + _LICENCE_NAMES.replace("(?P<l", "(?P<b") + r")[- ]licen[cs]ed"
    r"|licen[cs]ed\s+(?:under\s+)?(?:an?\s+|the\s+)?(?:" + _LICENCE_NAMES.replace("(?P<l", "(?P<c") + r")\b"
    r"|(?:an?|the|its)\s+(?:" + _LICENCE_NAMES.replace("(?P<l", "(?P<d") + r")\b[- ]?(?:licen[cs]e|terms)"
    r"|licen[cs]e\s+(?:is|was|:)\s+(?:the\s+)?(?:" + _LICENCE_NAMES.replace("(?P<l", "(?P<e") + r")\b"
    r"|(?:restricted|limited) to (?P<f0>non-commercial|research)(?: research)?(?: use)?)")
# Every LICENCE match names a licence family or says "restricted to research" (see prefilter.py): one of these
# words is in each family's pattern above ("mit" in "modified mit", "community" in the Llama licence's, "nvidia"
# with "open model" in NVIDIA's, "research" in "mistral research" and "research-only").
LICENCE_SCAN = Prefiltered(LICENCE, ("apache", "mit", "community", "gemma terms", "gemma licen",
                                     ("nvidia", "open model"), "research", "proprietary", "permissive",
                                     "non-commercial"), re.I)


def licence_family(match: re.Match) -> str | None:
    """Which licence family a LICENCE match names."""
    for name, value in match.groupdict().items():
        if value is not None:
            if name == "f0":
                return "non-commercial"
            return LICENCE_FAMILIES[int(name[1:])][0]
    return None


# --- release verbs and settings -------------------------------------------------------------------------------

RELEASE = re.compile(r"\b(?:released|launched|shipped|came out|come out|rolled out|made (?:it )?(?:available|"
                     r"public)|dropped|went public|went live|debuted|hit the (?:market|internet|web|shelves)|arrived|"
                     r"open[- ]sourced|introduced|"
                     r"published|opened up|became available|release date|launch(?:ed)? date|out since|"
                     r"(?:first )?appeared|made (?:[\w.\-]+ ){1,4}(?:available|public)|landed|went out|"
                     r"(?:put|pushed) (?:[\w.\-]+ ){0,3}out|became (?:generally |publicly |widely )available)\b", re.I)
ANNOUNCE = re.compile(r"\b(?:announced|previewed|teased|revealed|unveiled|shown(?: off)?|showed(?: off)?|"
                      r"demoed|demonstrated)\b", re.I)
# The words every RELEASE and ANNOUNCE phrase holds (see prefilter.py): "made" (made available, made it public),
# "went" (went live, went out), "became" (became available), "put " and "pushed " (put it out), the "... out"
# phrases themselves, and each other verb or phrase whole ("released", "launch date"); for announcing, each verb
# whole.
RELEASE_SCAN = Prefiltered(RELEASE, ("released", "release date", "launched", "launch date", "shipped", "came out",
                                     "come out", "rolled out", "out since", "made", "dropped", "went", "debuted",
                                     "hit the", "arrived", "open-sourced", "open sourced", "opened up", "introduced",
                                     "published", "became", "appeared", "landed", "put ", "pushed "))
ANNOUNCE_SCAN = Prefiltered(ANNOUNCE, ("announced", "previewed", "teased", "revealed", "unveiled", "shown", "showed",
                                       "demoed", "demonstrated"))

SETTINGS = (("without tools", re.compile(r"\bwithout (?:tools|tool use)\b|\bno tools\b|\btool-free\b", re.I)),
            ("with tools", re.compile(r"\bwith (?:tools|tool use|tool access)\b|\btool[- ]assisted\b|\busing tools\b|"
                                      r"\bwhen (?:it|they) (?:could|can|may) use (?:them|tools)\b", re.I)),
            ("OpenHands harness", re.compile(r"\bOpenHands\b", re.I)),
            ("zero-shot", re.compile(r"\bzero[- ]shot\b", re.I)))
# Every setting above, and "with them" (looked for only beside a "tool"), holds one of these words: the
# tools, "use them", OpenHands, "shot" (see prefilter.py). Most texts state no setting at all.
_SETTING_CUES = ("tool", "use them", "openhands", "shot")


def setting_of(text: str) -> str:
    """The evaluation setting a text states, if any (first match wins: "without tools" before "with")."""
    if not holds_any(text, _SETTING_CUES):
        return ""
    return next((name for name, pattern in SETTINGS if pattern.search(text)), "")


_WITH_THEM = re.compile(r"\bwith them\b|\bwhen (?:it|they) (?:could|can) use them\b", re.I)
_TOOLS = re.compile(r"\btools?\b", re.I)


def nearest_setting(text: str, start: int, end: int) -> str:
    """The setting stated closest after a figure (else just before it): "92.5 without tools and 97.9 with tools"
    gives each figure its own."""
    if not holds_any(text, _SETTING_CUES):
        return ""
    best, distance = "", None
    candidates = list(SETTINGS)
    if _TOOLS.search(text):  # "without tools and 97.9 with them"
        candidates.append(("with tools", _WITH_THEM))
    for name, pattern in candidates:
        for m in pattern.finditer(text):
            gap = m.start() - end if m.start() >= end else (start - m.end()) * 3  # after the figure reads closer
            if gap >= 0 and (distance is None or gap < distance):
                best, distance = name, gap
    return best
