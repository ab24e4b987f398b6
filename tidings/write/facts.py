"""A sentence reduced to its facts: the figures it gives, the names it mentions and its content words.

The writer states each fact once: a sentence whose figures are all stated already, or whose words mostly repeat
a stated sentence, adds nothing. Sentences that state the same fact are cited together, and two sentences that
give different figures for the same quantity of the same thing are set side by side as perspectives.

Figures are (value, unit) pairs with the value normalised ("1,200" -> "1200", "41.90" -> "41.9") and the unit
reduced to one spelling ("per cent" -> "%", "megawatts" -> "megawatt", "$2.5bn" -> "billion $"). A scale word is
the unit of a count ("116.8 billion parameters" -> ("116.8", "billion")). Years, dates, clock times, version
numbers ("Llama 3.1", "Round 4") and model names ("gpt-oss-120b", "H100") are not figures; model names are
entities.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from tidings.text import STOPWORDS, tokens

# Overlap (shared content words over the smaller sentence's) at which a sentence restates a stated one, and at
# which two sentences without conflicting figures state the same fact. The second is stricter because it adds
# a citation, which claims the other source says the same thing.
RESTATE_OVERLAP = 0.5
SAME_FACT_OVERLAP = 0.6
SAME_FACT_MIN_WORDS = 3  # a five-word sentence overlaps most sentences on its topic by 0.6 with two words
# Two figures closer than this (relative) are one figure rounded differently; a hedged one ("about 62%") is
# allowed the wider margin.
EXACT_TOLERANCE = 0.01
HEDGED_TOLERANCE = 0.05


@dataclass(frozen=True, slots=True)  # slots: many are cached, and they are read in every pairwise comparison
class Fact:
    """What a sentence states, in a form two sentences can be compared by."""

    figures: frozenset[tuple[str, str]]  # (normalised value, unit)
    entities: frozenset[str]  # lower-cased names, model names and acronyms
    words: frozenset[str]  # content words (tidings.text.tokens) without the figures
    setting: str = ""  # the measurement setting, lower-cased ("with tools", "openhands; zero-shot"), or ""
    # Figures tied to what they measure: (entity, benchmark or "", value, unit), only where the sentence leaves
    # no doubt whose figure it is. The basis of `conflict`; the fields after it are filled only beside claims.
    claims: frozenset[tuple[str, str, str, str]] = frozenset()
    measures: frozenset[str] = frozenset()  # what is measured: "score", "parameter", "demand", "price" ...
    qualifiers: frozenset[str] = frozenset()  # "total", "active", "forecast", "bound", "approx" ...
    when: frozenset[str] = frozenset()  # days and years named ("friday", "march 11", "2025")


# --- vocabulary ------------------------------------------------------------------------------------------------

_SCALES = {"thousand": "thousand", "million": "million", "billion": "billion", "trillion": "trillion",
           "bn": "billion", "mn": "million", "tn": "trillion", "mln": "million", "bln": "billion"}
_CURRENCIES = {"$": "$", "€": "€", "£": "£", "¥": "¥", "euro": "€", "euros": "€", "eur": "€", "dollar": "$",
               "dollars": "$", "usd": "$", "pound": "£", "pounds": "£", "gbp": "£", "yen": "¥", "jpy": "¥",
               "yuan": "yuan", "renminbi": "yuan", "rmb": "yuan", "cny": "yuan", "francs": "chf", "chf": "chf"}


def _unit_table() -> dict[str, str]:
    table = {"%": "%", "percent": "%", "pct": "%", "points": "point", "point": "point", "pts": "point",
             "pp": "point", "times": "x", "x": "x", "×": "x", "fold": "x",
             "mw": "megawatt", "gw": "gigawatt", "kw": "kilowatt", "tw": "terawatt",
             "mwh": "megawatt-hour", "gwh": "gigawatt-hour", "kwh": "kilowatt-hour", "twh": "terawatt-hour",
             "kv": "kilovolt", "mhz": "megahertz", "ghz": "gigahertz", "hz": "hertz",
             "km": "kilometre", "cm": "centimetre", "mm": "millimetre", "m": "metre", "ft": "foot", "feet": "foot",
             "mph": "mph", "kph": "km/h", "km/h": "km/h", "kg": "kilogram", "ha": "hectare", "km2": "square kilometre",
             "km²": "square kilometre", "gb": "gigabyte", "tb": "terabyte", "mb": "megabyte",
             "min": "minute", "mins": "minute", "hr": "hour", "hrs": "hour", "yr": "year", "yrs": "year",
             "ms": "millisecond", "°c": "degree", "°f": "degree", "c": "degree", "celsius": "degree"}
    singular = ["watt", "kilowatt", "megawatt", "gigawatt", "terawatt", "watt-hour", "kilowatt-hour",
                "megawatt-hour", "gigawatt-hour", "terawatt-hour", "volt", "kilovolt", "hertz", "megahertz",
                "gigahertz", "metre", "kilometre", "centimetre", "millimetre", "mile", "hectare", "acre",
                "tonne", "ton", "kilogram", "gram", "litre", "barrel", "degree", "second", "minute", "hour", "day",
                "week", "month", "year", "decade", "century", "millisecond", "gigabyte", "terabyte", "megabyte",
                "petabyte", "byte", "token", "inch", "foot"]
    for word in singular:
        table[word] = word
        table[word + ("es" if word.endswith(("ch", "sh")) else "s")] = word
    for word in ("meter", "kilometer", "centimeter", "millimeter", "liter"):
        table[word] = table[word + "s"] = word[:-2] + "re"
    table["tons"] = table["ton"] = "tonne"
    table["centuries"] = "century"
    del table["token"], table["tokens"]  # "one million tokens" is a count, its scale is its unit
    return table


_UNITS = _unit_table()
# Suffixes written onto the number: "9B", "$2.5bn", "400kV", "2.2x".
_SUFFIXES = {"b": "billion", "bn": "billion", "m": "metre", "mn": "million", "k": "thousand", "tn": "trillion",
             "x": "x", "×": "x", "mw": "megawatt", "gw": "gigawatt", "kw": "kilowatt", "tw": "terawatt",
             "mwh": "megawatt-hour", "gwh": "gigawatt-hour", "kwh": "kilowatt-hour", "twh": "terawatt-hour",
             "kv": "kilovolt", "km": "kilometre", "cm": "centimetre", "mm": "millimetre", "kg": "kilogram",
             "gb": "gigabyte", "tb": "terabyte", "mb": "megabyte", "mhz": "megahertz", "ghz": "gigahertz",
             "ha": "hectare", "ms": "millisecond", "h": "hour", "hr": "hour", "hrs": "hour", "min": "minute",
             "pp": "point", "pts": "point", "km2": "square kilometre", "km²": "square kilometre"}
_SCALE_UNITS = {"thousand", "million", "billion", "trillion"}
_NUMBER_WORDS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                      "ninety": 90, "hundred": 100, "dozen": 12})
_MONTHS = frozenset("january february march april may june july august september october november december "
                    "jan feb mar apr jun jul aug sep sept oct nov dec".split())
_DAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
# Lower-case words after which a number is a label, not a quantity ("subnet 3", "round 4", "level 2").
_LABELS = frozenset("subnet round level phase version v stage tier season episode chapter section part no number "
                    "step block article figure fig table page gate platform route highway channel unit lane "
                    "item rule paragraph clause grade category class exhibit appendix".split())
# Capitalised words that start a sentence or a clause but do not begin a name.
_NOT_NAMES = frozenset({w.capitalize() for w in STOPWORDS} | {w.capitalize() for w in _MONTHS | _DAYS} | {
    "I", "Yes", "Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Sir", "According", "Among", "Although", "Despite",
    "Like", "Unlike", "Since", "Until", "While", "Whether", "Nearly", "Almost", "Around", "Roughly", "Some",
    "Many", "Most", "Several", "Every", "Each", "Another", "Meanwhile", "However", "Still", "Yet", "Instead",
    "Here", "Why", "What", "How", "Today", "Tomorrow", "Yesterday", "Tonight", "Last", "Next", "Earlier",
    "Later", "Overall", "Even", "Only", "Just", "Over", "Under", "Across", "Within", "Without", "Including"})
# Acronyms too common to name anything in particular.
_GENERIC = frozenset("ai ml llm llms gpu gpus cpu cpus tpu tpus api apis ceo cto cfo ui faq pdf ok tv pc id".split())
_HARDWARE_TAIL = frozenset("gpu gpus cpu cpus tpu tpus chips chip".split())

# Words that say what a figure measures, by their canonical form.
_MEASURE_FORMS = {
    "score": "score scores scored scoring", "result": "result results", "accuracy": "accuracy",
    "benchmark": "benchmark benchmarks", "parameter": "parameter parameters", "record": "record records",
    "demand": "demand", "peak": "peak peaks peaked", "price": "price prices priced pricing",
    "cost": "cost costs", "capacity": "capacity", "output": "output", "throughput": "throughput",
    "speed": "speed speeds", "revenue": "revenue revenues", "sales": "sales", "profit": "profit profits",
    "loss": "loss losses", "growth": "growth", "rate": "rate rates", "share": "share", "job": "job jobs",
    "temperature": "temperature temperatures", "volume": "volume", "area": "area", "length": "length",
    "thickness": "thickness thick thinned thinning", "retreat": "retreat retreated retreating",
    "outage": "outage outages", "household": "household households", "emissions": "emissions",
    "budget": "budget budgets", "funding": "funding funded", "valuation": "valuation valued",
    "user": "user users", "downloads": "downloads", "context": "context", "token": "token tokens",
    "gpu": "gpu gpus", "peer": "peer peers", "expert": "expert experts", "layer": "layer layers",
    "average": "average averaged averages", "size": "size", "population": "population", "deaths": "deaths",
    "inflow": "inflow inflows", "generation": "generation", "bid": "bid bids", "contract": "contract contracts",
    "grant": "grant", "investment": "investment invested", "visitors": "visitors", "vote": "vote votes",
}
_MEASURES = {form: canon for canon, forms in _MEASURE_FORMS.items() for form in forms.split()}
# Words that make two figures different quantities even of the same thing: a total and an active count, a
# forecast and an outcome, a ceiling and a price. "approx" marks a hedged figure.
_QUALIFIER_FORMS = {
    "total": "total overall combined", "active": "active activates activated activating",
    "previous": "previous previously prior former earlier old", "target": "target targets goal aim aims",
    "forecast": "forecast forecasts forecasted predicted predicts projected projection expected expects "
                "estimate estimates estimated",
    "modal": "could would might", "conditional": "if unless",
    "bound": "exceed exceeds exceeded ceiling cap floor limit maximum minimum more_than less_than at_least "
             "at_most up_to",
    "approx": "about around roughly approximately nearly almost some ~ close_to",
    "median": "median", "annual": "annual annually yearly", "monthly": "monthly", "daily": "daily",
    "weekly": "weekly", "quarterly": "quarterly", "net": "net", "gross": "gross",
}
_QUALIFIERS = {form.replace("_", " "): canon for canon, forms in _QUALIFIER_FORMS.items() for form in forms.split()}
_WORDS = re.compile(r"\b(?:more than|less than|at least|at most|up to|close to|[a-z]+)\b|~")
_WHEN = re.compile(
    r"\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|today|yesterday|tonight|tomorrow|"
    r"(?:last|this|next) (?:week|month|year|night|weekend|summer|autumn|winter|spring)|a day earlier|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december) \d{1,2}\b|"
    r"\d{1,2} (?:january|february|march|april|may|june|july|august|september|october|november|december)|"
    r"(?:1[89]|20)\d\d(?!s))\b")

# Names of benchmarks and tests: a figure "on" them is a score, and they are what is measured, not who.
_BENCH_NAME = re.compile(
    r"bench|mmlu|gpqa|aime|ruler|humaneval|gsm8k|hellaswag|math-?500|arena|ifeval|mbpp|codeforces|last exam|"
    r"arc-(?:agi|challenge|easy)|bfcl|osworld|simpleqa|mmmu|triviaqa|truthfulqa|winogrande|hle\b|livecode", re.I)
_LICENCE_NAME = re.compile(r"apache|\bmit\b|gpl|bsd|cc-by|creative commons|licen[cs]e", re.I)

# Measurement settings, each with how it is written in the setting string.
_HARNESSES = r"OpenHands|SWE-agent|mini-SWE-agent|Agentless|Aider|Moatless|CodeAct|Terminus"
_SETTINGS = re.compile(
    r"\b(?P<tools>with(?:out)?) (?:the use of )?tools\b"
    r"|\b(?P<shot>zero|one|few|two|three|four|five|eight|ten|\d+)[- ]shot\b"
    r"|\b(?P<at>(?:pass|maj|cons|avg)@\s?(?:\d+|k))"
    rf"|\b(?P<harness>{_HARNESSES})\b"
    r"|\b(?P<named>[A-Z][\w.\-]*) (?:agent )?(?:harness|scaffold|scaffolding)\b"
    r"|\b(?P<effort>high|medium|low|maximum|minimal)[- ](?:reasoning|effort|thinking)\b"
    r"|\b(?P<mode>thinking|non-thinking|reasoning) mode\b"
    r"|\b(?P<cot>chain[- ]of[- ]thought|CoT)\b"
    r"|\bat (?:a |the )?(?:full )?(?:length|context) of (?P<length>[\w.,]+(?: million| thousand)?) tokens\b"
    r"|\bat (?P<length2>one million|\d+(?:\.\d+)?[kKmM]|\d+(?:\.\d+)? (?:million|thousand)) tokens\b"
    r"|\bwith (?P<extra>(?:web )?search|browsing|python|code execution|a code interpreter)\b")

# Substrings without which no setting can match: most sentences skip the setting pattern.
_SETTING_CUES = ("tool", "shot", "@", "arness", "scaffold", "easoning", "ffort", "hinking", "mode", "hain",
                 "CoT", "tokens", "search", "browsing", "ython", "execution", "interpreter", "OpenHands",
                 "SWE-agent", "gentless", "Aider", "Moatless", "CodeAct", "Terminus")
_LETTERS_BY_FREQUENCY = "etaoinshrdlcumwfgypbvkjxqz"  # in English text, the most frequent first


def _from_rarest_character(cue: str) -> str:
    """A pattern for the cue that starts at its rarest character and looks back for the ones before it: re scans
    a pattern whose alternatives start with rare characters for those in C, and tries it at few positions."""
    rarity = [_LETTERS_BY_FREQUENCY.find(c) if c in _LETTERS_BY_FREQUENCY else len(_LETTERS_BY_FREQUENCY)
              for c in cue]
    k = rarity.index(max(rarity))
    behind = f"(?<={re.escape(cue[:k + 1])})" if k else ""
    return re.escape(cue[k]) + behind + re.escape(cue[k + 1:])


_SETTING_CUE = re.compile("|".join(map(_from_rarest_character, _SETTING_CUES)))
# A chunk of text: a word, a number with its joined punctuation ("1,500", "60.47%", "Qwen3.5-397B-A17B",
# "18:00"), possibly with a currency sign before and a possessive after.
_CHUNK = re.compile(r"[$€£¥]?[^\W_]+(?:[.,:\-–_+/@][^\W_]+)*(?:%|['’][sS](?![^\W_]))?")
_NUM_PLAIN = re.compile(r"\d+(?:\.\d+)?")
_NUM = re.compile(r"(?P<cur>[$€£¥])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<rest>.*)", re.S)
_RANGE_GAP = re.compile(r"\s*(?P<word>to|and|or|-|–|—)\s*")
_BETWEEN = re.compile(r"\bbetween\s+(?:about\s+|roughly\s+|around\s+)?$", re.I)  # "and" makes a range only here
_FOR_OWNER = re.compile(r"[,;]?\s+(?:for|of|by)\s+(?:the\s+|its\s+|their\s+)?")
_ON_BENCH = re.compile(r"\s+(?:on|in)\s+(?:the\s+)?")
# "\b[Oo]n" written as "[Oo]" then a look back for the boundary: a pattern that starts with a character class
# is scanned for that class in C, and this one is searched over the whole sentence before each name.
_BEFORE_BENCH = re.compile(r"[Oo](?<!\w[Oo])n\s+(?:the\s+)?$")
_CONNECTORS = frozenset("of for de von van der du la del".split())  # inside names: "University of Altberg"
_OPENERS = ("“", '"', "(", "‘", ":", "—", "–")  # after these a capital opens a clause, not a name
_HARDWARE = re.compile(r"(?:^|\s)[a-z]{1,2}\d{2,4}[a-z]?$")  # chips: "h100", "nvidia b200", "mi300x"
_REPORTING = (r"(?:says|said|reports|reported|measured|measures|estimates|estimated|claims|claimed|told|announced|"
              r"lists|listed|notes|noted|argues|argued|confirmed|disclosed|calculated|recorded|expects|predicts|"
              r"forecasts|puts)\b")
_SOURCE_AFTER = re.compile(rf"(?:['’]s)?(?:\s+[\w\-]+){{0,3}}?\s+{_REPORTING}")
_SOURCE_BEFORE = re.compile(r"(?=[armsb])\b(?:according to|reported by|measured by|said|says|by)\s+(?:the\s+)?$")
_CONSONANT_PART = re.compile(r"(?:^|-)[b-df-hj-np-tv-xz]{2,}(?:-|$)")
_DERIVED = re.compile(r"(?:mid|early|late|pre|post)-\d+s?")
_NOT_WORDS = frozenset(_NUMBER_WORDS) | frozenset(_SCALES)  # parts of figures, not content
_NUMERIC_TOKEN = re.compile(r"\d[\d.,]*(?:[a-z]{1,3}|°c)?")


# --- scanning -----------------------------------------------------------------------------------------------------

def _norm_value(num: str) -> str:
    num = num.replace(",", "")
    if "." in num:
        num = num.rstrip("0").rstrip(".")
    if num.startswith(".") or not num:
        num = "0" + num
    return num


def _strip_possessive(text: str) -> str:
    return text[:-2] if text[-2:] in ("'s", "’s", "'S", "’S") else text


def _unit_after(chunks: list, i: int, sentence: str, cur: str) -> tuple[str, str, int]:
    """The scale and unit written after the number at chunk i, and the index of the first chunk not used."""
    scale = ""
    j = i + 1
    n = len(chunks)

    def next_word(k: int) -> str:
        if k >= n or not sentence[chunks[k - 1].end():chunks[k].start()].isspace():
            return ""
        return chunks[k].group().lower()

    end = chunks[i].end()
    rest = sentence[end:end + 2]
    if rest.startswith("%") or rest == " %":
        return scale, "%", j
    if rest.startswith("°") or rest == " °":
        # "33.6°C": the letter after the sign belongs to it.
        if j < n and chunks[j].group() in ("C", "F") and chunks[j].start() <= end + 2:
            j += 1
        return scale, "degree", j
    word = next_word(j)
    if word in _SCALES or (word in ("m", "k") and cur):
        scale = _SCALES.get(word) or {"m": "million", "k": "thousand"}[word]
        j += 1
        word = next_word(j)
    if word in _CURRENCIES:
        cur = cur or _CURRENCIES[word]
        return scale, cur, j + 1
    if word == "per" and next_word(j + 1) == "cent":
        return scale, "%", j + 2
    if word == "percentage" and next_word(j + 1) in ("point", "points"):
        return scale, "point", j + 2
    if word in ("square", "sq") and _UNITS.get(next_word(j + 1)) in ("kilometre", "metre", "mile", "foot"):
        return scale, "square " + _UNITS[next_word(j + 1)], j + 2
    if word in _UNITS and not (word in ("m", "c", "x") and scale):
        unit = _UNITS[word]
        if unit == "degree" and next_word(j + 1) in ("celsius", "fahrenheit", "c", "f"):
            j += 1
        return scale, unit, j + 1
    return scale, cur, j


def _join(scale: str, unit: str) -> str:
    return f"{scale} {unit}" if scale and unit else scale or unit


def _is_model_like(text: str) -> bool:
    """A name that mixes letters and digits or is written like "gpt-oss": a model, chip or benchmark name."""
    return (not text.isalpha() and any(c.isdigit() for c in text) and "@" not in text
            and not _DERIVED.fullmatch(text)) or ("-" in text and bool(_CONSONANT_PART.search(text.lower())))


def _scan(sentence: str) -> tuple[list[tuple[str, str, int, int]], list[tuple[str, int, int]]]:
    """Figures as (value, unit, start, end) and names as (name, start, end), in order."""
    chunks = list(_CHUNK.finditer(sentence))
    figures: list[list] = []  # [value, unit, start, end, pending]
    names: list[tuple[str, int, int]] = []
    run: list[str] = []
    run_start = run_end = 0

    def close_run() -> None:
        nonlocal run
        while run and run[-1].lower() in _HARDWARE_TAIL:
            run.pop()
        if run and not (len(run) == 1 and run[0].lower() in _GENERIC):
            names.append((" ".join(run).lower(), run_start, run_end))
        run = []

    n = len(chunks)
    i = 0
    while i < n:
        m = chunks[i]
        text = m.group()
        c0 = text[0]
        if c0.islower() and text.isalpha():  # most chunks: a plain word, which can only end a name
            if text in _NUMBER_WORDS:
                if run:
                    close_run()
                i = _number_word(chunks, i, sentence, figures)
                continue
            if run:
                end = m.end()
                if text in _CONNECTORS and i + 1 < n and chunks[i + 1].group()[0].isupper() and \
                        sentence[end:end + 1] == " " and chunks[i + 1].start() == end + 1 and \
                        sentence[run_end:m.start()] == " ":
                    run.append(text)
                    i += 1
                    continue
                close_run()
            i += 1
            continue
        start, end = m.span()
        gap = sentence[chunks[i - 1].end():start] if i else sentence[:start]
        if run and gap != " ":
            close_run()
        if c0.isdigit() or c0 in "$€£¥":
            if run and not run[-1][0].isdigit() and _NUM_PLAIN.fullmatch(text) and \
                    not any(_unit_after(chunks, i, sentence, "")[:2]):
                run.append(text)  # a version inside a name: "Nemotron 3 Super", "Claude Opus 4.6", "Round 4"
                run_end = end
                i += 1
                continue
            if run:
                close_run()
            i = _number(chunks, i, sentence, figures, names)
            continue
        bare = _strip_possessive(text)
        lower = bare.lower()
        if c0.islower():
            if run:
                close_run()
            if "-" in lower and lower.split("-", 1)[0] in _NUMBER_WORDS:
                i = _number_word(chunks, i, sentence, figures)
                continue
            if _is_model_like(bare):
                names.append((lower, start, start + len(bare)))
            i += 1
            continue
        # A capitalised word, an acronym or a capitalised model name.
        opens = not i or gap.rstrip().endswith(_OPENERS)
        if lower in _NUMBER_WORDS and opens:
            if run:
                close_run()
            i = _number_word(chunks, i, sentence, figures)
            continue
        if bare in _NOT_NAMES or lower in _MONTHS or lower in _DAYS:
            if run:
                close_run()
            i += 1
            continue
        if not run:
            run_start = start
        run.append(bare)
        run_end = start + len(bare)
        if bare is not text:  # a possessive ends the name
            close_run()
        elif opens and len(run) == 1 and bare[1:].islower() and not any(map(str.isdigit, bare)):
            # A sentence's first word is capitalised anyway: it begins a name only if a name follows.
            nxt = _strip_possessive(chunks[i + 1].group()) if i + 1 < n else ""
            if not nxt or sentence[end:chunks[i + 1].start()] != " " or not (
                    nxt[0].isdigit() or nxt[0].isupper() and nxt not in _NOT_NAMES):
                run = []
        i += 1
    close_run()

    # A range gives its unit to both ends: "between 31 and 34 degrees", "ten and thirteen billion".
    for k in range(len(figures) - 2, -1, -1):
        f, g = figures[k], figures[k + 1]
        gap = _RANGE_GAP.fullmatch(sentence[f[3]:g[2]])
        if not f[1] and g[1] and gap and (gap["word"] != "and" or _BETWEEN.search(sentence, 0, f[2])):
            f[1] = g[1]
            f[4] = False
    return [(f[0], f[1], f[2], f[3]) for f in figures if not f[4]], names


def _number(chunks: list, i: int, sentence: str, figures: list, names: list) -> int:
    m = chunks[i]
    text = m.group()
    start = m.start()
    parsed = _NUM.fullmatch(text)
    if parsed is None:  # "$" alone or a chunk like "3D" or "397B-A17B"
        if any(c.isalpha() for c in text):
            names.append((text.lower(), start, m.end()))
        return i + 1
    cur = parsed["cur"] or ""
    cur = _CURRENCIES.get(cur, "")
    num, rest = parsed["num"], parsed["rest"]
    low = rest.lower()
    value = _norm_value(num)
    if not rest:
        scale, unit, j = _unit_after(chunks, i, sentence, cur)
        unit = _join(scale, unit)
        if not unit and not cur and _skip_bare(chunks, i, sentence, num):
            return i + 1
        figures.append([value, unit, start, chunks[j - 1].end(), False])
        return j
    if low == "%":
        figures.append([value, "%", start, m.end(), False])
        return i + 1
    if low in ("s", "st", "nd", "rd", "th") or (":" in rest and rest[0] == ":"):
        return i + 1  # a decade, an ordinal or a clock time
    if low in _SUFFIXES or (cur and low in ("m", "t")):
        suffix = _SUFFIXES.get(low, "")
        if cur:
            suffix = {"m": "million", "t": "trillion"}.get(low, suffix)
            unit = _join(suffix, cur) if suffix in _SCALE_UNITS else cur
        elif suffix in _SCALE_UNITS:
            _, after, j = _unit_after(chunks, i, sentence, "")
            unit = _join(suffix, after if after in _CURRENCIES.values() else "")
            if unit != suffix:
                figures.append([value, unit, start, chunks[j - 1].end(), False])
                return j
        else:
            unit = suffix
        figures.append([value, unit, start, m.end(), False])
        return i + 1
    if rest[0] in "-–":
        tail = rest[1:]
        other = _NUM.fullmatch(tail)
        if other is not None and not other["rest"]:  # "31-34 degrees"
            scale, unit, j = _unit_after(chunks, i, sentence, cur)
            unit = _join(scale, unit)
            figures.append([value, unit, start, m.end(), False])
            figures.append([_norm_value(other["num"]), unit, start, chunks[j - 1].end(), False])
            return j
        parts = tail.lower().split("-")
        if all(p.isalpha() for p in parts):  # "72-billion-parameter", "45-minute", "20-year"
            scale = _SCALES.get(parts[0], "")
            unit = _UNITS.get(parts[1] if scale and len(parts) > 1 else parts[0], "") if parts else ""
            if unit in ("metre", "degree", "x") and len(parts[0]) == 1:
                unit = ""
            figures.append([value, _join(scale, unit), start, m.end(), False])
            return i + 1
    if any(c.isalpha() for c in rest):
        names.append((_strip_possessive(text).lower(), start, m.end()))
    return i + 1


def _skip_bare(chunks: list, i: int, sentence: str, num: str) -> bool:
    """Whether a number without a unit is a year, a day of a date or a label rather than a quantity."""
    if len(num) == 4 and "." not in num and 1800 <= int(num) <= 2100:
        return True
    prev = chunks[i - 1].group() if i else ""
    gap = sentence[chunks[i - 1].end():chunks[i].start()] if i else ""
    nxt = chunks[i + 1].group().lower() if i + 1 < len(chunks) else ""
    if "." not in num and "," not in num and len(num) <= 2 and int(num) <= 31 and (
            prev.lower() in _MONTHS and gap == " " or nxt in _MONTHS
            and sentence[chunks[i].end():chunks[i + 1].start()] == " "):
        return True
    if i and gap == " " and "," not in num:
        if prev.lower() in _LABELS:
            return True
        bare = _strip_possessive(prev)
        # After a name it is a version or an identifier ("arXiv 2603.11863", "Gradient Notes 131").
        if bare == prev and bare[0].isalpha() and not bare.islower() and bare not in _NOT_NAMES:
            return True
    return False


def _number_word(chunks: list, i: int, sentence: str, figures: list) -> int:
    """A number written in words counts only with a unit: "ten hours", "one million tokens", "five-day"."""
    m = chunks[i]
    parts = m.group().lower().split("-")
    value = 0
    k = 0
    while k < len(parts) and parts[k] in _NUMBER_WORDS:
        value += _NUMBER_WORDS[parts[k]]
        k += 1
    if k < len(parts):  # "one-million-token", "five-day"
        scale = _SCALES.get(parts[k], "")
        if scale:
            k += 1
        unit = _UNITS.get(parts[k], "") if k < len(parts) else ""
        if scale or unit:
            figures.append([str(value), _join(scale, unit), m.start(), m.end(), False])
        return i + 1
    scale, unit, j = _unit_after(chunks, i, sentence, "")
    unit = _join(scale, unit)
    # Without a unit it may still take one from a range: "between ten and thirteen billion".
    figures.append([str(value), unit, m.start(), chunks[j - 1].end(), not unit])
    return j


def figures_in(sentence: str) -> list[tuple[str, str]]:
    """The figures a sentence gives, in order, as (normalised value, unit)."""
    return [(v, u) for v, u, _, _ in _scan(sentence)[0]]


# --- facts --------------------------------------------------------------------------------------------------------

def _setting(sentence: str) -> tuple[str, set[str]]:
    found: list[str] = []
    named: set[str] = set()
    if not _SETTING_CUE.search(sentence):
        return "", named
    for m in _SETTINGS.finditer(sentence):
        kind = m.lastgroup
        raw = m.group(kind)
        if kind == "tools":
            text = f"{raw.lower()} tools"
        elif kind == "shot":
            text = f"{'zero' if raw == '0' else raw.lower()}-shot"
        elif kind == "at":
            text = raw.lower().replace(" ", "")
        elif kind in ("harness", "named"):
            if _LICENCE_NAME.search(raw) or raw in _NOT_NAMES:
                continue
            text = raw.lower()
            named.add(text)
        elif kind == "effort":
            text = f"{raw.lower()} reasoning"
        elif kind == "mode":
            text = f"{raw.lower()} mode"
        elif kind == "cot":
            text = "chain-of-thought"
        elif kind in ("length", "length2"):
            text = "at " + raw.lower().replace("one million", "1m").replace(" million", "m") \
                .replace(" thousand", "k").replace(",", "") + " tokens"
        else:
            text = f"with {raw.lower()}"
        if text not in found:
            found.append(text)
    return "; ".join(found), named


def _words(sentence: str) -> frozenset[str]:
    words = frozenset(tokens(sentence)) - _NOT_WORDS
    if sentence.isascii() and not _DIGIT.search(sentence):
        return words  # no token of ASCII text without a digit starts with one (tokens are NFKC: ASCII is already)
    numbers = [t for t in words if t[0].isdigit() and _NUMERIC_TOKEN.fullmatch(t)]
    return words.difference(numbers) if numbers else words


@lru_cache(maxsize=4096)  # a story's names come back sentence after sentence
def _name_kind(name: str) -> tuple[bool, bool, bool]:
    """What a name says of itself: whether it is a licence or a chip (never whose figure it is), a benchmark, or a
    model (it has a digit, or a part like "gpt-oss")."""
    return (bool(_LICENCE_NAME.search(name) or _HARDWARE.search(name)), bool(_BENCH_NAME.search(name)),
            bool(any(map(str.isdigit, name)) or _CONSONANT_PART.search(name)))


def _claims(sentence: str, figures: list[tuple[str, str, int, int]], names: list[tuple[str, int, int]],
            harnesses: set[str]) -> frozenset[tuple[str, str, str, str]]:
    """Each figure tied to whose it is and what it measures, where the sentence leaves no doubt."""
    benches: list[tuple[str, int, int]] = []
    models: list[tuple[str, int, int]] = []
    others: list[tuple[str, int, int]] = []
    for name in names:
        text, start, end = name
        no_owner, bench, model = _name_kind(text)
        if text in harnesses or no_owner:
            continue
        if bench or _BEFORE_BENCH.search(sentence, 0, start):
            benches.append(name)
        elif model:
            models.append(name)
        elif not (_SOURCE_AFTER.match(sentence, end) or _SOURCE_BEFORE.search(sentence, 0, start)):
            others.append(name)  # a publisher or lab that reports a figure is not what the figure is of
    owners = models or others
    if not owners:
        return frozenset()
    by_start = {start: text for text, start, _ in owners}
    out = set()
    for value, unit, start, end in figures:
        owner = None
        m = _FOR_OWNER.match(sentence, end)
        if m is not None:
            owner = by_start.get(m.end())
        if owner is None:
            before = {text for text, s, e in owners if e <= start}
            if len(before) == 1 and not (m is not None and m.end() in {s for _, s, _ in names}):
                owner = before.pop()
        if owner is None:
            continue
        bench = ""
        m = _ON_BENCH.match(sentence, end)
        if m is not None:
            bench = next((t for t, s, _ in benches if s == m.end()), "")
        if not bench and benches:
            # Otherwise the nearest benchmark on either side ("its SWE-bench Verified score at about 62%").
            _, bench = min((s - end if s >= end else start - e if e <= start else 0, t) for t, s, e in benches)
        out.add((owner, bench, value, unit))
    return frozenset(out)


@lru_cache(maxsize=65536)
def fact_of(sentence: str) -> Fact:
    """A sentence's figures, names, content words and measurement setting."""
    figures, names = _scan(sentence)
    setting, harnesses = _setting(sentence)
    claims = _claims(sentence, figures, names, harnesses) if figures and names else frozenset()
    return Fact(figures=frozenset((v, u) for v, u, _, _ in figures), entities=frozenset(n for n, _, _ in names),
                words=_words(sentence), setting=setting, claims=claims, **(_beside_claims(sentence) if claims else {}))


