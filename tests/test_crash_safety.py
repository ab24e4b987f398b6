"""A run killed with SIGKILL at any moment leaves a consistent store, and the next run finishes the work.

The corpus is the bundled demo, read in place: every day's snapshot of every demo source is a local-file source of
its own (47 sources, 88 items, 10 stories), and every run has the same fixed `now`, so an uninterrupted run into a
fresh store is the reference. A real subprocess (tests/crash_driver.py) runs the pipeline and prints each stage as
it starts; the test kills it with SIGKILL a random time into a stage chosen so that every stage gets kills, checks
the store after each kill (SQLite integrity, foreign keys, no orphan or duplicate rows, the store opens), lets
several kills hit the same store, then runs once more to the end and compares the whole state with the reference:
items and their sources and keys, stories and their members, revisions, claims and verdicts, term counts, and the
published site. Ids are left out of the comparison (they are compared through what they point at).
A second test kills the run at exact points on commit boundaries (tests/crash_driver.py's CRASH_AT), one per case.

CRASH_SEED=N repeats a random schedule (the seed is printed, and named in every failure).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tidings.demo import corpus_dir, demo_days
from tidings.store import Store
from tidings.store.migrations import MIGRATIONS

DRIVER = Path(__file__).with_name("crash_driver.py")
NOW = "2026-03-16T23:00:00+00:00"  # the end of the corpus's last day
STAGES = ("fetch", "cluster", "check", "write", "publish")
MOMENTS = ("startup", *STAGES)  # startup: opening (and on the first run creating) the store, syncing the config
KILLS_PER_MOMENT = 10  # 60 kills in all
KILLS_PER_STORE = 5  # kills that hit one store before the run that is let finish
MIN_KILLS_PER_STAGE = 5
EXTRA_STORES = 10  # at most, for stages that got too few kills
PROCESS_TIMEOUT = 60.0


# --- the corpus and the subprocess -------------------------------------------------------------------------------

def toml_value(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # strings (JSON's escapes are TOML's), ints, floats


def write_config(folder: Path) -> Path:
    """A tidings.toml in `folder` with the demo's digests, and every day's file of every demo source as a source
    of its own, read where the package keeps it (day by day, each day in the demo config's order)."""
    demo = tomllib.loads((corpus_dir() / "tidings.toml").read_text(encoding="utf-8"))
    sources = []
    for day in demo_days():
        for source in demo["sources"]:
            path = day / source["url"].removeprefix("feeds/")
            if path.is_file():
                sources.append({**source, "url": str(path)})
    # No full-text fetching: a teaser's page is on the web, and these runs must not touch the network.
    settings = {**demo.get("settings", {}), "fetch_full_text": False}
    lines = ['db = "tidings.db"', 'site_dir = "site"', "", "[settings]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in settings.items()]
    for table, rows in (("digests", demo["digests"]), ("sources", sources)):
        for row in rows:
            lines += ["", f"[[{table}]]"] + [f"{k} = {toml_value(v)}" for k, v in row.items()]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tidings.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Outcome:
    lines: list[tuple[float, str]]  # (seconds since the process started, line it printed)
    returncode: int
    killed_at: float | None = None  # seconds since the process started, when the test killed it

    @property
    def finished(self) -> bool:
        return any(line == "finished" for _, line in self.lines)

    @property
    def stage(self) -> str:
        """The stage that had last started when the process died ("startup" before the first)."""
        started = [line.split()[1] for _, line in self.lines if line.startswith("stage ")]
        return started[-1] if started else "startup"

    @property
    def between_stages(self) -> bool:
        return bool(self.lines) and self.lines[-1][1].startswith("end ")

    def at(self, line: str) -> float:
        return next(t for t, text in self.lines if text.split()[:len(line.split())] == line.split())


def launch(config: Path, crash_at: str | None, log) -> subprocess.Popen:
    args = [sys.executable, str(DRIVER), str(config), NOW, *([crash_at] if crash_at else [])]
    env = {**os.environ, "TIDINGS_CHECKWORTHY": "lexical"}
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=config.parent)


def drive(config: Path, trigger: str | None = None, delay: float = 0.0, crash_at: str | None = None) -> Outcome:
    """Run the driver on `config`. With `trigger` (a line the driver prints, e.g. "stage write"), kill it with
    SIGKILL `delay` seconds after it printed that line; without, let it run to its end."""
    with open(config.parent / "driver.log", "ab") as log:
        proc = launch(config, crash_at, log)
        watchdog = threading.Timer(PROCESS_TIMEOUT, proc.kill)
        watchdog.start()
        try:
            start, lines, killed_at = time.perf_counter(), [], None
            assert proc.stdout is not None
            while line := proc.stdout.readline():
                lines.append((time.perf_counter() - start, line.strip()))
                if trigger and line.split()[:len(trigger.split())] == trigger.split():
                    time.sleep(delay)
                    killed_at = time.perf_counter() - start
                    proc.send_signal(signal.SIGKILL)
                    break
            for line in proc.stdout:  # what it printed before it died
                lines.append((time.perf_counter() - start, line.strip()))
            proc.wait()
        finally:
            watchdog.cancel()
            proc.stdout.close()
    return Outcome(lines, proc.returncode, killed_at)


def stderr_tail(folder: Path) -> str:
    path = folder / "driver.log"
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


# --- the state ---------------------------------------------------------------------------------------------------

def snapshot(db: Path) -> dict[str, list]:
    """Everything the store holds that a run decides, with ids replaced by what they stand for (an item by its
    content hash, a source by its URL, a story by its digest and the content hashes of its items). Every time kept
    is the run's fixed `now` or a feed's date. Left out: the migrations' wall-clock stamps, and a source's polling
    state (when it is due next has random jitter, and its count of failed reads grows with every run that reads
    it, killed or not); what its last read found is kept; and the record of what each site folder shows, which
    names the folder (the sites themselves are compared file by file)."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        rows = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        item = {r["id"]: r["content_hash"] for r in rows("SELECT id, content_hash FROM items")}
        source = {r["id"]: r["url"] for r in rows("SELECT id, url FROM sources")}
        members: dict[int, list[str]] = defaultdict(list)
        for r in rows("SELECT story_id, item_id FROM story_items"):
            members[r["story_id"]].append(item.get(r["item_id"], f"missing item {r['item_id']}"))
        stories = {r["id"]: r for r in rows("SELECT * FROM stories")}

        def story(story_id, depth: int = 0):
            r = stories.get(story_id)
            if r is None or depth > len(stories):
                return ("missing story", story_id)
            if r["status"] == "merged":
                return ("merged", r["digest"], r["title"], story(r["merged_into"], depth + 1))
            return (r["digest"], *sorted(members[story_id]))

        def body(text: str) -> str:
            data = json.loads(text)
            for cited in data.get("sources", ()):
                cited["item_id"] = item.get(cited["item_id"], cited["item_id"])
            data["numbering"] = sorted(([item.get(i, i), n] for i, n in data.get("numbering", ())), key=repr)
            return json.dumps(data, sort_keys=True)

        state = {
            "digests": [tuple(r) for r in rows("SELECT * FROM digests")],
            "sources": [(r["url"], r["name"], r["digests"], r["credibility"], r["status"], r["last_error"],
                         r["last_fetched"], r["content_hash"], r["etag"], r["last_modified"], r["created"],
                         r["origin"], r["title"]) for r in rows("SELECT * FROM sources")],
            "items": [(r["content_hash"], r["url"], r["title"], hashlib.sha256(r["text"].encode()).hexdigest(),
                       r["publisher"], r["author"], r["published"], r["first_seen"], r["note"], r["routed"],
                       r["checked"], source.get(r["origin_source"])) for r in rows("SELECT * FROM items")],
            "item_sources": [(item.get(r["item_id"]), source.get(r["source_id"]), r["entry_url"], r["publisher"],
                              r["first_seen"]) for r in rows("SELECT * FROM item_sources")],
            "item_keys": [(r["key"], item.get(r["item_id"])) for r in rows("SELECT * FROM item_keys")],
            "item_signatures": [(item.get(r["item_id"]), bytes(r["signature"]).hex())
                                for r in rows("SELECT * FROM item_signatures")],
            "item_bands": [(r["band"], item.get(r["item_id"])) for r in rows("SELECT * FROM item_bands")],
            "terms": [tuple(r) for r in rows("SELECT * FROM terms")],
            "counters": [tuple(r) for r in rows("SELECT * FROM counters")],
            # What each site folder was published from names the folder; the site itself is compared file by file.
            "meta": [tuple(r) for r in rows(
                "SELECT * FROM meta WHERE key NOT LIKE 'site:%' AND key NOT LIKE 'page:%'")],
            "stories": [(story(r["id"]), r["title"], r["status"], r["created"], r["updated"], r["last_item"],
                         r["centroid"]) for r in stories.values()],
            "story_items": [(story(r["story_id"]), item.get(r["item_id"]), r["digest"], r["score"], r["added"])
                            for r in rows("SELECT * FROM story_items")],
            # A revival's other_id is the item that revived the story; a merge's or split's is a story.
            "story_events": [(r["kind"], story(r["story_id"]),
                              item.get(r["other_id"]) if r["kind"] == "revive" else story(r["other_id"]),
                              r["created"], r["detail"]) for r in rows("SELECT * FROM story_events")],
            "claims": [(item.get(r["item_id"]), r["sentence"], r["model"], r["attribute"], r["value"], r["verdict"],
                        r["evidence"], r["setting"], r["attributed_to"]) for r in rows("SELECT * FROM claims")],
            "revisions": [(story(r["story_id"]), r["number"], r["created"], r["headline"], body(r["body"]),
                           tuple(item.get(i, i) for i in json.loads(r["item_ids"])), r["changes"])
                          for r in rows("SELECT * FROM revisions")],
        }
    finally:
        con.close()
    return {name: sorted(values, key=repr) for name, values in state.items()}


def differences(expected: dict[str, list], actual: dict[str, list]) -> list[str]:
    out = []
    for name in expected.keys() | actual.keys():
        want, got = Counter(expected.get(name, ())), Counter(actual.get(name, ()))
        missing, extra = want - got, got - want
        if missing or extra:
            out.append(f"{name}: {sum(missing.values())} rows missing, {sum(extra.values())} unexpected; "
                       f"missing e.g. {_short(next(iter(missing), None))}; "
                       f"unexpected e.g. {_short(next(iter(extra), None))}")
    return sorted(out)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 400 else text[:400] + "..."


def normalise_ids(text: str) -> str:
    return re.sub(r"stories/\d+", "stories/N", text)


def site_snapshot(site: Path) -> Counter:
    """(path, sha256 of content) of every file of the site, story ids made anonymous in both."""
    files: Counter = Counter()
    if site.is_dir():
        for path in site.rglob("*"):
            if path.is_file():
                text = normalise_ids(path.read_text(encoding="utf-8", errors="replace"))
                files[(normalise_ids(path.relative_to(site).as_posix()),
                       hashlib.sha256(text.encode()).hexdigest())] += 1
    return files


def site_differences(expected: Counter, actual: Counter) -> list[str]:
    missing, extra = expected - actual, actual - expected
    if not missing and not extra:
        return []
    return [f"site: {sum(missing.values())} files missing or different, {sum(extra.values())} unexpected: "
            f"{sorted(p for p, _ in missing)[:5]} / {sorted(p for p, _ in extra)[:5]}"]


# Rows that must not exist at any moment: each query names the offending rows. (Declared foreign keys are
# checked by PRAGMA foreign_key_check besides.)
INVARIANTS = {
    "items carried by no source": "SELECT id FROM items WHERE id NOT IN (SELECT item_id FROM item_sources)",
    "items known under no key": "SELECT id FROM items WHERE id NOT IN (SELECT item_id FROM item_keys)",
    "items stored twice (same content hash)":
        "SELECT content_hash FROM items GROUP BY content_hash HAVING count(*) > 1",
    "items stored twice (same URL)": "SELECT url FROM items GROUP BY url HAVING count(*) > 1",
    "item_sources without item or source":
        "SELECT item_id, source_id FROM item_sources WHERE item_id NOT IN (SELECT id FROM items) "
        "OR source_id NOT IN (SELECT id FROM sources)",
    "item_keys, signatures or bands without item":
        "SELECT item_id FROM item_keys WHERE item_id NOT IN (SELECT id FROM items) UNION "
        "SELECT item_id FROM item_signatures WHERE item_id NOT IN (SELECT id FROM items) UNION "
        "SELECT item_id FROM item_bands WHERE item_id NOT IN (SELECT id FROM items)",
    "claims without item": "SELECT id FROM claims WHERE item_id NOT IN (SELECT id FROM items)",
    # Claims are saved in the transaction that marks their item checked (the KB does not change here).
    "claims of an item never checked":
        "SELECT DISTINCT c.item_id FROM claims c JOIN items i ON i.id = c.item_id WHERE i.checked IS NULL",
    "story members without story or item":
        "SELECT story_id, item_id FROM story_items WHERE story_id NOT IN (SELECT id FROM stories) "
        "OR item_id NOT IN (SELECT id FROM items)",
    "story members of an item not routed":
        "SELECT s.item_id FROM story_items s JOIN items i ON i.id = s.item_id WHERE i.routed IS NULL",
    "members of a story merged away":
        "SELECT s.story_id FROM story_items s JOIN stories t ON t.id = s.story_id WHERE t.status != 'active'",
    "live stories without items":
        "SELECT id FROM stories WHERE status = 'active' AND id NOT IN (SELECT story_id FROM story_items)",
    "merged stories pointing nowhere":
        "SELECT id FROM stories WHERE status = 'merged' AND merged_into NOT IN (SELECT id FROM stories)",
    "story events about missing stories":
        "SELECT id FROM story_events WHERE story_id NOT IN (SELECT id FROM stories) "
        "OR (kind != 'revive' AND other_id NOT IN (SELECT id FROM stories))",
    "routed items not counted as documents":
        "SELECT (SELECT count(*) FROM items WHERE routed IS NOT NULL) AS routed, "
        "(SELECT coalesce(max(value), 0) FROM counters WHERE key = 'documents') AS counted "
        "WHERE routed != counted",
    "revisions without story": "SELECT id FROM revisions WHERE story_id NOT IN (SELECT id FROM stories)",
    "revision numbers with gaps":
        "SELECT story_id FROM revisions GROUP BY story_id HAVING min(number) != 1 OR max(number) != count(*)",
    "stories whose title is not their latest headline":
        "SELECT s.id FROM stories s JOIN revisions r ON r.story_id = s.id "
        "WHERE r.number = (SELECT max(number) FROM revisions WHERE story_id = s.id) AND s.title != r.headline",
    "revisions missing from the search index":
        "SELECT id FROM revisions WHERE id NOT IN (SELECT rowid FROM revisions_fts)",
    "search index rows without revision":
        "SELECT rowid FROM revisions_fts WHERE rowid NOT IN (SELECT id FROM revisions)",
}

# What an uninterrupted run leaves besides: everything placed, checked and written.
FINISHED = {
    "items not routed": "SELECT id FROM items WHERE routed IS NULL",
    "items not checked": "SELECT id FROM items WHERE checked IS NULL OR checked != content_hash",
    "live stories without revision":
        "SELECT id FROM stories WHERE status = 'active' AND id NOT IN (SELECT story_id FROM revisions)",
}


def store_problems(folder: Path, scratch: Path, finished: bool = False) -> list[str]:
    """What is wrong with the store in `folder`, checked on a copy (so that the next run, not the test, is the
    first to open the store after a kill): SQLite integrity, foreign keys, the invariants, the full-text index,
    and that `Store` opens it."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for name in ("tidings.db", "tidings.db-wal"):
        if (folder / name).exists():
            shutil.copyfile(folder / name, scratch / name)
    db = scratch / "tidings.db"
    if not db.exists():
        return []  # killed before the store was made
    problems = []
    con = sqlite3.connect(db)
    try:
        integrity = con.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:5]}")
        broken = con.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            problems.append(f"foreign_key_check: {broken[:5]}")
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        applied = con.execute("SELECT count(*) FROM migrations").fetchone()[0] if "migrations" in tables else 0
        if applied == len(MIGRATIONS):  # before that, nothing but the schema has been written
            checks = {**INVARIANTS, **(FINISHED if finished else {})}
            for name, sql in checks.items():
                found = con.execute(sql).fetchall()
                if found:
                    problems.append(f"{name}: {found[:5]}")
            try:  # rank 1: the index is checked against the items table too
                con.execute("INSERT INTO items_fts(items_fts, rank) VALUES ('integrity-check', 1)")
            except sqlite3.DatabaseError as exc:
                problems.append(f"items_fts integrity-check: {exc}")
        elif finished:
            problems.append(f"only {applied} of {len(MIGRATIONS)} migrations applied")
    except sqlite3.DatabaseError as exc:
        problems.append(f"cannot read the store: {exc}")
    finally:
        con.close()
    try:
        Store(str(db)).close()
    except Exception as exc:
        problems.append(f"Store() cannot open it: {exc}")
    return problems


