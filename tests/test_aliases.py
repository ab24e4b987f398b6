"""The one-pass alias matcher: what it finds in a sentence, and that it finds what a scan of every run of words
(the way names were found before the matcher) finds."""

from __future__ import annotations

import random

import pytest

from tidings.check.aliases import AliasMatcher, kb_names, matcher, words
from tidings.check.kb import load_kb, normalise
from tidings.check.mentions import SHORT_NAMES, names_in

NAMES = {normalise(n): i for n, i in (
    ("GPT-4", "gpt-4"), ("GPT-4o", "gpt-4o"), ("gpt-oss-120b", "gpt-oss-120b"), ("Llama 4", "llama-4"),
    ("Llama 4 Scout", "llama-4-scout"), ("Scout", "scout"), ("Qwen3", "qwen3"), ("Qwen3.5", "qwen3.5"),
    ("Claude Opus 4.5", "claude-opus-4.5"))}


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def found(text: str, names: dict[str, str] = NAMES, longest: int = 6) -> list[tuple[str, str]]:
    """(the words matched, what they name), which reads better in a test than offsets."""
    return [(text[s:e], meaning) for s, e, meaning in AliasMatcher(names, longest).find(text)]


def test_a_name_of_several_words_is_found_however_it_is_spaced_or_hyphenated():
    assert found("OpenAI's gpt-oss-120b is open.") == [("gpt-oss-120b", "gpt-oss-120b")]
    assert found("OpenAI's GPT OSS 120B is open.") == [("GPT OSS 120B", "gpt-oss-120b")]
    assert found("the GPT-OSS 120B model") == [("GPT-OSS 120B", "gpt-oss-120b")]
    assert found("Anthropic's Claude Opus 4.5 leads.") == [("Claude Opus 4.5", "claude-opus-4.5")]


def test_the_longest_of_overlapping_names_wins():
    assert found("Meta's Llama 4 Scout fits on one GPU.") == [("Llama 4 Scout", "llama-4-scout")]
    assert found("Llama 4 came out; Scout followed.") == [("Llama 4", "llama-4"), ("Scout", "scout")]
    # Of two overlapping runs of one length the earlier wins, and a longer run beats an earlier shorter one.
    assert found("a b c", {"ab": "AB", "bc": "BC"}) == [("a b", "AB")]
    assert found("a b c d", {"ab": "AB", "bcd": "BCD"}) == [("b c d", "BCD")]
    assert found("a b c d", {"ab": "AB", "bcd": "BCD", "a": "A"}) == [("a", "A"), ("b c d", "BCD")]


def test_a_name_is_a_whole_word_gpt_4_is_not_gpt_4o():
    assert found("GPT-4 and GPT-4o differ.") == [("GPT-4", "gpt-4"), ("GPT-4o", "gpt-4o")]
    assert found("GPT-4o-mini is neither.") == []  # one word, "gpt4omini", which is no name
    assert found("GPT-40 and SuperGPT-4 are not names.") == []
    assert found("Qwen3.5 is not Qwen35, and Qwen3 is not Qwen3.5.") == [
        ("Qwen3.5", "qwen3.5"), ("Qwen3", "qwen3"), ("Qwen3.5", "qwen3.5")]


def test_case_does_not_matter():
    assert found("gpt-4O, GPT-4O and gpt-4o") == [("gpt-4O", "gpt-4o"), ("GPT-4O", "gpt-4o"), ("gpt-4o", "gpt-4o")]
    assert found("LLAMA 4 SCOUT") == [("LLAMA 4 SCOUT", "llama-4-scout")]


def test_punctuation_around_a_name_is_not_part_of_it():
    assert found("(GPT-4o) beat “Qwen3”.") == [("GPT-4o", "gpt-4o"), ("Qwen3", "qwen3")]
    assert found("It beat GPT-4o.") == [("GPT-4o", "gpt-4o")]
    assert found("GPT-4o's score and Qwen3’s") == [("GPT-4o", "gpt-4o"), ("Qwen3", "qwen3")]
    assert found("models' rivals: GPT-4o...") == [("GPT-4o", "gpt-4o")]


def test_a_name_never_runs_across_a_comma_semicolon_or_colon():
    assert found("Llama 4, Scout") == [("Llama 4", "llama-4"), ("Scout", "scout")]
    assert found("GPT OSS, 120B") == []
    assert found("Llama 4; Scout: Llama 4 Scout") == [("Llama 4", "llama-4"), ("Scout", "scout"),
                                                      ("Llama 4 Scout", "llama-4-scout")]
    assert found("GPT-OSS-120B, the open one") == [("GPT-OSS-120B", "gpt-oss-120b")]


def test_a_name_longer_than_the_longest_run_is_not_found():
    assert found("Llama 4 Scout", longest=2) == [("Llama 4", "llama-4"), ("Scout", "scout")]
    assert found("GPT OSS 120B", longest=2) == []


def test_no_words_no_names():
    assert found("") == []
    assert found("... , ;") == []
    assert found("anything", {}) == []


def _every_run(text: str, names: dict[str, str], longest: int) -> list[tuple[int, int, str]]:
    """How names were found before the matcher: every run of words, longest runs first, joined and looked up."""
    found_words = words(text)
    stretch, n = [], 0
    for _, end, _ in found_words:
        stretch.append(n)
        n += text[end:end + 1] in ",;:"
    out, taken = [], set()
    for size in range(longest, 0, -1):
        for i in range(len(found_words) - size + 1):
            key = "".join(w[2] for w in found_words[i:i + size])
            if stretch[i] == stretch[i + size - 1] and key in names and taken.isdisjoint(range(i, i + size)):
                out.append((found_words[i][0], found_words[i + size - 1][1], names[key]))
                taken.update(range(i, i + size))
    return sorted(out)


def test_the_matcher_finds_what_every_run_of_words_finds(kb):
    rng = random.Random(20260314)
    pieces = ["GPT", "4o", "GPT-4o", "OSS", "120B", "gpt-oss", "Llama", "4", "Scout", "Maverick", "Qwen3.5", "397B",
              "A17B", "Kimi", "K2", "R1", "MMLU", "Pro", "GPQA", "Diamond", "the", "Meta's", "o3", "a", "b", "c"]
    glue = [" ", " ", "-", ", ", "; ", ". ", "’s ", " (", ") "]
    dictionaries = [(kb.name_index, 6), (kb.benchmark_index, 4), (SHORT_NAMES, 1), (NAMES, 3),
                    ({"ab": "AB", "abc": "ABC", "bc": "BC", "c": "C"}, 3)]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(glue) for _ in range(rng.randint(0, 10)))
        for names, longest in dictionaries:
            assert names_in(text, names, longest) == _every_run(text, names, longest), text


def test_the_knowledge_base_matchers_are_built_once(kb):
    indexed = kb_names(kb)
    assert kb_names(kb) is indexed
    assert matcher(kb.name_index, 6) is matcher(kb.name_index, 6)
    assert [m for _, _, m in indexed.names.find("OpenAI's GPT-4o and gpt-oss-120b")] == ["gpt-4o", "gpt-oss-120b"]
    assert [m for _, _, m in indexed.benchmarks.find("71.5% on MMLU-Pro and GPQA Diamond")] == [
        "mmlu-pro", "gpqa-diamond"]


def test_a_mapping_that_grows_gets_a_new_matcher():
    names = {"alpha": "a"}
    assert names_in("Alpha Beta", names, 2) == [(0, 5, "a")]
    names["alphabeta"] = "ab"  # as the KB does when a user file adds a model: names are only ever added
    assert names_in("Alpha Beta", names, 2) == [(0, 10, "ab")]
