"""Claims in words, for readers: display names instead of KB ids, figures without trailing zeros."""

from __future__ import annotations

import re
from collections.abc import Mapping

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def claim_words(claim, names: Mapping[str, str] | None = None) -> str:
    """A structured claim as words: "gpt-oss-120b is closed", "Nemotron 3 Super scores 60.47 on SWE-bench Verified".
    `claim` is anything with a model, an attribute and a value (a Claim, a checked claim, a fact check, a
    mapping); `names` maps KB ids of models and benchmarks to their display names."""
    names = names or {}
    get = claim.get if isinstance(claim, Mapping) else lambda key: getattr(claim, key)
    model, attribute, value = get("model"), get("attribute"), get("value")
    value = value_text(value)
    model = names.get(model, model)
    if attribute.startswith("score:"):
        bench = attribute.split(":", 1)[1]
        return f"{model} scores {value} on {names.get(bench, bench)}"
    try:
        number = f"{float(value):g}"
    except ValueError:
        number = value
    phrases = {"openness": f"{model} is {value}", "developer": f"{model} is developed by {value}",
               "licence": f"{model} is released under {licence_words(value)}",
               "params_total_b": f"{model} has {number}B parameters in total",
               "params_active_b": f"{model} has {number}B active parameters",
               "released": f"{model} was released in {readable_date(value)}",
               "context_tokens": f"{model} has a context of {_tokens(number)} tokens"}
    return phrases.get(attribute, f"{model} {attribute} {value}")


# A licence claim's value is the family its words name ("nvidia" for "the NVIDIA Open Model Licence"); said
# back to a reader, it is the licence again.
_LICENCES = {"apache": "an Apache licence", "mit": "the MIT licence", "modified mit": "a modified MIT licence",
             "llama": "a Llama community licence", "community": "a community licence", "gemma": "the Gemma terms",
             "nvidia": "the NVIDIA Open Model Licence", "mistral research": "the Mistral Research Licence",
             "proprietary": "a proprietary licence", "permissive": "a permissive licence",
             "non-commercial": "a non-commercial or research-only licence"}


def licence_words(value: str) -> str:
    """A licence as the object of "released under": a claim's family ("nvidia") or the knowledge base's name
    ("Llama 3.1 Community Licence" takes "the"; "Apache-2.0" and "MIT" stand alone)."""
    text = str(value).strip()
    known = _LICENCES.get(text.lower())
    if known:
        return known
    if text[:1].isupper() and re.search(r"(?:licen[cs]e|terms of use|terms)(?:\s*\([^()]*\))?$", text, re.I):
        return f"the {text}"
    return text


def value_text(value: str | float) -> str:
    """A claim's value as a reader writes it: 62.0 is "62", text stays text."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def readable_date(value: str) -> str:
    """'2025-08' -> 'Aug 2025'; '2025-08-05' -> 'Aug 5, 2025'; a year stays a year."""
    parts = value.split("-")
    try:
        if len(parts) == 2:
            return f"{_MONTHS[int(parts[1]) - 1]} {parts[0]}"
        if len(parts) == 3:
            return f"{_MONTHS[int(parts[1]) - 1]} {int(parts[2])}, {parts[0]}"
    except (ValueError, IndexError):
        pass
    return value


def _tokens(number: str) -> str:
    try:
        return f"{int(float(number)):,}"
    except ValueError:
        return number
