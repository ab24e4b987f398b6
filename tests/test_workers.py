"""Work spread over worker processes: the same answers, in order, as done here; a dead worker or a broken pool
costs only speed; the pipeline's local reads, claim reading and writing store what they store without workers."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os

import pytest
from sqlalchemy import select

from tests.conftest import ARTICLE_A, ARTICLE_B, NOW, make_config, rss
from tidings import pipeline, workers
from tidings.check import stage
from tidings.check.kb import load_kb
from tidings.config import ConfigError
from tidings.errors import SetupError
from tidings.pipeline import run
from tidings.publish import site
from tidings.store import Store, schema
from tidings.workers import in_processes, starting_worker
from tidings.write import revise


def square_and_pid(offset: int, x: int) -> tuple[int, int]:
    return x * x + offset, os.getpid()


def die_on_seven(_shared, x: int) -> int:
    if x == 7 and multiprocessing.parent_process() is not None:
        os._exit(3)  # a worker killed mid-task, as the out-of-memory killer would
    return x


def refuse_five(_shared, x: int) -> int:
    if x == 5:
        raise ValueError(f"no {x}")
    return x


class CountingPool(workers.ProcessPoolExecutor):
    made = 0

    def __init__(self, *args, **kwargs) -> None:
        CountingPool.made += 1
        super().__init__(*args, **kwargs)


def test_answers_come_in_order_from_other_processes():
    got = list(in_processes(square_and_pid, list(range(40)), 1000, processes=2, min_tasks=1, chunk=4))
    assert [answer for answer, _ in got] == [x * x + 1000 for x in range(40)]
    pids = {pid for _, pid in got}
    assert os.getpid() not in pids and len(pids) == 2


def niceness(_shared, _x: int) -> int:
    return os.nice(0)


def test_background_workers_leave_the_processors_to_this_process():
    """Workers whose answers this process reads only after work of its own (the claims, read while it clusters)
    run at a lower priority; others at this process's."""
    here = os.nice(0)
    assert set(in_processes(niceness, list(range(8)), processes=2, min_tasks=1, background=True)) \
        == {min(19, here + workers.BACKGROUND_NICENESS)}
    assert set(in_processes(niceness, list(range(8)), processes=2, min_tasks=1)) == {here}
    assert os.nice(0) == here


def test_one_process_or_a_small_batch_is_done_here():
    assert {pid for _, pid in in_processes(square_and_pid, list(range(10)), 0, processes=1, min_tasks=1)} \
        == {os.getpid()}
    assert {pid for _, pid in in_processes(square_and_pid, list(range(10)), 0, processes=2, min_tasks=11)} \
        == {os.getpid()}


def test_a_dead_worker_costs_only_speed(caplog):
    with caplog.at_level(logging.WARNING, logger="tidings.workers"):
        got = list(in_processes(die_on_seven, list(range(30)), processes=2, min_tasks=1, chunk=2))
    assert got == list(range(30))
    assert "worker processes stopped (BrokenProcessPool" in caplog.text


def test_inputs_made_on_the_way_are_taken_as_chunks_are_sent(caplog):
    made = []

    def inputs():
        for x in range(30):
            made.append(x)
            yield x

    answers = in_processes(die_on_seven, inputs(), processes=2, min_tasks=1, chunk=2, total=30)
    assert len(made) < 30  # only the chunks sent ahead so far
    with caplog.at_level(logging.WARNING, logger="tidings.workers"):
        assert list(answers) == list(range(30))  # and a worker dying on the way costs nothing
    assert made == list(range(30))


@pytest.mark.parametrize("processes", [1, 2])
def test_an_error_of_the_function_reaches_the_caller_after_the_answers_before_it(processes):
    answers = in_processes(refuse_five, list(range(20)), processes=processes, min_tasks=1, chunk=3)
    got = []
    with pytest.raises(ValueError, match="no 5"):
        for answer in answers:
            got.append(answer)
    assert got == [0, 1, 2, 3, 4]
    assert list(answers) == []  # and then there are no more, as from a generator


def test_inputs_that_fail_at_once_leave_no_worker_running(monkeypatch):
    made = []

    class Remembering(workers.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    def inputs():
        yield 1
        raise RuntimeError("the store went away")

    monkeypatch.setattr(workers, "ProcessPoolExecutor", Remembering)
    with pytest.raises(RuntimeError, match="the store went away"):
        in_processes(square_and_pid, inputs(), 0, processes=2, min_tasks=1, chunk=1, total=10)
    assert len(made) == 1 and made[0]._shutdown_thread


def test_stopping_early_leaves_no_worker_running():
    answers = in_processes(square_and_pid, list(range(400)), 0, processes=2, min_tasks=1, chunk=5)
    assert next(answers)[0] == 0
    started = list(answers.pool._processes.values())
    assert len(started) == 2 and all(p.is_alive() for p in started)
    answers.close()
    assert not any(p.is_alive() for p in started)


WARM = """
import os, sys, time
from tidings import workers
workers.warm(int(sys.argv[1]))
time.sleep(0.3)
children = set()
for task in os.listdir("/proc/self/task"):
    children.update(open(f"/proc/self/task/{task}/children").read().split())
print(sum("forkserver" in open(f"/proc/{pid}/cmdline").read() for pid in children))
"""


@pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods()
                    or not os.path.exists("/proc/self/task"),
                    reason="workers are forked from a server only where the system has one; seen through /proc")
