"""The claim reader's fast paths find exactly what the slow ones did.

Patterns run only on sentences holding one of their cue words (`tidings.check.prefilter`); some patterns gained a
lookahead or possessive quantifiers; descriptions and the corroboration of claims across sources are worked out
once per distinct input. Each shortcut is checked here against the plain computation it replaces, on the claim
sets' sentences, on phrases written to hit every alternative of the patterns, and on variants of both in capitals
and with the characters that case-insensitive matching folds onto ASCII letters.
"""

from __future__ import annotations

import random
import re
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from tidings.check import claims, mentions, prefilter, stage, values
from tidings.check.aliases import kb_names
from tidings.check.kb import load_kb
from tidings.check.words import value_text
from tidings.model import CheckedClaim, Claim, Evidence
from tidings.text import sentences

DATA = Path(__file__).parent / "data"

# Phrases for the alternatives of the prefiltered patterns, which the claim sets may not all hold.
PHRASES = [
    "gpt-oss-120b is an open-weight model and its weights are freely available on Hugging Face.",
    "The model is open source; anyone can download the weights, and you can run it locally.",
    "Developers can self-host it: the checkpoints can be downloaded, and the weights were posted publicly.",
    "Llama 4 Scout was released openly, and Meta published its weights, which are available for download.",
    "GPT-5 is proprietary, API-only and reachable only through a paid endpoint.",
    "Claude Opus 4 is closed: its weights were never published, and Anthropic did not release the weights.",
    "Gemini 2.5 Pro is available only via Google's API; Google kept its weights private and has not shared them.",
    "It is sold exclusively through an API, offered solely as a hosted service, and it's behind an API.",
    "DeepSeek-R1 ships under the MIT license; Qwen3 is Apache 2.0-licensed; Llama 4 uses the Llama 4 Community"
    " License.",
    "Gemma 3 comes under the Gemma Terms of Use, Nemotron under the NVIDIA Open Model License.",
    "Its licence is restricted to non-commercial research use; the licence is: proprietary; a permissive licence.",
    "Mistral Large is under the Mistral Research License, a modified MIT license for Kimi K2.",
    "o3 was announced in December 2024 and released on April 16, 2025; it came out two days later.",
    "It rolled out on 29.05.2025, launched 05/29/2025, went live in May 2025 and was open-sourced in June 2025.",
    "OpenAI put the model out on 5 August 2025; it became generally available and was made available in 2025.",
    "The release date was 2025-08-05; it first appeared, debuted, dropped, landed and hit the market in 2025.",
    "Google unveiled, previewed, teased, demoed, demonstrated and showed off Gemini; it was shown in 2025.",
    "Kimi K2 has a context window of 128K tokens, reads up to 256,000 tokens and handles a million tokens.",
    "Its context is 1M tokens; a 200K-token context; it takes as many as 400 thousand tokens of context.",
    "Qwen3.5-397B-A17B has 397 billion parameters, 17 billion of them active per token, out of its 397B.",
    "A blogger wrote that GPT-5 is open; critics claim it has 2 trillion parameters; the report says it is closed.",
    "According to a Reddit thread, o3 scores 91.6% on AIME 2024; it reportedly beat the so-called rivals.",
    "Observers suggested that the model was wrongly described; rumours say it is open in all but name.",
    "gpt-oss-120b, developed by OpenAI, came out of the lab; Meta's Llama 4 Scout comes from Meta.",
    "Claude Sonnet 4 is an OpenAI model, and GLM-4.6 is Moonshot AI's answer to Claude.",
    "GPT-5 scores 74.9% on SWE-bench Verified with tools and 94.6% on AIME 2025 without tools, zero-shot.",
    "Under the OpenHands harness it gets 60.4 on SWE-bench Verified, when it could use them, tool-assisted.",
    "While GPT-5 stays closed, gpt-oss-120b, which OpenAI released in August, is open: unlike o3, it is free.",
    "OpenAI's larger open model, the smaller gpt-oss-20b and Moonshot's trillion-parameter Kimi were compared.",
    "The company's flagship, a 72-billion-parameter model, beat the 128-expert line and the Bittensor-trained one.",
]

# Characters that IGNORECASE matches to an ASCII letter though lower() does not make them that letter, and the
# Kelvin sign, which lower() does make "k".
ODD = {"s": "ſ", "S": "ſ", "i": "ı", "I": "İ", "k": "K", "K": "K"}


