"""Verdicts: each structured claim against the knowledge base, with the KB fact and its source as evidence.

Numbers are compared with a tolerance (mixture-of-experts sizes are rounded in names and prose: 116.8B is "120B";
2.2B for 22B is an error); dates at the precision the claim states.
"""

from __future__ import annotations

from tidings.check.kb import KnowledgeBase, Model
from tidings.check.words import licence_words, readable_date
from tidings.model import Claim, Evidence, Verdict

PARAM_TOLERANCE = 0.05  # relative


def verify(claim: Claim, kb: KnowledgeBase) -> Verdict:
    model = kb.models.get(claim.model)
    if model is None:
        return Verdict(claim, "unverified", ())
    if claim.attribute.startswith("score:"):
        return _score(claim, model, kb)
    check = {"openness": _openness, "params_total_b": _params, "params_active_b": _params,
             "released": _released, "licence": _licence, "developer": _developer,
             "context_tokens": _context}[claim.attribute]
    return check(claim, model)


SCORE_TOLERANCE = 0.6  # points: "about 62%" and 62.4 are the same figure


def _score(claim: Claim, model: Model, kb: KnowledgeBase) -> Verdict:
    """A benchmark figure the KB holds for this model is supported; one it does not is left for the other
    sources to corroborate or dispute (figures depend on settings the sentence may not state)."""
    benchmark = claim.attribute.split(":", 1)[1]
    held = [s for s in model.benchmarks if s.benchmark == benchmark]
    # A harness the claim names picks the KB figures run under it ("62% under OpenHands" is not the card's 62%).
    key = claim.setting.lower().replace(" harness", "")
    under = [s for s in held if key and key in s.setting.lower()]
    if under and key not in ("with tools", "without tools"):
        held = under
    for s in held:
        if abs(s.score - float(claim.value)) <= SCORE_TOLERANCE:
            setting = f" ({s.setting})" if s.setting else ""
            by = f", reported by {s.reported_by}" if s.reported_by else ""
            known = kb.benchmarks.get(benchmark)
            name = known.name if known else benchmark
            evidence = (Evidence(f"{model.name} scores {s.score:g} on {name}{setting}{by}", s.source),)
            # The right figure under the wrong setting is an error: 97.9 on AIME 2025 is with tools, not without.
            tools = {"with tools", "without tools"}
            stated, known = claim.setting, next((t for t in tools if t in s.setting.lower()), "")
            if stated in tools and known and stated != known:
                return Verdict(claim, "contradicted", evidence)
            return Verdict(claim, "supported", evidence)
    # The KB holds this model's figure on this benchmark and the claim gives another. A setting the KB does not
    # hold ("with the OpenHands harness" where it has only the vendor's own run) could explain it: unverified.
    settings = {s.setting.lower() for s in held}
    if held and (not claim.setting or any(claim.setting.lower() in k or k in claim.setting.lower()
                                          for k in settings if k)):
        known = kb.benchmarks.get(benchmark)
        name = known.name if known else benchmark
        facts = "; ".join(f"{s.score:g}" + (f" ({s.setting})" if s.setting else "") for s in held)
        return Verdict(claim, "contradicted", tuple(Evidence(f"{model.name} scores {facts} on {name}", s.source)
                                                    for s in held[:2]))
    return Verdict(claim, "unverified", ())


def _context(claim: Claim, model: Model) -> Verdict:
    if not model.context_tokens:
        return Verdict(claim, "unverified", ())
    fact = f"{model.name} has a context of {model.context_tokens:,} tokens"
    close = abs(float(claim.value) - model.context_tokens) <= PARAM_TOLERANCE * model.context_tokens
    return Verdict(claim, "supported" if close else "contradicted", _evidence(model, fact))


def _evidence(model: Model, fact: str) -> tuple[Evidence, ...]:
    sources = model.sources or ("",)
    return tuple(Evidence(fact, s) for s in sources[:2])


def _openness(claim: Claim, model: Model) -> Verdict:
    if not model.openness:
        return Verdict(claim, "unverified", ())
    known_open = model.openness in ("open-weight", "fully-open")
    fact = f"{model.name} is {model.openness}" + (f" ({model.licence})" if model.licence else "")
    agrees = known_open == (claim.value == "open")
    return Verdict(claim, "supported" if agrees else "contradicted", _evidence(model, fact))


