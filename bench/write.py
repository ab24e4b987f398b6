"""Writing articles: quality measures and time, beside the writer tidings had before (measured in the same run).

    python bench/write.py [--sizes 100,1000,5000] [--baseline REV]

1. The demo: `tidings demo` into a temporary folder; the measures of every current article, then the time to
   write every story from scratch with each writer.
2. A larger corpus, when `../shared/eval-data/checkthat2019-train` is there: 19 real debate transcripts, each a
   story whose items are the speakers' turns (questions, first person, repetition: hard material for a writer).
3. Growth: one story of 100, 1,000 and 5,000 items (the demo's news items, varied so that no two sentences are
   the same), each writer's time.

The baseline writer is read from git (`--baseline`, default the last revision with the previous writer) and
loaded beside the current one; it is skipped where it would take minutes (its cost grows with the square).
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
import types
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tidings.demo import run_demo  # noqa: E402
from tidings.model import Item  # noqa: E402
from tidings.store import Store  # noqa: E402
from tidings.write import Brief  # noqa: E402
from tidings.write.extractive import compose  # noqa: E402
from tidings.write.measures import measure  # noqa: E402

DEBATES = ROOT.parent / "shared" / "eval-data" / "checkthat2019-train"
BASELINE = "6b73fd0"  # the last revision with the writer this one replaced
BASELINE_MAX_ITEMS = 5000  # the old writer's cost grows with the square: beyond this it takes minutes
NOW = datetime(2026, 3, 16, 23, 0, tzinfo=UTC)


def load_baseline(rev: str):
    """The old writer's `compose`, loaded from git beside the current code, or None."""
    try:
        source = subprocess.run(["git", "show", f"{rev}:tidings/write/extractive.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("baseline_writer")
    sys.modules[module.__name__] = module  # dataclasses look their module up while the class is made
    exec(compile(source, f"{rev}:tidings/write/extractive.py", "exec"), module.__dict__)
    return module.compose


def old_write(baseline, items, claims):
    # The previous writer read claims as rows of the claims table.
    rows = [{"item_id": c.item_id, "sentence": c.sentence, "model": c.model, "attribute": c.attribute,
             "value": str(c.value), "verdict": c.verdict,
             "evidence": [{"fact": e.fact, "source": e.source} for e in c.evidence]} for c in claims]
    return baseline(1, items, None, NOW, 12, rows)


def new_write(items, claims, names=None):
    return compose(Brief(1, items, None, claims, NOW, 12, names or {}))


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def report(label: str, rows: list[dict]) -> None:
    if not rows:
        return
    n = len(rows)
    small = [r for r in rows if r["publishers"] <= 8]
    print(f"{label}: {n} articles, {sum(r['sentences'] for r in rows)} sentences")
    print(f"  attribution (verbatim in a cited item) : {statistics.mean(r['attributed'] for r in rows):.1%}")
    print(f"  figures stated in > 2 sentences        : {sum(r['repeated_figures'] for r in rows)}")
    print(f"  sentence pairs sharing >= 50% words    : {sum(r['overlapping_pairs'] for r in rows)}")
    print(f"  sentences that do not stand alone      : {sum(r['not_standalone'] for r in rows)}")
    print(f"  relative days without a date           : {sum(r['undated_relative_days'] for r in rows)}")
    if small:
        print(f"  publishers cited (stories of <= 8)     : "
              f"{statistics.mean(r['publisher_coverage'] for r in small):.1%} over {len(small)} stories")


def demo_stories() -> list[tuple[list[Item], list[dict], object]]:
    folder = Path(tempfile.mkdtemp(prefix="tidings-bench-write-"))
    logging.disable(logging.CRITICAL)
    run_demo(folder)
    logging.disable(logging.NOTSET)
    store = Store(str(folder / "tidings.db"))
    out = []
    for story in store.stories():
        items = store.story_items(story.id)
        out.append((items, store.claims([i.id for i in items]), store.latest_revision(story.id)))
    store.close()
    return out


def debate_stories() -> list[list[Item]]:
    """Each debate a story; each speaker's turn (consecutive lines) an item, published on the debate's day."""
    stories = []
    next_id = 1
    for path in sorted(DEBATES.glob("*.tsv")):
        try:
            day = datetime.strptime(path.name[:8], "%Y%m%d").replace(hour=12, tzinfo=UTC)
        except ValueError:  # one file is named year-day-month
            day = datetime.strptime(path.name[:8], "%Y%d%m").replace(hour=12, tzinfo=UTC)
        turns: list[tuple[str, list[str]]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) < 4:
                continue
            speaker, text = parts[1], parts[2]
            if turns and turns[-1][0] == speaker:
                turns[-1][1].append(text)
            else:
                turns.append((speaker, [text]))
        items = []
        for n, (speaker, lines) in enumerate(turns):
            text = " ".join(lines)
            items.append(Item(id=next_id, url=f"https://debates.example/{path.stem}#{n}", title=lines[0][:90],
                              text=text, publisher=speaker.title(), published=day, content_hash=str(next_id),
                              publishers=(speaker.title(),), credibility=0.6))
            next_id += 1
        stories.append(items)
    return stories


def varied(items: list[Item], n: int) -> list[Item]:
    """`n` items made from `items`: each copy's figures and one word changed, so no two sentences are the same."""
    out = []
    for k in range(n):
        base = items[k % len(items)]
        copy = k // len(items)

        def vary(text: str, copy: int = copy) -> str:
            text = re.sub(r"\d+(\.\d+)?", lambda m: f"{float(m.group()) + copy:g}", text)
            return re.sub(r"\b(the)\b", f"the r{copy}", text, count=1)

        out.append(Item(id=k + 1, url=f"{base.url}?copy={copy}", title=vary(base.title), text=vary(base.text),
                        publisher=f"{base.publisher} {copy % 40}", published=base.published,
                        content_hash=str(k), publishers=(f"{base.publisher} {copy % 40}",),
                        credibility=base.credibility))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    baseline = load_baseline(args.baseline)
    if baseline is None:
        print(f"baseline writer ({args.baseline}) not found in git: only the current writer is timed")

    stories = demo_stories()
    report("demo, current articles (as `make demo` wrote them)", [measure(rev, items) for items, _, rev in stories])
    new_rows, old_rows, new_t, old_t = [], [], 0.0, 0.0
    for items, claims, _ in stories:
        t, rev = timed(new_write, items, claims)
        new_t += t
        new_rows.append(measure(rev, items))
        if baseline:
            t, rev = timed(old_write, baseline, items, claims)
            old_t += t
            old_rows.append(measure(rev, items))
    report("demo, written from scratch by the current writer", new_rows)
    report("demo, written from scratch by the baseline writer", old_rows)
    print(f"  time, all {len(stories)} stories: current {new_t * 1000:.0f} ms "
          f"({new_t / len(stories) * 1000:.1f} ms a story)"
          + (f", baseline {old_t * 1000:.0f} ms ({old_t / len(stories) * 1000:.1f} ms a story)" if baseline else ""))

    debates = debate_stories() if DEBATES.exists() else []
    if debates:
        new_rows, old_rows, new_t, old_t = [], [], 0.0, 0.0
        for items in debates:
            t, rev = timed(new_write, items, [])
            new_t += t
            new_rows.append(measure(rev, items))
            if baseline and len(items) <= BASELINE_MAX_ITEMS:
                t, rev = timed(old_write, baseline, items, [])
                old_t += t
                old_rows.append(measure(rev, items))
        report(f"debates ({sum(len(d) for d in debates)} turns in {len(debates)} debates), current writer",
               new_rows)
        report(f"debates of <= {BASELINE_MAX_ITEMS} turns, baseline writer", old_rows)
        also = f"; baseline {old_t:.2f} s for those of <= {BASELINE_MAX_ITEMS} turns" if baseline else ""
        print(f"  time: current {new_t:.2f} s for all debates{also}")
    else:
        print(f"(no {DEBATES}: the debate corpus is skipped)")

    # News items, not debate turns: a news article is long, and long items are what made writing slow.
    pool = [i for items, _, _ in stories for i in items]
    print("growth: one story of n items")
    previous = None
    for n in (int(x) for x in args.sizes.split(",")):
        items = varied(pool, n) if n > len(pool) else pool[:n]
        t, _ = timed(new_write, items, [])
        line = f"  {n:>6} items: current {t:7.2f} s"
        if previous:
            pn, pt = previous
            growth = (n * math.log(n)) / (pn * math.log(pn))
            line += f" ({t / pt:5.1f}x for {n / pn:g}x items; n log n predicts {growth:.1f}x)"
        if baseline and n <= BASELINE_MAX_ITEMS:
            tb, _ = timed(old_write, baseline, items, [])
            line += f"   baseline {tb:7.2f} s"
        elif baseline:
            line += "   baseline skipped (its cost grows with the square: minutes)"
        print(line)
        previous = (n, t)


if __name__ == "__main__":
    main()