def _number_word_pattern() -> re.Pattern[str]:
    """A number word standing as a word of its own, in a lower-cased sentence: with a digit, what any figure needs.

    Grouped by first letter, each letter followed by a look back for the word's start, so that the pattern starts
    with a handful of literal letters: scanned for in C, and at most one group tried at each of them."""
    rests: dict[str, list[str]] = {}
    for word in _NUMBER_WORDS:
        rests.setdefault(word[0], []).append(word[1:])
    groups = (rf"{first}(?<![^\W_]{first})(?:{'|'.join(sorted(ends, key=len, reverse=True))})"
              for first, ends in sorted(rests.items()))
    return re.compile(f"(?:{'|'.join(groups)})(?![^\\W_])")


_NUMBER_WORD = _number_word_pattern()
_DIGIT = re.compile(r"\d")  # what every figure written in figures has (see _NUM)


def may_hold_figure(sentence: str) -> bool:
    """Whether the sentence has a digit or a number word: what any figure needs."""
    return bool(_DIGIT.search(sentence) or _NUMBER_WORD.search(sentence.lower()))


def fact_to_compare(sentence: str) -> Fact:
    """fact_of(sentence) for comparing it with others (content_overlap, restates, same_fact, conflict).

    Those read a sentence's names only beside its figures (a figure two sentences share, a figure's claim), so a
    sentence that cannot give a figure, having no digit and no number word, is compared the same without its
    names; it keeps none, and is spared the scan for them: most of what fact_of costs, for most sentences."""
    if may_hold_figure(sentence):
        return fact_of(sentence)
    return Fact(figures=frozenset(), entities=frozenset(), words=_words(sentence), setting=_setting(sentence)[0])


