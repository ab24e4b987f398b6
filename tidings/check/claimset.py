"""Measuring the checker on a set of claims written as people write them (`tidings eval claims FILE.toml`).

Each case is a sentence (or two, the second referring back) with what a reader should get: "false" — a wrong
claim the knowledge base can settle, which must be contradicted; "true" — a right one, which must not be;
"neutral" — no claim of the writer's own (a scout troop, a quoted opinion), which must not be contradicted
either. A case counts as contradicted when the checker contradicts a claim the writer makes, not one the
writer reports someone else making.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tidings.check.kb import KnowledgeBase
from tidings.check.report import check_text
from tidings.config import read_toml
from tidings.errors import TidingsError

EXPECTATIONS = ("true", "false", "neutral")


class ClaimSetError(TidingsError):
    """A claims file that cannot be used; the message names the file and the case."""


@dataclass(frozen=True)
class Case:
    text: str
    expect: str
    kind: str = ""
    model: str = ""
    attribute: str = ""


def read_cases(path: str | Path) -> list[Case]:
    path = Path(path)
    _, data = read_toml(path, ClaimSetError, "no such claims file")
    cases = []
    for n, raw in enumerate(data.get("claims", []), 1):
        if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or raw.get("expect") not in EXPECTATIONS:
            raise ClaimSetError(f"{path}: claims[{n}] needs a 'text' and an 'expect' of {', '.join(EXPECTATIONS)}")
        cases.append(Case(raw["text"], raw["expect"], str(raw.get("kind", "")), str(raw.get("model", "")),
                          str(raw.get("attribute", ""))))
    if not cases:
        raise ClaimSetError(f"{path}: no [[claims]] tables")
    return cases


def contradicted(text: str, kb: KnowledgeBase) -> list[dict]:
    """The writer's own claims in `text` that the checker contradicts."""
    report = check_text(text, kb)
    return [c for s in report["sentences"] for c in s["claims"]
            if c["verdict"] == "contradicted" and not c.get("attributed_to")]


def evaluate_claims(cases: list[Case], kb: KnowledgeBase) -> dict:
    """How many false claims are contradicted, and how many true or neutral ones are, overall and per kind."""
    outcome = []
    for case in cases:
        hit = bool(contradicted(case.text, kb))
        outcome.append((case, hit))
    false = [(c, hit) for c, hit in outcome if c.expect == "false"]
    wrong = [c for c, hit in outcome if c.expect != "false" and hit]
    kinds: dict[str, Counter] = {}
    for case, hit in outcome:
        k = kinds.setdefault(case.kind or "-", Counter())
        k[case.expect] += 1
        k[f"{case.expect}_contradicted"] += hit
    return {
        "cases": len(cases),
        "false": len(false),
        "false_contradicted": sum(hit for _, hit in false),
        "false_contradicted_rate": sum(hit for _, hit in false) / len(false) if false else 1.0,
        "true_contradicted": sum(1 for c in wrong if c.expect == "true"),
        "neutral_contradicted": sum(1 for c in wrong if c.expect == "neutral"),
        "missed": [c.text for c, hit in false if not hit],
        "wrongly_contradicted": [c.text for c in wrong],
        "kinds": {k: dict(v) for k, v in sorted(kinds.items())},
    }
