"""`tidings check` on a 2,000-word article: time to fact-check it, beside the time to split it into sentences.

The article is made of the demo corpus' AI items (so it is dense with model names, figures and claims), cut to
2,000 words. The knowledge base is loaded once, as a long-running process would; its load time is printed too.

    python bench/check.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def main() -> None:
    text = article()
    start = time.perf_counter()
    kb = load_kb()
    load = time.perf_counter() - start
    check_text("warm-up: gpt-oss-120b is open-weight.", kb)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        report = check_text(text, kb)
        runs.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(5):
        sentences(text)
    floor = (time.perf_counter() - start) / 5
    best = min(runs)
    claims = sum(len(s["claims"]) for s in report["sentences"])
    print(f"article: {len(text.split())} words, {len(sentences(text))} sentences; "
          f"knowledge base loaded in {load:.2f} s")
    print(f"tidings check : {best * 1000:7.1f} ms (best of 5), {len(report['sentences'])} check-worthy sentences, "
          f"{claims} claims")
    print(f"sentence split: {floor * 1000:7.1f} ms (the floor); check takes {best / floor:.0f}x")


if __name__ == "__main__":
    main()