def site_problems(folder: Path) -> list[str]:
    """A site is either absent (never published, or killed while one was swapped for another) or whole."""
    site = folder / "site"
    if not site.exists():
        return []
    needed = [site / ".tidings-site", site / "index.html", site / "style.css"]
    needed += [d / name for d in site.iterdir() if d.is_dir() for name in ("index.html", "feed.atom")]
    return [f"site: {p.relative_to(folder)} is missing" for p in needed if not p.is_file()]


def listed_stories(site: Path) -> dict[str, list[str]]:
    """Per digest, the headlines its index page lists."""
    out = {}
    for index in sorted(site.glob("*/index.html")):
        text = index.read_text(encoding="utf-8")
        out[index.parent.name] = sorted(html.unescape(h) for h in re.findall(
            r'<a href="stories/\d+\.html">(.*?)</a>', text, re.S))
    return out


def current_headlines(db: Path) -> dict[str, list[str]]:
    """Per digest, the current headline of each live story that has a revision."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT s.digest, r.headline FROM stories s JOIN revisions r ON r.story_id = s.id "
                           "WHERE s.status = 'active' AND r.number = "
                           "(SELECT max(number) FROM revisions WHERE story_id = s.id)").fetchall()
        digests = [r[0] for r in con.execute("SELECT slug FROM digests")]
    finally:
        con.close()
    out: dict[str, list[str]] = {d: [] for d in digests}
    for digest, headline in rows:
        out[digest].append(" ".join(headline.split()))
    return {d: sorted(h) for d, h in out.items()}


# --- the reference -----------------------------------------------------------------------------------------------

@dataclass
class Reference:
    state: dict[str, list]
    site: Counter
    windows: dict[str, float] = field(default_factory=dict)  # how long each moment lasts, in seconds


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Reference:
    """Two uninterrupted runs, each into a fresh store: the state they reach (they must agree, or comparing with
    it would prove nothing) and how long each stage takes, to aim the kills."""
    runs = []
    for n in range(2):
        folder = tmp_path_factory.mktemp(f"reference{n}")
        out = drive(write_config(folder))
        assert out.returncode == 0 and out.finished, stderr_tail(folder)
        assert not any(line.startswith("publish_error") for _, line in out.lines)
        assert not store_problems(folder, folder / "check", finished=True)
        runs.append((folder, out))
    (folder, out), (other, _) = runs
    state, site = snapshot(folder / "tidings.db"), site_snapshot(folder / "site")
    assert not differences(state, snapshot(other / "tidings.db")), "two uninterrupted runs disagree"
    assert not site_differences(site, site_snapshot(other / "site")), "two uninterrupted runs disagree"
    # The corpus gives every stage real work.
    assert len(state["items"]) >= 80 and len(state["sources"]) >= 40
    assert len({s[0][0] for s in state["stories"]}) == 2 and len(state["stories"]) >= 8
    assert len(state["revisions"]) >= len(state["stories"])
    assert len(state["claims"]) >= 50 and {"supported", "contradicted"} <= {c[5] for c in state["claims"]}
    assert listed_stories(folder / "site") == current_headlines(folder / "tidings.db")
    windows = {"startup": out.at("stage fetch") - out.at("ready")}
    windows |= {s: out.at(f"end {s}") - out.at(f"stage {s}") for s in STAGES}
    assert all(w > 0 for w in windows.values()), windows
    return Reference(state, site, windows)


def final_problems(reference: Reference, folder: Path) -> list[str]:
    """How the state after the run that was let finish differs from the reference's."""
    problems = store_problems(folder, folder / "check", finished=True)
    problems += differences(reference.state, snapshot(folder / "tidings.db"))
    problems += site_differences(reference.site, site_snapshot(folder / "site"))
    if listed_stories(folder / "site") != current_headlines(folder / "tidings.db"):
        problems.append("site: the digests' pages do not list the stories' current headlines")
    return problems


