"""The check stage: fact-check every new or changed item against the knowledge base and store the verdicts."""

from __future__ import annotations

from collections.abc import Callable

from tidings.check.claims import checkworthy_sentences
from tidings.check.kb import KnowledgeBase
from tidings.check.verify import verify
from tidings.store import Store


def check_items(store: Store, kb: KnowledgeBase, on_item: Callable[[], None] | None = None) -> dict[str, int]:
    """Claims and verdicts for each item not yet checked; one transaction per item."""
    counts = {"items": 0, "claims": 0, "contradicted": 0}
    for item in store.items_to_check():
        found = []
        for sentence in checkworthy_sentences(f"{item.title}.\n\n{item.text}", kb):
            for claim in sentence.claims:
                verdict = verify(claim, kb)
                found.append({"sentence": sentence.text, "model": claim.model, "attribute": claim.attribute,
                              "value": claim.value, "verdict": verdict.verdict,
                              "evidence": [{"fact": e.fact, "source": e.source} for e in verdict.evidence]})
        store.save_claims(item, found)
        counts["items"] += 1
        counts["claims"] += len(found)
        counts["contradicted"] += sum(c["verdict"] == "contradicted" for c in found)
        if on_item:
            on_item()
    return counts