def _params(claim: Claim, model: Model) -> Verdict:
    known = model.params_active_b if claim.attribute == "params_active_b" else model.params_total_b
    if known is None:
        return Verdict(claim, "unverified", ())
    kind = "active" if claim.attribute == "params_active_b" else "total"
    fact = f"{model.name} has {known:g}B {kind} parameters"
    close = abs(float(claim.value) - known) <= PARAM_TOLERANCE * known
    return Verdict(claim, "supported" if close else "contradicted", _evidence(model, fact))


def _released(claim: Claim, model: Model) -> Verdict:
    known_date = model.announced if claim.announced and model.announced else model.released
    if not known_date:
        return Verdict(claim, "unverified", ())
    stated = str(claim.value)

    def same(known: str) -> bool:
        # Compare at the precision both give: "August 2025" agrees with 2025-08-05, "2025" with any day of it.
        n = min(len(stated), len(known))
        return bool(known) and stated[:n] == known[:n]

    # "Unveiled" or "shown" may mean the announcement or the release; either date makes it true.
    agrees = same(known_date) or (claim.announced and same(model.released))
    what = "announced" if claim.announced and model.announced else "released"
    fact = f"{model.name} was {what} {'on' if len(known_date) == 10 else 'in'} {readable_date(known_date)}"
    return Verdict(claim, "supported" if agrees else "contradicted", _evidence(model, fact))


_FAMILIES = ("modified mit", "apache", "mit", "llama", "gemma", "nvidia", "mistral research", "proprietary")
_PERMISSIVE = ("apache", "mit", "modified mit")


def _family(licence: str) -> str:
    """The licence family a name belongs to: 'Apache 2.0 licence' and 'Apache-2.0 (+ usage policy)' agree."""
    text = licence.lower()
    for family in _FAMILIES:
        if family in text:
            return family
    return text.strip()


def _licence(claim: Claim, model: Model) -> Verdict:
    if not model.licence:
        return Verdict(claim, "unverified", ())
    fact = f"{model.name} is released under {licence_words(model.licence)}"
    stated, known = _family(str(claim.value)), _family(model.licence)
    if stated == "permissive":
        agrees = known in _PERMISSIVE
    elif stated == "non-commercial":
        agrees = "research" in model.licence.lower() or "non-commercial" in model.licence.lower()
    else:
        # "MIT" for a modified MIT licence is loose, not wrong.
        agrees = stated == known or {stated, known} == {"mit", "modified mit"}
    return Verdict(claim, "supported" if agrees else "contradicted", _evidence(model, fact))


# Other names organisations go by: the KB names a developer one way, writers another.
ORG_NAMES = {"allen institute for ai": "ai2", "allen institute": "ai2", "deepmind": "google deepmind",
             "google": "google deepmind", "alibaba cloud": "alibaba", "qwen team": "alibaba", "qwen": "alibaba",
             "z.ai": "zhipu ai", "zhipu": "zhipu ai", "moonshot": "moonshot ai", "mistral": "mistral ai",
             "meta ai": "meta", "facebook": "meta", "nvidia research": "nvidia", "microsoft research": "microsoft"}


def _org(name: str) -> str:
    text = name.lower().strip()
    return ORG_NAMES.get(text, text)


def _developer(claim: Claim, model: Model) -> Verdict:
    if not model.developer:
        return Verdict(claim, "unverified", ())
    stated, known = _org(str(claim.value)), model.developer.lower()
    base = known.split(" (")[0]
    inside = known[known.find("(") + 1:known.find(")")] if "(" in known else ""
    # "Zhipu AI (Z.ai)" is also Z.ai; "Google DeepMind" is also Google.
    agrees = stated in known or base in stated or bool(inside and _org(inside) in (stated, _org(stated)))
    agrees = agrees or any(_org(part) == base for part in (stated, str(claim.value).lower()))
    return Verdict(claim, "supported" if agrees else "contradicted",
                   _evidence(model, f"{model.name} is developed by {model.developer}"))
