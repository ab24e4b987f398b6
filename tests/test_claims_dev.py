"""The claim reader on claims written the way people write them (tests/data/claims_dev.toml, 225 cases written
for tidings from public facts): paraphrases, dates with a day, descriptive names, pronouns, paired figures, number
formats, short names outside AI, reported speech, release verbs."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from tidings.check.claimset import ClaimSetError, contradicted, evaluate_claims, read_cases
from tidings.check.kb import load_kb
from tidings.cli import cli

DEV = Path(__file__).parent / "data" / "claims_dev.toml"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def result(kb):
    return evaluate_claims(read_cases(DEV), kb)


# Five sets, each written separately from public facts, none by the reader's author. Each set was first read as
# unseen claims; its first-reading figures (false claims contradicted; true and neutral ones contradicted) are the
# honest estimate for claims the reader has not seen, before the general fixes each set showed the need for:
#   claims_dev.toml      225 cases   66.3%, 7, 4   (the set the reader was built on)
#   claims_holdout.toml  188 cases   76.5%, 6, 2
#   claims_third.toml    159 cases   83.1%, 4, 0
#   claims_fourth.toml   156 cases   75.0%, 5, 0
#   claims_fifth.toml    138 cases   93.2%, 2, 0
#   claims_sixth.toml    119 cases   94.4%, 0, 0   (added as read: nothing was fixed after reading it)
SETS = ["claims_dev.toml", "claims_holdout.toml", "claims_third.toml", "claims_fourth.toml", "claims_fifth.toml",
        "claims_sixth.toml"]


@pytest.mark.parametrize("name", SETS)
def test_each_claims_set_meets_the_targets(kb, name):
    found = evaluate_claims(read_cases(DEV.with_name(name)), kb)
    assert found["cases"] >= 110
    assert found["false_contradicted_rate"] >= 0.9, found["missed"]
    assert found["true_contradicted"] == 0 and found["neutral_contradicted"] == 0, found["wrongly_contradicted"]


KINDS = ["date-day", "openness", "licence", "descriptive-name", "wrong-slot", "pronoun", "number-format",
         "short-name", "attributed", "release-verb", "plain"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_phrasing(result, kind):
    counts = result["kinds"][kind]
    assert counts.get("true_contradicted", 0) == 0 and counts.get("neutral_contradicted", 0) == 0
    if counts.get("false"):
        assert counts["false_contradicted"] / counts["false"] >= 0.5


# One plain example of each kind, so a failure names what broke.
@pytest.mark.parametrize("text", [
    "gpt-oss-120b came out on August 5, 2024.",
    "Google's Gemini 3 Pro can be downloaded and self-hosted by anyone.",
    "Kimi K2 isn't an open model.",
    "gpt-oss-120b is licensed MIT.",
    "OpenAI's smaller gpt-oss model has 12 billion parameters.",
    "Llama 4 Maverick runs 17B of its 40B parameters at a time.",
    "Meta released Llama 4 Maverick in April 2025. It has 40 billion parameters in total.",
    "DeepSeek-R1 is a half-a-trillion-parameter model.",
    "gpt-oss-120b rolled out in March 2024.",
])
def test_false_claims_are_contradicted(kb, text):
    assert contradicted(text, kb), text


@pytest.mark.parametrize("text", [
    "Against gpt-oss-120b, Nemotron 3 Super reports 60.47% versus 41.90% on SWE-bench Verified and 91.75 versus "
    "22.30 on RULER.",
    "The smallest Qwen3.5 members range from 0.8 billion to 9 billion parameters.",
    "While Gemini 3 Pro stays proprietary, Gemma 3 can be downloaded.",
    "GLM-4.6, which follows GLM-4.5, came out in September 2025.",
    "gpt-oss-120b scored 92.5 on AIME 2025 without tools and 97.9 with tools.",
    "The scout troop met in the hall, and the R1 visa office opened on Monday.",
    'A blogger wrote that Llama 4 Maverick "is closed in all but name", which Meta disputes.',
    "Nemotron 3 Super puts up numbers that rival closed models, NVIDIA says.",
])
def test_true_or_neutral_claims_are_not_contradicted(kb, text):
    assert not contradicted(text, kb), text


def test_eval_claims_command(tmp_path):
    result = CliRunner().invoke(cli, ["eval", "claims", str(DEV)])
    assert result.exit_code == 0 and "false claims contradicted:" in result.output
    (tmp_path / "bad.toml").write_text('[[claims]]\ntext = "x"\nexpect = "maybe"\n')
    bad = CliRunner().invoke(cli, ["eval", "claims", str(tmp_path / "bad.toml")])
    assert bad.exit_code == 1 and "claims[1]" in bad.output
    with pytest.raises(ClaimSetError):
        read_cases(tmp_path / "missing.toml")