def _beside_claims(sentence: str) -> dict[str, frozenset[str]]:
    """The fields of a Fact that matter only beside claims: what is measured, the kind of quantity, the days."""
    lowered = sentence.lower()
    found = set(_WORDS.findall(lowered))
    return {"measures": frozenset(_MEASURES[w] for w in found & _MEASURES.keys()),
            "qualifiers": frozenset(_QUALIFIERS[w] for w in found & _QUALIFIERS.keys()),
            "when": frozenset(_WHEN.findall(lowered))}


def content_overlap(a: Fact, b: Fact) -> float:
    """Shared content words over the smaller sentence's content words (0 if either has none)."""
    if not a.words or not b.words:
        return 0.0
    return len(a.words & b.words) / min(len(a.words), len(b.words))


def restates(candidate: Fact, stated: Sequence[Fact]) -> bool:
    """True when the candidate adds nothing: every figure it has is already stated (and it has figures), or it
    shares >= 50% of its content words with one stated sentence."""
    if not stated:
        return False
    if candidate.figures:
        known: set[tuple[str, str]] = set()
        for s in stated:
            known |= s.figures
        if candidate.figures <= known:
            return True
    return any(content_overlap(candidate, s) >= RESTATE_OVERLAP for s in stated)


def _specific(figure: tuple[str, str]) -> bool:
    """A figure precise enough that two sentences giving it are likely giving the same thing."""
    value, unit = figure
    return bool(unit) or "." in value or float(value) >= 10