def _variants(text: str, rng: random.Random) -> list[str]:
    odd = "".join(ODD[c] if c in ODD and rng.random() < 0.3 else c for c in text)
    flipped = "".join(c.upper() if rng.random() < 0.3 else c for c in text)
    return [text, text.upper(), odd, flipped, text.replace(" ", "\t")]


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Every sentence of the claim sets and the phrases above, each also in capitals, with odd characters, with
    letters flipped to capitals and with tabs for spaces."""
    found = list(PHRASES)
    for path in sorted(DATA.glob("claims_*.toml")):
        for case in tomllib.loads(path.read_text(encoding="utf-8"))["claims"]:
            found += sentences(case["text"])
    rng = random.Random(7)
    return [variant for text in dict.fromkeys(found) for variant in _variants(text, rng)]


def _prefiltered() -> dict[str, prefilter.Prefiltered]:
    return {f"{module.__name__}.{name}": value for module in (claims, values)
            for name, value in vars(module).items() if isinstance(value, prefilter.Prefiltered)}


def test_only_three_characters_fold_onto_ascii_letters_apart_from_lower_casing():
    """What the cue test rests on: a case-insensitive pattern's ASCII letter matches a character of the text only
    if lower() makes that character the letter, save for these three (which make `caseless` give up)."""
    any_letter = re.compile("[a-z]", re.I)
    apart = set()
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if any_letter.fullmatch(char):
            for letter in "abcdefghijklmnopqrstuvwxyz":
                if re.fullmatch(letter, char, re.I) and char.lower() != letter:
                    apart.add(char)
    assert apart == set(prefilter._FOLDED_APART)
    assert prefilter.caseless("Released ſoon") is None and prefilter.caseless("KELVIN") == "kelvin"


def test_every_prefiltered_pattern_finds_what_the_pattern_finds(texts):
    checked = _prefiltered()
    assert len(checked) >= 12
    for name, scan in checked.items():
        for text in texts:
            expected = [(m.span(), m.groupdict()) for m in scan.pattern.finditer(text)]
            assert [(m.span(), m.groupdict()) for m in scan.finditer(text)] == expected, (name, text)
            assert bool(scan.search(text)) == bool(expected), (name, text)
            assert scan.possible(text) or not expected, (name, text)


def test_every_prefiltered_pattern_is_matched_by_some_phrase():
    """The phrases above reach every prefiltered pattern, so the test before means something for each."""
    for name, scan in _prefiltered().items():
        assert any(scan.pattern.search(text) for text in PHRASES), name


def test_a_sentence_without_cues_never_runs_the_pattern(monkeypatch):
    """The point of the cues: a sentence that holds none is settled without the pattern."""
    class Untouchable:
        def finditer(self, text):
            raise AssertionError(f"ran on {text!r}")

        search = finditer

    plain = "The weather in the city was mild on Tuesday, and the markets were calm."
    for name, scan in _prefiltered().items():
        monkeypatch.setattr(scan, "_compiled", Untouchable())  # the pattern, compiled or not yet
        assert list(scan.finditer(plain)) == [] and scan.search(plain) is None, name


def test_a_pattern_given_as_text_is_compiled_when_a_text_first_holds_a_cue(monkeypatch):
    compiled = []
    real = re.compile
    monkeypatch.setattr(prefilter.re, "compile", lambda *a: compiled.append(a) or real(*a))
    scan = prefilter.Prefiltered(r"\bcontext of (?P<n>\d+)", ("context",), re.I)
    assert scan.search("The weather was mild.") is None and compiled == []
    assert [m["n"] for m in scan.finditer("A CONTEXT OF 128 tokens, a context of 64")] == ["128", "64"]
    assert scan.search("context of 8")["n"] == "8" and len(compiled) == 1


def test_cues_must_be_lower_case():
    with pytest.raises(ValueError):
        prefilter.Prefiltered(re.compile("x"), ("Open",))
    with pytest.raises(ValueError):
        prefilter.Prefiltered(re.compile("x"), (("token", "Read"),))


def _unguarded_settings(text: str, start: int, end: int) -> tuple[str, str]:
    first = next((name for name, pattern in values.SETTINGS if pattern.search(text)), "")
    best, distance = "", None
    candidates = list(values.SETTINGS)
    if re.search(r"\btools?\b", text, re.I):
        candidates.append(("with tools", values._WITH_THEM))
    for name, pattern in candidates:
        for m in pattern.finditer(text):
            gap = m.start() - end if m.start() >= end else (start - m.end()) * 3
            if gap >= 0 and (distance is None or gap < distance):
                best, distance = name, gap
    return first, best


def test_settings_are_found_as_without_their_cues(texts):
    for text in texts:
        start, end = len(text) // 3, len(text) // 2
        assert (values.setting_of(text), values.nearest_setting(text, start, end)) == \
            _unguarded_settings(text, start, end), text


@pytest.mark.parametrize("rewritten, original", [
    (values.QUANTITY, values.QUANTITY.replace(r"(?=[\dhoatzfsen])", "")),
    (mentions._ANCHOR.pattern, r"\b(?:(?P<dev>[A-Z][\w.]*(?:\s+[A-Z][\w.]*)?)['’]s|[Tt]he)\s+"),
    (claims._OBJECT_LEAD.pattern, claims._OBJECT_LEAD.pattern.replace("(?=[abcfilmorstuvw])", "")),
])
def test_patterns_with_a_lookahead_or_possessive_quantifiers_match_as_before(texts, rewritten, original):
    assert rewritten != original
    flags = re.I if rewritten is not mentions._ANCHOR.pattern else 0
    new, old = re.compile(rewritten, flags), re.compile(original, flags)
    for text in texts:
        assert [(m.span(), m.groups()) for m in new.finditer(text)] == \
            [(m.span(), m.groups()) for m in old.finditer(text)], text
        # The object lead is looked for at the end of a clause's start: every prefix ending before a word.
        if rewritten is claims._OBJECT_LEAD.pattern:
            for cut in (m.start() for m in re.finditer(r"\b\w", text)):
                assert bool(new.search(text[:cut])) == bool(old.search(text[:cut])), text[:cut]


def test_descriptions_resolved_once_per_knowledge_base_give_the_same_models(kb, texts):
    indexed = kb_names(kb)
    indexed.described.clear()
    first = [mentions.describe(text, kb) for text in texts]
    assert indexed.described  # the answers were kept
    assert [mentions.describe(text, kb) for text in texts] == first
    other = load_kb()
    assert kb_names(other) is not indexed and not kb_names(other).described
    assert [mentions.describe(text, other) for text in texts] == first


def _reference_verdicts(claims_found, domains):
    """Corroboration as first written: every claim against every other of its model and attribute."""
    groups = {}
    for c in claims_found:
        groups.setdefault((c.model, c.attribute), []).append(c)
    changes = []
    for group in groups.values():
        for c in group:
            mine = domains[c.item_id]
            same = {domains[o.item_id] for o in group if stage._agree(o.value, c.value)}
            other = [o for o in group if not stage._agree(o.value, c.value) and domains[o.item_id] != mine]
            if other:
                verdict = "disputed"
                evidence = tuple(Evidence(f"{domains[o.item_id]} states {value_text(o.value)}: {o.sentence}")
                                 for o in other[:3])
            elif len(same) >= 2:
                verdict = "corroborated"
                evidence = tuple(Evidence(f"also stated by {d}") for d in sorted(same - {mine})[:3])
            else:
                verdict, evidence = "single-source", ()
            if verdict != c.verdict:
                changes.append((c.id, verdict, evidence))
    return changes


class _Store:
    """What `corroborate` asks of a store, over claims made up for the test."""

    def __init__(self, found: list[CheckedClaim], hosts: dict[int, str]) -> None:
        self.found, self.hosts, self.changes = found, hosts, None

    def claims(self, verdicts=None):
        return [c for c in self.found if verdicts is None or c.verdict in verdicts]

    def items(self, ids):
        return [SimpleNamespace(id=i, url=f"https://{self.hosts[i]}/story", publisher="") for i in sorted(ids)]

    def set_verdicts(self, changes):
        self.changes = list(changes)


def test_corroboration_settled_once_per_value_and_site_is_as_before():
    rng = random.Random(3)
    hosts = {i: rng.choice(["www.a.example", "b.example", "c.example", "d.example"]) for i in range(1, 200)}
    values_seen = [62.0, 62.4, 63.5, 0.0, -0.0, "62", "open", "closed", float("nan"), 70.0, 1e-12]
    found = []
    for n in range(1, 1500):
        value = rng.choice(values_seen)
        attribute = "openness" if isinstance(value, str) and not value[0].isdigit() else rng.choice(
            ["score:mmlu", "params_total_b"])
        verdict = rng.choice(["unverified", "single-source", "corroborated", "disputed"])
        found.append(CheckedClaim(rng.randrange(1, 200), f"sentence {n}", Claim(rng.choice(["a", "b"]), attribute,
                                                                                 value), verdict, (), n))
    store = _Store(found, hosts)
    disputed = stage.corroborate(store)
    domains = {i: host.removeprefix("www.") for i, host in hosts.items()}
    expected = _reference_verdicts(found, domains)
    assert store.changes == expected
    assert disputed == sum(1 for _, verdict, _ in expected if verdict == "disputed")