# --- the tests ---------------------------------------------------------------------------------------------------

def test_sigkill_at_random_moments_leaves_a_consistent_store_that_the_next_run_completes(reference, tmp_path):
    seed = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1_000_000))
    print(f"\ncrash-safety seed {seed} (CRASH_SEED={seed} repeats the schedule); stage seconds: "
          + ", ".join(f"{k} {v:.3f}" for k, v in reference.windows.items()))
    rng = random.Random(seed)
    landed: Counter[str] = Counter()  # kills by the stage that had last started
    inside: Counter[str] = Counter()  # of those, the kills before that stage ended
    failures: list[str] = []
    tally = {"finished first": 0, "staging folders left": 0}

    def kill_repeatedly(n: int, aims: list[str]) -> None:
        """Kill runs on a fresh store, one per aim, then let one run finish and compare with the reference."""
        folder = tmp_path / f"store{n}"
        config = write_config(folder)
        kills = []
        for aim in aims:
            delay = rng.uniform(0, reference.windows[aim])
            out = drive(config, "ready" if aim == "startup" else f"stage {aim}", delay)
            if out.finished:  # the run was over (the kill came as the process exited, or not at all)
                assert out.returncode in (0, -signal.SIGKILL), f"seed {seed}: exit {out.returncode}\n" \
                                                                + stderr_tail(folder)
                tally["finished first"] += 1
                kills.append(f"{aim}+{delay:.3f}s: finished first")
                continue
            assert out.returncode == -signal.SIGKILL, f"seed {seed}: exit {out.returncode}\n{stderr_tail(folder)}"
            landed[out.stage] += 1
            inside[out.stage] += not out.between_stages
            kills.append(f"{aim}+{delay:.3f}s: killed in {out.stage}{' (after it ended)' * out.between_stages} "
                         f"at {out.killed_at:.3f}s")
            problems = store_problems(folder, folder / "check") + site_problems(folder)
            if problems:
                failures.append(f"store {n}, after kill {kills[-1]}: {problems}")
        tally["staging folders left"] += len(list(folder.glob(".site.tidings-*")))
        final = drive(config)
        if not (final.returncode == 0 and final.finished):
            failures.append(f"store {n} ({'; '.join(kills)}): the next run failed: {stderr_tail(folder)}")
            return
        if any(line.startswith("publish_error") for _, line in final.lines):
            failures.append(f"store {n} ({'; '.join(kills)}): {final.lines[-1][1]}")
        problems = final_problems(reference, folder)
        if problems:
            failures.append(f"store {n} ({'; '.join(kills)}): final state differs from the uninterrupted run's: "
                            + " | ".join(problems))

    # Stratified: as many kills aimed at each moment, each a uniform random time into it (as long as it lasted in
    # the reference run). Several kills hit each store, in stage order, so each restart has work left to do.
    aims = [m for m in MOMENTS for _ in range(KILLS_PER_MOMENT)]
    rng.shuffle(aims)
    stores = [sorted(aims[i:i + KILLS_PER_STORE], key=MOMENTS.index) for i in range(0, len(aims), KILLS_PER_STORE)]
    for n, store_aims in enumerate(stores):
        kill_repeatedly(n, store_aims)
    # On a busy machine a short stage may be missed (the kill lands after it): aim a few more kills at it.
    for n in range(len(stores), len(stores) + EXTRA_STORES):
        short = [s for s in STAGES if landed[s] < MIN_KILLS_PER_STAGE]
        if not short:
            break
        kill_repeatedly(n, [short[0]])
    print(f"kills by stage: {dict(landed)} (before the stage ended: {dict(inside)}); {tally}")
    assert not failures, f"seed {seed}:\n" + "\n".join(failures)
    assert sum(landed.values()) >= 50, f"seed {seed}: only {sum(landed.values())} kills landed"
    short = {s: landed[s] for s in STAGES if landed[s] < MIN_KILLS_PER_STAGE}
    assert not short, f"seed {seed}: too few kills in these stages: {short} (all: {dict(landed)})"