def _settings_differ(a: Fact, b: Fact) -> bool:
    return bool(a.setting and b.setting and not set(a.setting.split("; ")) & set(b.setting.split("; ")))


def _conflicting_figures(a: Fact, b: Fact) -> bool:
    """Whether the two give figures of one unit with nothing in common, and so different values for it."""
    units = {u for _, u in a.figures} & {u for _, u in b.figures}
    for unit in units:
        va = [v for v, u in a.figures if u == unit]
        vb = [v for v, u in b.figures if u == unit]
        if not any(_close(x, y, EXACT_TOLERANCE) for x in va for y in vb):
            return True
    return False


def same_fact(a: Fact, b: Fact) -> bool:
    """Two sentences stating the same fact: they share a figure (same value and unit) and an entity, or overlap
    >= 0.6 with no conflicting figure. Used to cite every source that states a fact on the one sentence that
    carries it. (Names are read only beside a shared figure, which fact_to_compare relies on.)"""
    if _settings_differ(a, b):
        return False
    figures = a.figures & b.figures  # usually none: then the names need no comparing
    if figures and not a.entities.isdisjoint(b.entities) and any(_specific(f) for f in figures):
        return True
    shared = len(a.words & b.words)  # content_overlap's numerator, counted once
    return (shared >= SAME_FACT_MIN_WORDS and shared / min(len(a.words), len(b.words)) >= SAME_FACT_OVERLAP
            and not _conflicting_figures(a, b))


