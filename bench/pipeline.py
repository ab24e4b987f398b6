"""The whole pipeline over the demo corpus replicated to ~10,000 items, beside feedparser alone on the same files.

Each replica of the corpus gets its own URLs and titles (so nothing folds into another replica's items), and keeps
the corpus' real features: day snapshots that repeat earlier entries, syndicated copies, a truncated entry with its
page, broken sources. The floor is the time feedparser alone takes to parse the same feed files; the ratio says
how much the rest of the pipeline (extraction, dedupe, storage, clustering, writing, publishing) costs on top.

    python bench/pipeline.py [--items 10000] [--processes 0]

`--processes` is the `[settings] processes` of the run: 0 (the default) one worker process per processor for the
stages that use them (many local files to read, many items to fact-check), 1 none. The run's peak memory is
printed with, when it started worker processes, the largest sum of its own and theirs (sampled every 0.2 s).

Each side runs in a fresh process so its peak memory is its own. Replicas are copies by construction, which
near-duplicate folding would rightly fold into one another, so the run sets `near_duplicate_threshold = 1`:
signatures are still computed, the LSH lookup is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tidings.demo import corpus_dir, demo_days  # noqa: E402


def replicate(out: Path, items: int) -> tuple[list[Path], int]:
    """Write enough replicas of the corpus for `items` distinct items; return the source files."""
    per_replica = _items_per_replica()
    replicas = max(1, -(-items // per_replica))
    sources = []
    for r in range(replicas):
        for day in demo_days():
            target = out / f"r{r:04d}" / day.name
            # A teaser's page first, as the demo lists it: its article is then known when the teaser is read.
            for path in sorted(day.rglob("*"), key=lambda p: p.parent == day):
                if path.is_dir():
                    continue
                dest = target / path.relative_to(day)
                dest.parent.mkdir(parents=True, exist_ok=True)
                text = path.read_text(encoding="utf-8")
                text = text.replace(".example/", f".example/r{r}/")
                text = re.sub(r"(<title[^>]*>)", rf"\g<1>R{r} ", text)
                text = re.sub(r'("title":\s*")', rf"\g<1>R{r} ", text)
                text = re.sub(r'(og:title" content=")', rf"\g<1>R{r} ", text)
                dest.write_text(text, encoding="utf-8")
                if path.parent == day or path.parent == day / "pages":  # pages are sources, as in the demo
                    sources.append(dest)
    return sources, replicas * per_replica


def _items_per_replica() -> int:
    links = set()
    for manifest in (corpus_dir() / "manifest").glob("*.json"):
        for storyline in json.loads(manifest.read_text())["storylines"]:
            links.update(storyline["items"])
    return len(links)


def run_pipeline(files: list[str], workdir: str, processes: int = 0) -> dict:
    from tidings.config import parse_config
    from tidings.pipeline import run

    digests = [json.loads(p.read_text())["digest"] for p in sorted((corpus_dir() / "manifest").glob("*.json"))]
    config = parse_config({"db": f"{workdir}/bench.db", "site_dir": f"{workdir}/site", "digests": digests,
                           "settings": {"near_duplicate_threshold": 1.0, "processes": processes},
                           "sources": [{"url": f, "name": Path(f).stem,
                                        "digests": ["climate" if _is_climate(f) else "ai"]} for f in files]},
                          Path(workdir) / "tidings.toml")
    start = time.perf_counter()
    stats = run(config)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "items": stats.items_new, "stories": stats.stories_new,
            "revisions": stats.revisions, "sources": stats.sources, "stages": stats.seconds}


def _is_climate(path: str) -> bool:
    climate = (corpus_dir() / "manifest" / "climate.sources.toml").read_text()
    return Path(path).name in climate


def run_feedparser(files: list[str]) -> dict:
    import feedparser

    start = time.perf_counter()
    entries = 0
    for f in files:
        if f.endswith((".html", ".json")):
            continue  # feedparser reads neither pages nor JSON Feed; the floor counts what it can parse
        entries += len(feedparser.parse(Path(f).read_bytes()).entries)
    return {"seconds": time.perf_counter() - start, "entries": entries}


class TreeMemory:
    """The largest resident memory of this process and all its descendants together (worker processes are the
    children of a fork server, not of this process, so the kernel's own counters miss them), sampled."""

    def __init__(self, every: float = 0.2) -> None:
        self.every, self.peak_mb, self.workers = every, 0.0, 0  # workers: the most processes started, at once
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        me = os.getpid()
        while not self._stop.wait(self.every):
            parents, rss = {}, {}
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    status = (entry / "status").read_text()
                except OSError:
                    continue
                fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
                parents[int(entry.name)] = int(fields.get("PPid", "0"))
                rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
            tree = {pid for pid in parents if _descends(pid, me, parents)}
            self.workers = max(self.workers, len(tree) - 1)
            self.peak_mb = max(self.peak_mb, sum(rss[pid] for pid in tree))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _descends(pid: int, ancestor: int, parents: dict[int, int]) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        pid = parents.get(pid, 0)
    return False


def child(kind: str, files_json: str, workdir: str, processes: str) -> None:
    files = json.loads(Path(files_json).read_text())
    memory = TreeMemory()
    result = run_pipeline(files, workdir, int(processes)) if kind == "pipeline" else run_feedparser(files)
    memory.stop()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["tree_rss_mb"], result["helpers"] = memory.peak_mb, memory.workers
    print(json.dumps(result))


def measure(kind: str, files_json: Path, workdir: Path, processes: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(files_json), str(workdir), str(processes)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=0, help="worker processes (0: one per processor, 1: none)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    work = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    try:
        files, expected = replicate(work / "corpus", args.items)
        files_json = work / "files.json"
        files_json.write_text(json.dumps([str(f) for f in files]))
        floor = measure("feedparser", files_json, work)
        pipe = measure("pipeline", files_json, work, args.processes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"corpus: {len(files)} source files, {expected} distinct items expected")
    print(f"feedparser alone : {floor['seconds']:7.2f} s  {floor['entries']} entries parsed "
          f"({floor['entries'] / floor['seconds']:,.0f} entries/s)  peak RSS {floor['peak_rss_mb']:.0f} MB")
    print(f"tidings pipeline : {pipe['seconds']:7.2f} s  {pipe['items']} items stored "
          f"({pipe['items'] / pipe['seconds']:,.0f} items/s), {pipe['stories']} stories, {pipe['revisions']} "
          f"revisions  peak RSS {pipe['peak_rss_mb']:.0f} MB"
          + (f" ({pipe['tree_rss_mb']:.0f} MB at most with the {pipe['helpers']} processes it started, sampled)"
             if pipe["helpers"] else ""))
    print("stages           : " + ", ".join(f"{k} {v:.2f} s" for k, v in pipe["stages"].items()))
    print(f"ratio            : {pipe['seconds'] / floor['seconds']:.2f}x the feedparser floor")


if __name__ == "__main__":
    main()