@pytest.mark.parametrize("processes, servers", [(2, 1), (1, 0)])
def test_warming_starts_the_worker_server_only_where_workers_may_run(processes, servers):
    import subprocess
    import sys

    # A fresh interpreter: this one may have started the server for an earlier test.
    out = subprocess.run([sys.executable, "-c", WARM, str(processes)], capture_output=True, text=True, timeout=60,
                         check=True)
    assert int(out.stdout) == servers


def test_a_worker_starting_is_told_apart_from_the_main_process(tmp_path):
    assert starting_worker() is False
    # A script that calls tidings.run() without a __main__ guard is imported again by every worker: there the call
    # stops at once with an error that says what to do, instead of running the whole pipeline again.
    multiprocessing.current_process()._inheriting = True
    try:
        with pytest.raises(SetupError, match="if __name__ == '__main__'"):
            run(make_config(tmp_path, [{"url": str(tmp_path / "feed.rss")}]))
    finally:
        del multiprocessing.current_process()._inheriting
    assert not (tmp_path / "tidings.db").exists()


def test_processes_setting_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="processes must be a finite number at least 0, got -1"):
        make_config(tmp_path, [], processes=-1)
    assert make_config(tmp_path, [], processes=3).settings.processes == 3


def _local_sources(tmp_path, www: str) -> list[dict]:
    """Twelve feed files, one of them broken, one an HTML page, and one with a teaser whose page is on the web;
    three items in each of the others, one of them with claims about a model to check."""
    folder = tmp_path / "feeds"
    folder.mkdir()
    sources = []
    for n in range(12):
        path = folder / f"wire{n}.rss"
        if n == 3:
            path.write_text("<rss><channel><item><title>cut off")
        elif n == 5:  # a link no URL parser takes apart: the file is stored, and so is every one after it
            path.write_text(rss([{"title": "Odd port", "link": "https://wire5.example:99999/odd",
                                  "text": ARTICLE_B.replace("Saturday", "Sunday")}], title="Wire 5"))
        elif n == 4:
            path.write_text("<html><head><title>Gone fishing</title></head><body>Not a feed</body></html>")
        else:
            items = [{"title": f"Harbour barrier report {n}", "link": f"https://wire{n}.example/barrier",
                      "text": ARTICLE_A.replace("Thursday", f"Thursday ({n})")},
                     {"title": f"Comet watch {n}", "link": f"https://wire{n}.example/comet",
                      "text": ARTICLE_B.replace("Saturday", f"Saturday ({n})")},
                     {"title": f"Open model notes {n}", "link": f"https://wire{n}.example/models",
                      "text": f"<p>Meta released Llama 3.1 405B in July 2024, wire {n} reports. The model has "
                              f"{300 + n} billion parameters and was trained on about 15 trillion tokens.</p><p>It "
                              "is offered for download under the Llama 3.1 Community License, which allows "
                              "commercial use with conditions for very large companies. Researchers at several "
                              "universities said the release made large-scale experiments possible without a "
                              "commercial contract, and that they would publish their results openly.</p>"}]
            if n == 6:
                items.append({"title": "Barrier contract awarded", "link": f"{www}/contract.html",
                              "summary": "The contract was awarded..."})
            path.write_text(rss(items, title=f"Wire {n}"))
        sources.append({"url": str(path), "name": f"wire{n}"})
    return sources


def _what_was_stored(db) -> tuple:
    store = Store(str(db))
    try:
        with store.engine.connect() as conn:
            items = sorted(conn.execute(select(schema.items.c.url, schema.items.c.title, schema.items.c.text)))
            sources = sorted(conn.execute(select(schema.sources.c.url, schema.sources.c.status,
                                                 schema.sources.c.last_error)))
            claims = sorted(conn.execute(select(schema.claims.c.sentence, schema.claims.c.verdict)))
            revisions = sorted((r.headline, json.dumps(r.body, sort_keys=True)) for r in conn.execute(
                select(schema.revisions.c.headline, schema.revisions.c.body)))
    finally:
        store.close()
    return items, sources, claims, revisions