# Exact points, each on a commit boundary, where a kill is most likely to show work that is half done: killed
# as the function's Nth call starts ("@N") or as it returns ("@N+").
CRASH_POINTS = {
    "fetch-stored-cluster-not-started": "tidings.store.store:Store.ingest_reads@1+",
    "cluster-computed-not-stored": "tidings.store.store:Store.apply_clustering@1",
    "cluster-stored-check-not-started": "tidings.store.store:Store.apply_clustering@1+",
    "check-claims-stored-not-corroborated": "tidings.store.store:Store.save_claims@1+",
    "write-between-stories": "tidings.store.store:Store.save_revisions@1+",
    "publish-site-rendered-not-swapped-in": "tidings.publish.site:_swap@1",
}


@pytest.mark.parametrize("crash_at", CRASH_POINTS.values(), ids=CRASH_POINTS.keys())
def test_sigkill_at_a_commit_boundary_is_completed_by_the_next_run(reference, tmp_path, crash_at):
    config = write_config(tmp_path)
    out = drive(config, crash_at=crash_at)
    assert out.returncode == -signal.SIGKILL and out.lines[-1][1] == f"crash {crash_at}", stderr_tail(tmp_path)
    problems = store_problems(tmp_path, tmp_path / "check") + site_problems(tmp_path)
    assert not problems, "\n".join(problems)
    final = drive(config)
    assert final.returncode == 0 and final.finished, stderr_tail(tmp_path)
    problems = final_problems(reference, tmp_path)
    assert not problems, f"after a kill at {crash_at}, the next run did not reach the uninterrupted state:\n" + \
        "\n".join(problems)