def _close(x: str, y: str, tolerance: float) -> bool:
    if x == y:
        return True
    fx, fy = float(x), float(y)
    # One figure rounded from the other: "117" and "116.8", "62" and "61.6".
    places = min(len(x.partition(".")[2]), len(y.partition(".")[2]))
    if round(fx, places) == round(fy, places):
        return True
    top = max(abs(fx), abs(fy))
    return top > 0 and abs(fx - fy) / top <= tolerance


def conflict(a: Fact, b: Fact) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The two figures, (a's, b's), when two sentences give different figures of one unit for the same
    quantity of the same thing, or None.

    Conservative: both sentences must tie the figure to the same entity without doubt, on the same benchmark or
    with a shared measure word, once each; a sentence that gives two figures of the unit for that entity (a
    comparison, a range) never conflicts. Different stated settings, different days, or different kinds of
    quantity (a total and an active count, a forecast and an outcome) are different quantities, not a dispute.
    """
    if not a.claims or not b.claims or a is b:
        return None
    if _settings_differ(a, b):
        return None
    if a.when and b.when and not a.when & b.when:
        return None
    if a.qualifiers - {"approx"} != b.qualifiers - {"approx"}:
        return None
    tolerance = HEDGED_TOLERANCE if "approx" in a.qualifiers | b.qualifiers else EXACT_TOLERANCE
    mine: dict[tuple[str, str, str], list[str]] = {}
    theirs: dict[tuple[str, str, str], list[str]] = {}
    for owner, bench, value, unit in a.claims:
        mine.setdefault((owner, bench, unit), []).append(value)
    for owner, bench, value, unit in b.claims:
        theirs.setdefault((owner, bench, unit), []).append(value)
    for key in sorted(mine.keys() & theirs.keys()):
        va, vb = mine[key], theirs[key]
        if len(va) != 1 or len(vb) != 1:
            continue
        x, y = va[0], vb[0]
        if _close(x, y, tolerance):
            continue
        _, bench, unit = key
        if not bench and not a.measures & b.measures:
            continue
        return (x, unit), (y, unit)
    return None


def attributed(text: str) -> bool:
    """Whether a sentence says whose figure or claim it gives: a perspective or a report, not a statement of fact."""
    lowered = text.lower()
    return any(w in lowered for w in ("according to", " said", " says", "reported", "reports", "'s card",
                                      "measured", "in its", "by its"))