def test_local_reads_and_claims_in_worker_processes_store_what_one_process_stores(tmp_path, http_dir,
                                                                                   monkeypatch):
    root, www = http_dir
    (root / "contract.html").write_text(
        "<html><head><title>Barrier contract awarded</title></head><body><article><p>The Port Ellery tidal "
        "barrier contract was awarded to a consortium of three local builders on Friday, the harbour authority "
        "said. Work starts in October and should take three years.</p><p>The consortium beat four other bidders; "
        "its offer was the lowest at 131 million euros, below the 140 million the authority had set aside.</p>"
        "</article></body></html>")
    monkeypatch.setattr(pipeline, "LOCAL_READS_IN_PROCESSES", 4)
    monkeypatch.setattr(stage, "IN_PROCESSES", 4)
    monkeypatch.setattr(revise, "IN_PROCESSES", 2)
    monkeypatch.setattr(site, "IN_PROCESSES", 2)
    monkeypatch.setattr(workers, "ProcessPoolExecutor", CountingPool)
    stored, pages = {}, {}
    for processes in (1, 2):
        folder = tmp_path / f"p{processes}"
        folder.mkdir()
        # Copies of one article stay apart (no near-duplicate folding), so there are many items to check.
        config = make_config(folder, _local_sources(folder, www), processes=processes, near_duplicate_threshold=1.0)
        CountingPool.made = 0
        stats = run(config, now=NOW)
        assert CountingPool.made == (0 if processes == 1 else 4)  # the fetch, check, write and publish stages'
        pages[processes] = {str(path.relative_to(folder / "site")): path.read_text().replace(f"/p{processes}/", "/")
                            for path in (folder / "site").rglob("*") if path.is_file()}
        assert stats.items_new == 29 and stats.sources == 12
        stored[processes] = _what_was_stored(folder / "tidings.db")
    # Files unchanged since are known without parsing them: a run with nothing new starts no worker.
    CountingPool.made = 0
    again = run(config, now=NOW)
    assert CountingPool.made == 0 and again.items_new == 0
    assert again.sources_unchanged == 10 and again.sources_failed == 2
    one, two = (tuple(_without_folder(part, f"p{n}") for part in stored[n]) for n in (1, 2))
    assert one == two
    assert pages[1] == pages[2] and len(pages[2]) > 10  # the site too, page for page
    items, sources, claims, revisions = two
    assert any(title == "Barrier contract awarded" and "lowest at 131 million euros" in text
               for _, title, text in items)  # the teaser's page was read, in this process
    errors = [error for _, status, error in sources if status == "error"]
    assert len(errors) == 2 and any("expected a feed, got an HTML page ('Gone fishing')" in e for e in errors)
    assert {verdict for _, verdict in claims} >= {"contradicted", "supported"}  # 405 billion is right, 301 wrong
    assert len(revisions) >= 2 and any("Port Ellery" in body for _, body in revisions)


def _without_folder(rows, folder: str):
    return [tuple(v.replace(f"/{folder}/", "/") if isinstance(v, str) else v for v in row) for row in rows]


def test_claims_read_by_workers_match_claims_read_here(tmp_path):
    kb = load_kb()
    texts = [f"Report {n}.\n\nLlama 3.1 405B was released by Meta in July 2024 under an open licence; it has "
             f"{400 + n % 3} billion parameters." for n in range(60)]
    here = [stage._claims_in(kb, text) for text in texts]
    there = list(in_processes(stage._claims_in, texts, kb, processes=2, min_tasks=1, chunk=7))
    assert there == here and any(found for found in here)


def test_an_entry_a_source_read_before_carried_is_not_signed_again(tmp_path):
    """Publishers' feeds overlap: an entry under a key read earlier in the run is the same item, known by that key,
    so its MinHash is not made again; every item stored still has its signature."""
    shared = {"title": "Harbour barrier approved", "link": "https://wire.example/barrier", "text": ARTICLE_A}
    (tmp_path / "all.rss").write_text(rss([shared]))
    (tmp_path / "local.rss").write_text(rss([shared, {"title": "Comet tonight", "link": "https://wire.example/comet",
                                                      "text": ARTICLE_B}]))
    config = make_config(tmp_path, [{"url": str(tmp_path / name), "name": name} for name in ("all.rss", "local.rss")])
    reading = pipeline._Reading(config.settings)
    store = Store(str(tmp_path / "read.db"))
    sources = [store.upsert_source(s, NOW) for s in config.sources]
    store.close()
    (_, first, _), (_, second, _) = (pipeline._read_and_key(reading, (s, (None, None, None), frozenset(), NOW))
                                     for s in sources)
    assert ["_minhash" in k.__dict__ for k in first] == [True]
    assert ["_minhash" in k.__dict__ for k in second] == [False, True]
    assert second[0].keys == first[0].keys

    stats = run(config, now=NOW)
    store = Store(config.db_url)
    with store.engine.connect() as conn:
        signed = conn.execute(select(schema.item_signatures.c.item_id)).scalars().all()
    store.close()
    assert stats.items_new == 2 and stats.items_linked == 1 and len(signed) == 2
