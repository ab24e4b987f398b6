"""`tidings check` on a 2,000-word article: time to fact-check it, beside the time to split it into sentences.

The article is made of the demo corpus' AI items (so it is dense with model names, figures and claims), cut to
2,000 words. The knowledge base is loaded once, as a long-running process would; its load time is printed too.
The check is timed twice: with the check-worthiness ranker on word-piece embeddings (the semantic extra; skipped
when it is not installed) and with the lexical ranker (`TIDINGS_CHECKWORTHY=lexical`), the one used without it.
Each ranker's one-off load happens in a warm-up run and is printed apart.

    python bench/check.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tidings import semantic  # noqa: E402
from tidings.check import checkworthy  # noqa: E402
from tidings.check.kb import load_kb  # noqa: E402
from tidings.check.report import check_text  # noqa: E402
from tidings.config import Settings  # noqa: E402
from tidings.demo import demo_days  # noqa: E402
from tidings.ingest import read_source  # noqa: E402
from tidings.model import Source  # noqa: E402
from tidings.text import sentences  # noqa: E402


def article(words: int = 2000) -> str:
    paragraphs, count, seen = [], 0, set()
    ai_sources = (ROOT / "tidings" / "data" / "demo" / "manifest" / "ai.sources.toml").read_text()
    for path in sorted(demo_days()[-1].iterdir()):
        if path.is_dir() or path.name not in ai_sources:
            continue
        for entry in read_source(Source(url=str(path), id=1), Settings(fetch_full_text=False)).entries:
            for paragraph in entry.text.split("\n\n"):
                if paragraph in seen:
                    continue
                seen.add(paragraph)
                paragraphs.append(paragraph)
                count += len(paragraph.split())
                if count >= words:
                    return "\n\n".join(paragraphs)
    return "\n\n".join(paragraphs)


def split_floor(text: str, runs: int = 5) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        sentences(text)
    return (time.perf_counter() - start) / runs


def timed_check(text: str, kb, features: str) -> None:
    previous = os.environ.get(checkworthy.FEATURES_VARIABLE)
    os.environ[checkworthy.FEATURES_VARIABLE] = features
    try:
        start = time.perf_counter()
        check_text("warm-up: gpt-oss-120b is open-weight.", kb)
        warm_up = time.perf_counter() - start
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            report = check_text(text, kb)
            runs.append(time.perf_counter() - start)
        ranker = []
        for _ in range(5):
            start = time.perf_counter()
            for sentence in sentences(text):
                checkworthy.learned_probability(sentence)
            ranker.append(time.perf_counter() - start)
    finally:
        if previous is None:
            del os.environ[checkworthy.FEATURES_VARIABLE]
        else:
            os.environ[checkworthy.FEATURES_VARIABLE] = previous
    floor = split_floor(text)
    best = min(runs)
    claims = sum(len(s["claims"]) for s in report["sentences"])
    print(f"tidings check, {features:<8} ranker: {best * 1000:7.1f} ms (best of 5), "
          f"{len(report['sentences'])} check-worthy sentences, {claims} claims; first call {warm_up * 1000:.0f} ms")
    print(f"  sentence split (the floor): {floor * 1000:7.1f} ms; check takes {best / floor:.0f}x; "
          f"the ranker's share (split + learned_probability of every sentence): {min(ranker) * 1000:.1f} ms")


def main() -> None:
    text = article()
    start = time.perf_counter()
    kb = load_kb()
    load = time.perf_counter() - start
    print(f"article: {len(text.split())} words, {len(sentences(text))} sentences; "
          f"knowledge base loaded in {load:.2f} s")
    if semantic.available():
        timed_check(text, kb, "semantic")
    else:
        print(f"tidings check, semantic ranker: skipped, the semantic extra is not installed ({semantic.INSTALL_HINT})")
    timed_check(text, kb, "lexical")


if __name__ == "__main__":
    main()
