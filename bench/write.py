"""Writing articles: quality measures and time, beside the writer tidings had before (measured in the same run).

    python bench/write.py [--sizes 100,1000,5000] [--baseline REV]

1. The demo: `tidings demo` into a temporary folder; the measures of every current article, then the time to
   write every story from scratch with each writer.
2. A larger corpus, when `../shared/eval-data/checkthat2019-train` is there: 19 real debate transcripts, each a
   story whose items are the speakers' turns (questions, first person, repetition: hard material for a writer).
3. Growth: one story of 100, 1,000 and 5,000 items (the demo's news items, varied so that no two sentences are
   the same), each writer's time.
4. The model writer (`--model-only` runs this alone): the demo with `[writer] backend = "openai"` against a
   scripted chat server on 127.0.0.1 (tests/chat_server.py) that answers with hand-written, faithful articles
   (tests/data/demo_articles.toml). Once as written: the share of faithful sentences published. Once with two
   faults planted in every reply (a changed figure or date, a citation of the wrong passage or of one that does not
   exist, an invented organisation, a contradicted claim stated as fact): the share of faults caught. Both with
   and without sentence embeddings, with the grounding check's time per sentence; beside them, the extractive
   writer's time per sentence in the same run.

The baseline writer is read from git (`--baseline`, default the last revision with the previous writer) and
loaded beside the current one; it is skipped where it would take minutes (its cost grows with the square).
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # bench/baseline.py, also when this file is loaded from elsewhere

from baseline import module_at  # noqa: E402

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
    module = module_at(rev, "tidings/write/extractive.py", "baseline_writer")
    return module.compose if module else None


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
    parser.add_argument("--model-only", action="store_true", help="only the model writer's measures (section 4)")
    args = parser.parse_args()
    if args.model_only:
        model_writer()
        return
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
    model_writer()



# --- 4. the model writer ---------------------------------------------------------------------------------------

ORGANISATIONS = ("Anthropic", "Google DeepMind", "Mistral AI", "the European Commission", "Siemens Energy")
FAULT_KINDS = ("changed figure", "changed date", "wrong passage", "no such source", "invented organisation",
               "contradicted claim")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
_MONTHS = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|"
           r"Mar|Apr|Aug|Sep|Sept|Oct|Nov|Dec)")
_MONTH_DAY = re.compile(rf"\b{_MONTHS}\.? (?P<day>\d{{1,2}})\b|\b(?P<day2>\d{{1,2}}) {_MONTHS}\b")


class Planter:
    """Plants faults into a faithful reply, two a reply, taking the kinds in turn (a kind that does not apply to
    a reply, say a date where no sentence has one, gives way to the next)."""

    def __init__(self, kb) -> None:
        self.kb = kb
        self.turn = 0
        self.planted: list[tuple[str, str, tuple[int, ...]]] = []  # (kind, sentence text, its citations)

    def __call__(self, reply: str, found: dict[int, str]) -> str:
        from tidings.write.reply import ReplyError, parse_reply

        try:
            sections = [[s.heading, list(s.sentences)] for s in parse_reply(reply)]
        except ReplyError:
            return reply
        faithful = [x for _, sentences in sections for x in sentences]
        added = 0
        for _ in range(len(FAULT_KINDS)):
            if added == 2 or not faithful:
                break
            kind = FAULT_KINDS[self.turn % len(FAULT_KINDS)]
            self.turn += 1
            fault = self.make(kind, faithful, found)
            if fault is None:
                continue
            text, cites = fault
            sections[-1][1].append(type(faithful[0])(text, tuple(cites)))
            self.planted.append((kind, text, tuple(sorted(set(cites)))))
            added += 1
        return "\n".join(f"## {heading}\n" + "\n".join(f"{x.text} " + "".join(f"[{n}]" for n in x.cites)
                                                        for x in sentences) for heading, sentences in sections)

    def make(self, kind: str, faithful, found: dict[int, str]) -> tuple[str, list[int]] | None:
        from tidings.check.mentions import find_mentions

        every = " ".join(found.values())
        for x in faithful:
            if kind == "changed figure":
                for m in _NUMBER.finditer(x.text):
                    value = float(m.group().replace(",", ""))
                    if 1900 <= value <= 2100:
                        continue  # a year: a date, not a figure
                    for factor in (3, 7, 11):
                        new = f"{value * factor + 1:g}"
                        if new not in every:
                            return x.text[:m.start()] + new + x.text[m.end():], list(x.cites)
            elif kind == "changed date":
                m = _MONTH_DAY.search(x.text)
                if m:
                    group = "day" if m.group("day") else "day2"
                    day = (int(m.group(group)) + 9) % 28 + 1
                    return x.text[:m.start(group)] + str(day) + x.text[m.end(group):], list(x.cites)
            elif kind == "wrong passage":
                words = set(re.findall(r"[a-z]{4,}", x.text.lower()))
                others = [n for n in found if n not in x.cites]
                def shared(n: int, words=words) -> int:
                    return len(words & set(re.findall(r"[a-z]{4,}", found[n].lower())))

                far = min(others, key=shared, default=None)
                # Only a passage that plainly says something else: a copy of the same report would support it.
                if far is not None and shared(far) <= 0.3 * len(words):
                    return x.text, [far]
            elif kind == "no such source":
                return x.text, [max(found) + 3]
            elif kind == "invented organisation":
                org = next((o for o in ORGANISATIONS if o.lower() not in every.lower()), None)
                if org and x.text.endswith("."):
                    return f"{x.text[:-1]}, according to {org}.", list(x.cites)
            elif kind == "contradicted claim":
                for n in x.cites:
                    for mention in find_mentions(found.get(n, ""), self.kb):
                        model = self.kb.models.get(mention.model) if hasattr(self.kb, "models") else None
                        if model is None or not getattr(model, "openness", ""):
                            continue
                        wrong = "a closed model" if model.openness.startswith("open") else "an open-weight model"
                        return f"{model.name} is {wrong}.", [n]
        return None


class Recorder:
    """Wraps the write stage's check for one demo run: what each draft wrote and lost, and the check's time."""

    def __init__(self) -> None:
        from tidings.write import revise as stage
        from tidings.write import support

        self.stage, self.support = stage, support
        self.drafts: list[list] = []  # [written, lost, fell back] per checked draft
        self.dropped: set[tuple[str, tuple[int, ...]]] = set()  # (sentence, its citations) the check took out
        self.fell_back: set[tuple[str, tuple[int, ...]]] = set()  # those of drafts the extractive writer replaced
        self.seconds, self.checks = 0.0, 0
        self.originals = (stage.checked_against, stage.too_little, support.SupportChecker.why_not)

    def __enter__(self) -> Recorder:
        check, short, why_not = self.originals
        recorder = self

        def checked(draft, found, checker, limit):
            revision, reasons = check(draft, found, checker, limit)
            recorder.drafts.append([len(draft.sentences()), len(reasons), False])
            kept = {(x.text, x.cites) for x in revision.sentences()}
            recorder.dropped.update((x.text, x.cites) for x in draft.sentences() if (x.text, x.cites) not in kept)
            return revision, reasons

        def too_little(draft, revision):
            why = short(draft, revision)
            if why:
                recorder.drafts[-1] = [recorder.drafts[-1][0]] * 2 + [True]
                recorder.fell_back.update((s.text, s.cites) for s in draft.sentences())
            return why

        def timed_why_not(self, sentence, cited):
            start = time.perf_counter()
            try:
                return why_not(self, sentence, cited)
            finally:
                recorder.seconds += time.perf_counter() - start
                recorder.checks += 1

        self.stage.checked_against, self.stage.too_little = checked, too_little
        self.support.SupportChecker.why_not = timed_why_not
        return self

    def __exit__(self, *exc) -> None:
        self.stage.checked_against, self.stage.too_little, self.support.SupportChecker.why_not = self.originals


def model_run(embeddings: bool, planter: Planter | None) -> tuple[Recorder, int]:
    """One demo run with the model writer against the scripted server; (what was recorded, requests made)."""
    from tests.chat_server import ChatServer, from_articles, passages
    from tidings import semantic

    faithful = from_articles()

    def respond(body: dict) -> str:
        reply = faithful(body)
        text = reply if isinstance(reply, str) else reply.content
        return planter(text, passages(body)) if planter else text

    available, logger = semantic.available, logging.getLogger("tidings")
    level = logger.level
    semantic.available = (lambda: True) if embeddings else (lambda: False)
    try:
        with Recorder() as recorder, ChatServer(respond) as server, tempfile.TemporaryDirectory() as folder:
            logger.setLevel(logging.ERROR)
            run_demo(folder, extra_config=f'[writer]\nbackend = "openai"\nbase_url = "{server.base_url}"\n'
                                          f'model = "scripted"\ntimeout = 30\n')
            return recorder, len(server.chat_requests())
    finally:
        semantic.available = available
        logger.setLevel(level)


def model_writer() -> None:
    """Section 4: faithful sentences kept, planted faults caught, and the grounding check's time per sentence."""
    from tidings import semantic
    from tidings.check.kb import load_kb

    kb = load_kb(())
    print("model writer: the demo against a scripted chat server (faithful hand-written articles, replayed)")
    for embeddings in ([False, True] if semantic.available() else [False]):
        for planter in (None, Planter(kb)):
            recorder, requests = model_run(embeddings, planter)
            label = f"  {'with' if embeddings else 'without'} embeddings, {'faults planted' if planter else 'faithful'}"
            written = sum(w for w, _, _ in recorder.drafts)
            lost = sum(d for _, d, _ in recorder.drafts)
            fallbacks = sum(f for *_, f in recorder.drafts)
            per = recorder.seconds / recorder.checks * 1000 if recorder.checks else 0.0
            if planter is None:
                kept = written - lost
                print(f"{label}: {requests} requests, faithful sentences kept {kept}/{written} "
                      f"({kept / written:.1%}; target >= 95%), {fallbacks} revisions fell back; "
                      f"check {per:.2f} ms a sentence")
                continue
            faults = planter.planted
            caught = [f for f in faults if f[1:] in recorder.dropped or f[1:] in recorder.fell_back]
            by_check = sum(f[1:] in recorder.dropped for f in faults)
            faithful_written = written - len(faults)
            faithful_lost = lost - len(caught)
            print(f"{label}: {requests} requests, faults caught {len(caught)}/{len(faults)} "
                  f"({len(caught) / len(faults):.1%}; target 100%; {by_check} by the check itself), faithful "
                  f"sentences kept {faithful_written - faithful_lost}/{faithful_written}, {fallbacks} revisions "
                  f"fell back; check {per:.2f} ms a sentence")
            missed = [f for f in faults if f not in caught]
            for kind in FAULT_KINDS:
                print(f"    {kind:<22} planted {sum(f[0] == kind for f in faults):>3}, "
                      f"missed {sum(f[0] == kind for f in missed)}")
            for kind, text, cites in missed:
                print(f"    missed ({kind}): {text} {list(cites)}")
    if not semantic.available():
        print("  (the semantic extra is not installed: the embedding check is not measured)")
    # The baseline beside it: the extractive writer's own time per sentence written, on the same demo.
    total, count = 0.0, 0
    for items, claims, _ in demo_stories():
        t, rev = timed(new_write, items, claims)
        total += t
        count += len(rev.sentences())
    print(f"  baseline: the extractive writer takes {total / count * 1000:.2f} ms a sentence it writes")


if __name__ == "__main__":
    main()
