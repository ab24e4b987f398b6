"""Serving at scale: requests per second and p50/p95/p99 latency of `tidings serve` at 50 concurrent clients on
loopback, for story pages and for the JSON story list (`/api/stories`: its first page and cursor pages), against a
store of 10,000 stories, beside the same server's static-file rate (`/style.css`) measured in the same run.

The server is `tidings --quiet --db STORE serve` (uvicorn, one worker process: its sync routes run in its thread
pool) on 127.0.0.1 at a free port, started by this script. The load comes from another process: a small asyncio
HTTP/1.1 client on raw sockets (no HTTP library in the loop), N keep-alive connections each sending its next
request as soon as the last answer is read (a closed loop). Every scenario has a warm-up (--warmup requests on the
same connections, not counted), then --requests requests; its rate is those requests over the time from sending
the first to reading the last, its latencies are per request as the client saw them. The client shares the
machine's CPUs with the server (the output says how many), so it is kept light, and the load average is printed.

  static           /style.css: the baseline. Served by the same app as the pages, from the same page cache;
                   measured first and last, the baseline is the mean of the two rates
  floor            /api/docs: FastAPI's own small page, made on the event loop without the store or the thread
                   pool: what uvicorn and FastAPI alone cost here, for reference
  story, cold      /{digest}/stories/{id}.html, each story's first visit (ids at random; warm-up on others).
                   `tidings serve` makes the stories' pages ahead of their readers, at start and after each run
                   (as a static site does at publish); the runs begin once it is done (its time is printed)
  story, warm      the same pages again, drawn at random from the last ones the cold pass visited (fewer than the
                   server's page cache holds): every answer a cache hit
  story, mixed     ids at random over all stories, as crawlers and readers arrive: the hit rate is what an LRU of
                   the app's page cache (PAGE_CACHE_BYTES, in pages of PAGE_BYTES) makes of the sequence sent
  api, first page  /api/stories (50 a page), the same request again and again
  api, cursor      /api/stories?cursor=...: cursors at random among every page's, collected by walking the list
                   once before the runs (which also checks that it gives every story once)
  api, story       /api/stories/{id}, ids at random over all stories

Beside each rate: the CPU time the server process (all its threads) and the load generator used per measured
request, read from /proc (less at the mercy of other work on the machine than the rates). Then where the time
goes: the parts of a story page and of a list page timed in-process, one thread, on the same store (the data
version, the story's lookup, its revisions, the render...), set against the server's CPU time per request under
load; the difference is uvicorn, Starlette/FastAPI, the thread pool and contention. With --profile the server runs
under cProfile instead (each thread's CPU time: its event loop and its thread pool) through the static, floor,
mixed story and list's first page passes; the costliest functions are printed and the profile kept in --cache.

The store is written through `tidings.store.Store`, as the pipeline writes it, from a seeded synthetic corpus:
two digests and 120 sources; each story has 4 to 8 items from different sources (titles and texts made from
word lists, ~10 sentences each) and 1 to 3 revisions (each ~8 cited sentences in Summary, What's new, Background,
Perspectives and What to watch sections, a timeline on some, ~6 sources, a fact check with 2 or 3 entries whose
claims are in the store too); story profiles from the project's own vectoriser. Built stores are kept in --cache
(default /tmp/tidings-bench-serve/), one folder per size and hash of the generator code; reruns measure at once.
Building 10,000 stories takes about 2 minutes on a shared 2-CPU machine (a 0.5 GB store).

    python bench/serve.py [--stories 10000] [--requests 1000] [--concurrency 50] [--warmup 100] [--cache DIR]
                          [--rebuild] [--profile]

Targets (10,000 stories, 50 clients): story pages at >= 50% of the static-file rate, and their p95 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()
PAGE_BYTES = 7_500  # about what a story page of these stores weighs: the page cache holds bytes, not pages
HOST = "127.0.0.1"
TARGET_SHARE = 0.5  # story pages' rate over the static file's
TARGET_P95 = 50.0  # ms

# -- the synthetic store (the text from here to the end marker is hashed into the cache key) -------------------

SEED = 20260311
START = datetime(2026, 1, 5, 6, tzinfo=UTC)
SPAN_DAYS = 120  # stories begin over this many days
SOURCES = {"city": 70, "science": 50}

DIGESTS = {
    "city": ("City & region", "Councils, transport, housing and public services: what was decided, what it costs "
                              "and who is affected.", ("council", "transport", "housing", "budget")),
    "science": ("Science & technology", "Research, computing and the claims made about new models, chips and "
                                        "instruments.", ("model", "research", "chip", "benchmark")),
}

TOPICS = {
    "city": [
        "ring road widening|lanes verges junction traffic surveyors asphalt roundabout",
        "district library|shelves reading room archive volunteers loans branch",
        "reservoir upgrade|dam spillway pumps catchment valves intake storage",
        "night bus trial|routes drivers depot fares timetable shifts stops",
        "harbour wall|breakwater masonry tides moorings quay boats swell",
        "school meals contract|kitchens caterers menus pupils suppliers portions canteens",
        "cycle lanes|kerbs bollards riders crossings paint junctions signals",
        "town hall sale|lease auction buyers chamber heritage offices valuation",
        "home care tender|carers visits rotas agencies clients hours allowances",
        "street lighting|lamps columns lanterns wiring dimming circuits poles",
        "park restoration|lawns fountain bandstand paths trees gardeners railings",
        "social housing block|flats tenants lifts cladding rents landlords repairs",
        "market square plan|stalls paving traders awnings footfall loading benches",
        "waste depot move|lorries bins recycling yard shifts crews containers",
    ],
    "science": [
        "open-weights model|weights tokens inference checkpoint context training release",
        "protein folding tool|structures residues assays labs predictions enzymes datasets",
        "fusion test rig|plasma magnets coils vessel shots heating diagnostics",
        "memory chip line|wafers fab yields dies lithography packaging cleanroom",
        "weather model|forecasts grids ensembles rainfall stations runs supercomputer",
        "telescope survey|mirror galaxies exposures detectors spectra sky pipeline",
        "gene therapy trial|patients doses vectors cohorts safety endpoints clinics",
        "solar cell record|perovskite efficiency modules layers panels silicon coatings",
        "drone delivery pilot|drones parcels routes pilots hubs airspace batteries",
        "speech model|audio transcripts accents languages errors captions microphones",
        "exascale computer|nodes racks cooling petaflops jobs interconnect scheduler",
        "robot arm lab|grippers sensors actuators tasks trials manipulation cameras",
    ],
}

ORG_KINDS = {
    "city": ["City Council", "Transport Authority", "Water Board", "Housing Trust", "Harbour Commission",
             "Borough Council", "Parks Department", "Schools Partnership"],
    "science": ["Labs", "Institute", "Research Centre", "Systems", "University", "Computing", "Foundation",
                "Observatory"],
}
PLACE_A = ("Ash Bram Cal Dun Elm Fen Gar Hol Ips Kel Lan Mor Nor Oak Pen Quar Ros Sal Tam Ul Ver Wil Yar Zel Brin "
           "Cor Drum Esk Fal Glen").split()
PLACE_B = "ford mere wick bury stow haven field ton dale moor gate holm cliffe worth ley by".split()
FIRST = ("Ada Bruno Carys Dev Elin Farid Greta Hamish Ines Jonas Keira Luca Maren Nils Odette Priya Rafael Saoirse "
         "Tobias Una Viktor Wren Yusuf Zofia Anouk Bartek Celeste Dario Esme Florin").split()
LAST = ("Abbott Brennan Castell Dahl Ekwueme Fairley Gorski Hallam Ibarra Jansen Kowal Lindqvist Mbeki Navarro "
        "Okafor Pryce Quist Rahman Sandoval Thorne Ulloa Varga Whitlock Xu Yilmaz Zeller Achterberg Bellamy "
        "Cardoso Dunmore").split()
ROLES = ("director chair spokesperson engineer analyst treasurer manager researcher adviser coordinator "
         "lead scientist inspector planner auditor").split()
GROUPS = ("residents engineers auditors shopkeepers commuters parents campaigners analysts contractors tenants "
          "researchers volunteers drivers teachers investors surveyors nurses landlords students economists "
          "pensioners traders inspectors designers").split()
SAYS = "said argued warned estimated insisted conceded suggested confirmed noted claimed stressed reported".split()
DOES = ["would be delayed", "could cost more", "was running late", "might be scaled back", "would go ahead",
        "had been underestimated", "needed a second review", "was on track", "faced new objections",
        "would be funded in full", "was likely to be redesigned", "could be finished early", "had stalled",
        "was waiting for approval", "would need more staff"]
ADJ = ("revised draft detailed independent interim delayed leaked final preliminary annual costly modest "
       "disputed updated formal partial technical internal").split()
NOUN = ("report estimate survey budget review assessment proposal audit timetable forecast study plan "
        "consultation contract briefing analysis").split()
MONTHS = "January February March April May June July August September October November December".split()
DAYS = "Monday Tuesday Wednesday Thursday Friday".split()
WHEN = ["next month", "before the summer", "by the end of the year", "within weeks", "in the spring",
        "after the next meeting", "later this year", "early next year"]
PAPERS = "Courier Gazette Herald Observer Chronicle Post Times Echo Mercury Bulletin Ledger Review".split()
MODEL_A = "Orbis Tessel Kestrel Marlin Quill Vesper Nimbus Cobalt Sable Lumen Halcyon Juniper".split()
BENCHES = "ReasonBench CodeTrial MathSet LongQA ToolUse-Pro SciRead".split()
VERDICTS = (["corroborated"] * 4 + ["single-source"] * 4 + ["supported"] * 2 + ["disputed"] * 2
            + ["contradicted"] + ["unverified"])

TEMPLATES = [
    "{person}, {role} at {org}, {says} that the {adj} {noun} for the {thing} {does}.",
    "{group} in {place} {says} the {thing} {does} after the {adj} {noun} came out on {day}.",
    "{org} put the cost of the {thing} at {money}, up from {money2} in the {adj} {noun}.",
    "About {count} {group} came to a meeting in {place} on {day} to discuss the {word} and the {word2}.",
    "According to the {adj} {noun}, {pct} per cent of the work on the {word} is already done.",
    "{person} said {org} would not comment on the {word} until the {noun} was complete.",
    "Critics argue that the {thing} {does} unless {org} publishes its {adj} {noun}.",
    "A spokesperson for {org} confirmed an order worth {money} for the {word}.",
    "The {noun} sets out {small} options for the {word}, of which the {adj} one is the cheapest.",
    "Work on the {word} is now expected to finish in {month}, {small} months later than planned.",
    "{group} {says} that the {word} had been discussed for {small} years before {org} acted.",
    "In a statement, {person} {says} the {thing} remained within its budget of {money}.",
    "Figures from {org} show {count} {group} affected by the {word} since {month}.",
    "The {adj} {noun} was approved by {small} votes to {small2} at a meeting of {org}.",
    "A decision on the {word} is expected {when}, once the {noun} has been reviewed.",
    "Independent {group} {says} the {thing} {does}, citing the {adj} {noun} and the {word}.",
    "{person2} of {place} {group} called the {adj} {noun} a missed chance to fix the {word}.",
    "Under the {noun}, the {word} would be handed to a contractor for {small} years.",
]
CLAIM_TEMPLATES = {
    "city": ("{org} said the {thing} would cost {money} and take {small} years to complete.",
             "cost", "{money}", "the {thing} costs {money}"),
    "science": ("{org}'s {model} model has {params} billion parameters and scored {score} on {bench}.",
                "params_total_b", "{params}", "{model} has {params} billion parameters"),
}
SECTIONS = ("Summary", "What's new", "Background", "Perspectives", "What to watch")


def _story_plan(k: int) -> dict:
    """Story k's names, items and revisions, from its own seed: the same whatever else is built."""
    rng = random.Random(SEED * 100_003 + k)
    digest = "city" if rng.random() < 0.55 else "science"
    thing, words = rng.choice(TOPICS[digest]).split("|")
    place = rng.choice(PLACE_A) + rng.choice(PLACE_B)
    names = {"digest": digest, "thing": thing, "words": words.split(), "place": place,
             "org": f"{rng.choice(PLACE_A)}{rng.choice(PLACE_B)} {rng.choice(ORG_KINDS[digest])}"
             if digest == "science" else f"{place} {rng.choice(ORG_KINDS[digest])}",
             "person": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "person2": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
             "model": f"{rng.choice(MODEL_A)}-{rng.randint(2, 9)}", "params": rng.choice([7, 13, 34, 70, 120, 405]),
             "bench": rng.choice(BENCHES), "money": _money(rng)}
    begin = START + timedelta(days=rng.uniform(0, SPAN_DAYS))
    lasting = timedelta(days=rng.uniform(0.3, 6))
    count = rng.randint(4, 8)
    times = sorted(begin + lasting * rng.random() for _ in range(count))
    times[0] = begin
    sources = rng.sample(range(SOURCES[digest]), count)
    items = []
    for i, (when, source) in enumerate(zip(times, sources, strict=True)):
        sentences = [_sentence(rng, names, rng.choice(TEMPLATES)) for _ in range(rng.randint(8, 12))]
        claim_at = rng.randrange(1, len(sentences))
        sentences[claim_at] = _sentence(rng, names, CLAIM_TEMPLATES[digest][0])
        title = _title(rng, names)
        items.append({"source": source, "published": when, "title": title, "sentences": sentences,
                      "claim": claim_at, "url": f"https://{digest}-{source}.news.example/{when:%Y/%m/%d}/"
                                                 f"{_slug(title)}-{k}-{i}", "author": f"{rng.choice(FIRST)} "
                                                                                     f"{rng.choice(LAST)}"})
    revisions = rng.choices([1, 2, 3], weights=[55, 30, 15])[0]
    cuts = [max(3, -(-count * (r + 1) // revisions)) for r in range(revisions)]
    return {"k": k, "names": names, "items": items, "cuts": cuts, "seed": rng.random()}


def _money(rng: random.Random) -> str:
    return f"£{rng.randint(1, 95)}.{rng.randint(0, 9)} million"


def _sentence(rng: random.Random, names: dict, template: str) -> str:
    words = names["words"]
    return template.format(
        person=names["person"], person2=names["person2"], role=rng.choice(ROLES), org=names["org"],
        says=rng.choice(SAYS), adj=rng.choice(ADJ), noun=rng.choice(NOUN), thing=names["thing"],
        does=rng.choice(DOES), group=rng.choice(GROUPS).capitalize() if template.startswith("{group}")
        else rng.choice(GROUPS), place=names["place"], day=rng.choice(DAYS), money=names["money"]
        if "{money2}" not in template else _money(rng), money2=_money(rng), count=rng.randint(20, 900),
        word=rng.choice(words), word2=rng.choice(words), pct=rng.randint(5, 95), small=rng.randint(2, 9),
        small2=rng.randint(1, 9), month=rng.choice(MONTHS), when=rng.choice(WHEN), model=names["model"],
        params=names["params"], score=f"{rng.uniform(30, 92):.1f}", bench=names["bench"])


def _title(rng: random.Random, names: dict) -> str:
    shapes = ["{place} {thing}: {org} {says} {noun} {does}", "{thing} in {place}: what the {adj} {noun} says",
              "{org} and the {thing}: {group} want answers", "{place} {group} question the {thing}",
              "New {noun} on the {thing} in {place}"]
    raw = _sentence(rng, names, rng.choice(shapes)).rstrip(".")
    return raw[0].upper() + raw[1:]


def _slug(text: str) -> str:
    return "-".join("".join(ch for ch in w.lower() if ch.isalnum()) for w in text.split()[:6])


def _article(plan: dict, used: list[dict], previous: dict | None, rng: random.Random) -> dict:
    """One revision's sections (sentences taken whole from its items, each citing its item, some a second one),
    its numbering of sources (kept from the previous revision), its fact check."""
    newest = used[-1]
    fresh = [it for it in used if previous is None or it["id"] not in previous["numbers"]] or [newest]
    older = [it for it in used if it not in fresh] or used

    def pick(among: list[dict], avoid: set[str]) -> tuple[dict, str]:
        for _ in range(20):
            it = rng.choice(among)
            text = rng.choice(it["sentences"][1:])
            if text not in avoid:
                return it, text
        return among[0], among[0]["sentences"][0]

    taken: set[str] = set()
    chosen: dict[str, list[tuple[dict, str]]] = {name: [] for name in SECTIONS}
    chosen["Summary"].append((newest, newest["sentences"][0]))
    claimed = rng.choice(used)
    chosen["Background"].append((claimed, claimed["sentences"][claimed["claim"]]))
    taken.update(text for lines in chosen.values() for _, text in lines)
    plan_counts = {"What's new": 2 if len(used) > 1 else 1, "Background": 2, "Perspectives": rng.choice([0, 0, 2]),
                   "What to watch": 1}
    for name, n in plan_counts.items():
        for _ in range(n):
            it, text = pick(fresh if name == "What's new" else older if name == "Background" else used, taken)
            chosen[name].append((it, text))
            taken.add(text)
    numbers = dict(previous["numbers"]) if previous else {}

    def number(it: dict) -> int:
        return numbers.setdefault(it["id"], max(numbers.values(), default=0) + 1)

    sections = []
    for name in SECTIONS:
        lines = []
        for it, text in chosen[name]:
            cites = {number(it)}
            if rng.random() < 0.25 and len(used) > 1:
                cites.add(number(rng.choice([other for other in used if other is not it])))
            lines.append({"text": text, "cites": sorted(cites)})
        if lines:
            sections.append((name, lines))
    if len({it["published"].date() for it in used}) > 1 and rng.random() < 0.4:  # before What to watch
        days = sorted(used, key=lambda it: it["published"])[:4]
        sections.insert(len(sections) - 1, ("Timeline", [
            {"text": it["sentences"][0], "cites": [number(it)], "label": f"{it['published']:%b} {it['published'].day}"}
            for it in days]))
    for it in used:
        number(it)
    return {"sections": sections, "numbers": numbers, "claimed": claimed, "texts": taken}


def _fact_check(plan: dict, article: dict, rng: random.Random) -> tuple[list[dict], list[tuple[int, dict]]]:
    """Two or three checked claims: the figure or model sentence the article states, and others; each also as a
    claim stored against its item."""
    names, digest = plan["names"], plan["names"]["digest"]
    claimed = article["claimed"]
    _, attribute, value, claim = CLAIM_TEMPLATES[digest]
    fields = {**names, "thing": names["thing"]}
    sentence = claimed["sentences"][claimed["claim"]]
    lines = [line for _, ls in article["sections"] for line in ls]
    checks = [(claimed, sentence, attribute, value.format(**fields), claim.format(**fields))]
    for _ in range(rng.choice([1, 1, 2])):
        line = rng.choice(lines)
        figure = str(rng.randint(2, 900))
        checks.append((None, line["text"], "figure", figure,
                       f"{names['org']} reported {figure} for the {rng.choice(names['words'])}"))
    out, stored = [], []
    for item, text, attr, val, words in checks:
        verdict = rng.choice(VERDICTS)
        cites = next((line["cites"] for line in lines if line["text"] == text), [article["numbers"][claimed["id"]]])
        source = claimed["url"] if verdict in ("corroborated", "disputed") else \
            f"https://kb.example/{_slug(names['model'] if digest == 'science' else names['org'])}"
        fact = (f"The model card lists {val} billion parameters" if attr == "params_total_b" else
                f"{names['org']} gave {val} in its {rng.choice(ADJ)} {rng.choice(NOUN)}")
        out.append({"sentence": text, "cites": cites, "model": names["model"] if digest == "science" else "",
                    "attribute": attr, "value": val, "verdict": verdict, "evidence": [(fact, source)],
                    "claim": words})
        if item is not None:
            stored.append((item["id"], out[-1]))
    return out, stored


def build(stories: int, folder: Path) -> dict:
    """Write the store into folder/tidings.db; what was built and how long each part took."""
    from sqlalchemy import select

    from tidings import dedupe
    from tidings.embed import LexicalVectoriser, merge_counts
    from tidings.model import (
        CheckedClaim,
        CitedSource,
        Claim,
        Digest,
        Entry,
        Evidence,
        FactCheck,
        Item,
        Revision,
        Section,
        Sentence,
        Source,
    )
    from tidings.store import ClusterOutcome, NewStory, SourceRead, Store
    from tidings.store import schema as t

    seconds = {"sources": 0.0, "ingest": 0.0, "cluster": 0.0, "claims": 0.0, "revisions": 0.0, "generate": 0.0}
    started = time.perf_counter()
    store = Store(str(folder / "tidings.db"))
    store.sync_digests([Digest(slug, title, text, keywords) for slug, (title, text, keywords) in DIGESTS.items()])
    rng = random.Random(SEED)
    sources: dict[tuple[str, int], Source] = {}
    for digest, n in SOURCES.items():
        for j in range(n):
            name = f"The {rng.choice(PLACE_A)}{rng.choice(PLACE_B)} {rng.choice(PAPERS)}"
            credibility = None if rng.random() < 0.25 else round(rng.uniform(0.4, 0.95), 2)
            sources[digest, j] = store.upsert_source(Source(url=f"https://{digest}-{j}.news.example/feed.xml",
                                                            name=name, digests=(digest,), credibility=credibility),
                                                     START)
    seconds["sources"] = time.perf_counter() - started
    clock = time.perf_counter()
    plans = sorted((_story_plan(k) for k in range(stories)), key=lambda p: p["items"][0]["published"])
    seconds["generate"] += time.perf_counter() - clock
    vectoriser = LexicalVectoriser()
    made = {"items": 0, "revisions": 0, "claims": 0, "stories": 0}
    days: dict[object, list[dict]] = {}
    for plan in plans:  # stored a day at a time, as daily runs would: a story is created on its first item's day
        days.setdefault(plan["items"][0]["published"].date(), []).append(plan)
    for chunk in days.values():
        clock = time.perf_counter()
        reads: dict[int, list] = {}
        entries = {}
        for plan in chunk:
            digest = plan["names"]["digest"]
            for it in plan["items"]:
                source = sources[digest, it["source"]]
                entry = Entry(url=it["url"], title=it["title"], text=" ".join(it["sentences"]),
                              publisher=source.name, published=it["published"], author=it["author"])
                entries[it["url"]] = keyed = dedupe.keyed(entry, source.id)
                reads.setdefault(source.id, [source, []])[1].append(keyed)
        now = max(it["published"] for plan in chunk for it in plan["items"]) + timedelta(hours=1)
        seconds["generate"] += time.perf_counter() - clock
        clock = time.perf_counter()
        counts = store.ingest_reads([SourceRead(source, keyed, title=source.name) for source, keyed in reads.values()],
                                    now)
        with store.engine.connect() as conn:
            ids = {url: item_id for url, item_id in conn.execute(
                select(t.items.c.url, t.items.c.id).where(t.items.c.url.in_(list(entries))))}
        made["items"] += sum(c.new for c in counts)
        if len(ids) != len(entries):
            raise SystemExit(f"ingest stored {len(ids)} of {len(entries)} items (some were folded together)")
        seconds["ingest"] += time.perf_counter() - clock
        clock = time.perf_counter()
        outcome = ClusterOutcome()
        for plan in chunk:
            centroid: dict[str, float] = {}
            for it in plan["items"]:
                it["id"] = ids[it["url"]]
                words = vectoriser.counts(it["title"], " ".join(it["sentences"]))
                vectoriser.add(words)
                for term in words:
                    outcome.term_counts[term] = outcome.term_counts.get(term, 0) + 1
                centroid = merge_counts(centroid, vectoriser.weigh(words))
                outcome.placements.append((it["id"], plan["names"]["digest"], f"s{plan['k']}", 1.0))
                outcome.routed.append(it["id"])
            outcome.new_stories[f"s{plan['k']}"] = NewStory(
                plan["names"]["digest"], plan["items"][0]["title"], {w: round(a, 6) for w, a in centroid.items()},
                plan["items"][-1]["published"])
        created = store.apply_clustering(outcome, chunk[-1]["items"][0]["published"])
        made["stories"] += len(created)
        seconds["cluster"] += time.perf_counter() - clock
        clock = time.perf_counter()
        writes, claims = [], {}
        for plan in chunk:
            story_id = created[f"s{plan['k']}"]
            rng = random.Random(plan["seed"])
            previous = None
            for number, cut in enumerate(plan["cuts"], start=1):
                used = plan["items"][:cut]
                article = _article(plan, used, previous, rng)
                checks, stored = _fact_check(plan, article, rng)
                for item_id, check in stored:
                    claims[item_id] = [check]  # the item's claims as last checked
                by_id = {it["id"]: it for it in used}
                cited = sorted(article["numbers"].items(), key=lambda pair: pair[1])
                sources_list = tuple(
                    CitedSource(n=n, item_id=item_id, url=by_id[item_id]["url"], title=by_id[item_id]["title"],
                                publisher=sources[plan["names"]["digest"], by_id[item_id]["source"]].name,
                                published=by_id[item_id]["published"],
                                carried_by=(sources[plan["names"]["digest"], (by_id[item_id]["source"] + 7)
                                                    % SOURCES[plan["names"]["digest"]]].name,)
                                if rng.random() < 0.1 else ())
                    for item_id, n in cited if item_id in by_id)
                sections = tuple(Section(name, tuple(Sentence(line["text"], tuple(line["cites"]),
                                                              label=line.get("label", "")) for line in lines))
                                 for name, lines in article["sections"])
                texts = {s.text for sec in sections for s in sec.sentences}
                before = previous["all"] if previous else set()
                new_sources = [c.publisher for c in sources_list if previous is None
                               or c.item_id not in previous["numbers"]]
                changes = ((f"First version, written from {len(used)} sources.",) if previous is None else
                           (f"{len(new_sources)} new sources: {', '.join(new_sources)}.",
                            f"New: {next(iter(sorted(texts - before)), '')[:90]}"))
                headline = _title(rng, plan["names"])
                revision = Revision(
                    story_id=story_id, number=number, created=used[-1]["published"] + timedelta(hours=1),
                    headline=headline, sections=sections, sources=sources_list,
                    item_ids=tuple(it["id"] for it in used), changes=changes,
                    fact_check=tuple(FactCheck(c["sentence"], tuple(c["cites"]), c["model"], c["attribute"],
                                               c["value"], c["verdict"], tuple(c["evidence"]), c["claim"])
                                     for c in checks),
                    added=tuple(sorted(texts - before)) if previous else (),
                    removed=tuple(sorted(before - texts)) if previous else (),
                    numbering=tuple(sorted(article["numbers"].items())))
                writes.append((revision, hashlib.sha256(repr(revision.item_ids).encode()).hexdigest()))
                previous = {"numbers": article["numbers"], "all": texts}
        checked = []
        for plan in chunk:
            digest = plan["names"]["digest"]
            for it in plan["items"]:
                keyed = entries[it["url"]]
                item = Item(id=it["id"], url=it["url"], title=it["title"], text=keyed.entry.text,
                            publisher=keyed.entry.publisher, published=it["published"],
                            content_hash=keyed.content_hash)
                checked.append((item, [CheckedClaim(it["id"], c["sentence"], Claim(c["model"] or digest,
                                                                                   c["attribute"], c["value"]),
                                                    c["verdict"], tuple(Evidence(f, s) for f, s in c["evidence"]))
                                       for c in claims.get(it["id"], ())]))
        seconds["generate"] += time.perf_counter() - clock
        clock = time.perf_counter()
        store.save_claims(checked)
        made["claims"] += sum(len(found) for _, found in checked)
        seconds["claims"] += time.perf_counter() - clock
        clock = time.perf_counter()
        for revision, items_hash in writes:
            store.add_revision(revision, items_hash)
        made["revisions"] += len(writes)
        seconds["revisions"] += time.perf_counter() - clock
    counts = store.counts()
    store.close()
    return {"seconds": time.perf_counter() - started, "parts": seconds, "counts": counts, "made": made,
            "built": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}

# -- end of the synthetic store ---------------------------------------------------------------------------------


def generator_key() -> str:
    text = HERE.read_text(encoding="utf-8")
    start = text.index("# -- the synthetic store")
    end = text.index("# -- end of the synthetic store")
    return hashlib.sha256(text[start:end].encode()).hexdigest()[:12]


def ensure_built(stories: int, cache: Path, rebuild: bool) -> tuple[Path, dict, bool]:
    """(the store's folder, how it was built, whether it was built now)."""
    folder = cache / f"{generator_key()}-{stories}"
    done = folder / "built.json"
    if done.exists() and not rebuild:
        return folder, json.loads(done.read_text()), False
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    partial.mkdir(parents=True)
    print(f"building a store of {stories:,} stories in {folder} ...", flush=True)
    out = subprocess.run([sys.executable, str(HERE), "--child", "build", str(stories), str(partial)],
                         capture_output=True, text=True, cwd=ROOT, env=_env())
    if out.returncode != 0:
        raise SystemExit(f"building the store failed:\n{out.stderr[-3000:]}")
    info = json.loads(out.stdout.strip().splitlines()[-1])
    (partial / "built.json").write_text(json.dumps(info))
    partial.rename(folder)
    return folder, info, True


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


# -- the server ------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(db: Path, work: Path, profile_to: Path | None = None) -> tuple[subprocess.Popen, int]:
    """`tidings serve` on a free port (or, to profile, the same app under cProfile); wait until it answers."""
    port = free_port()
    if profile_to is None:
        command = [sys.executable, "-m", "tidings", "--quiet", "--db", str(db), "serve", "--host", HOST,
                   "--port", str(port)]
    else:
        command = [sys.executable, str(HERE), "--child", "profiled-server", str(db), str(port), str(profile_to)]
    err = open(work / "server.err", "w")  # noqa: SIM115 (open while the server runs)
    proc = subprocess.Popen(command, cwd=work, env=_env(), stdout=err, stderr=err)
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped (exit {proc.returncode}):\n{(work / 'server.err').read_text()}")
        try:
            if httpx.get(f"http://{HOST}:{port}/style.css", timeout=5).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("the server did not answer within 2 minutes")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def walk_list(port: int) -> tuple[list[str], list[tuple[int, str]]]:
    """Every cursor /api/stories gives out (50 a page) and every story it lists, (id, digest), walking it once."""
    import httpx

    cursors, stories = [], []
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=60) as client:
        cursor = None
        while True:
            answer = client.get("/api/stories", params={"cursor": cursor} if cursor else None)
            answer.raise_for_status()
            data = answer.json()
            stories += [(s["id"], s["digest"]) for s in data["stories"]]
            cursor = data["next_cursor"]
            if not cursor:
                return cursors, stories
            cursors.append(cursor)


# -- the load generator (its own process: asyncio on raw sockets) ------------------------------------------------

async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, int, bool]:
    """One request on a kept-alive connection: (status, body bytes, whether the server will close it)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at >= 0:
        size = int(lower[at + 17:lower.index(b"\r\n", at + 2)])
        await reader.readexactly(size)
    elif b"\r\ntransfer-encoding: chunked" in lower:
        size = 0
        while True:
            chunk = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(chunk + 2)
            size += chunk
            if chunk == 0:
                break
    else:
        size = 0
    return status, size, b"\r\nconnection: close" in lower


async def _drive(port: int, server: int, concurrency: int, warmup: list[str], paths: list[str]) -> dict:
    conns = [await asyncio.open_connection(HOST, port) for _ in range(concurrency)]
    host = f"Host: {HOST}:{port}\r\n\r\n".encode()

    async def worker(k: int, queue, latencies: list, tally: dict) -> None:
        reader, writer = conns[k]
        for path in queue:
            request = b"GET " + path.encode() + b" HTTP/1.1\r\n" + host
            began = time.perf_counter()
            try:
                status, size, closing = await _get(reader, writer, request)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                tally["errors"] += 1
                writer.close()
                reader, writer = conns[k] = await asyncio.open_connection(HOST, port)
                continue
            latencies.append(time.perf_counter() - began)
            tally["bytes"] += size
            if status != 200:
                tally["errors"] += 1
                tally.setdefault("statuses", {}).setdefault(str(status), 0)
                tally["statuses"][str(status)] += 1
            if closing:
                writer.close()
                reader, writer = conns[k] = await asyncio.open_connection(HOST, port)

    async def phase(todo: list[str]) -> tuple[list, dict, float]:
        queue = iter(todo)  # shared: each worker takes the next path when it is free
        latencies: list[float] = []
        tally = {"errors": 0, "bytes": 0}
        began = time.perf_counter()
        await asyncio.gather(*(worker(k, queue, latencies, tally) for k in range(concurrency)))
        return latencies, tally, time.perf_counter() - began

    await phase(warmup)
    server_cpu, own_cpu = cpu_seconds(server), time.process_time()
    latencies, tally, seconds = await phase(paths)
    server_cpu, own_cpu = cpu_seconds(server) - server_cpu, time.process_time() - own_cpu
    for _, writer in conns:
        writer.close()
    return {"latencies": latencies, "seconds": seconds, "server_cpu": server_cpu, "load_cpu": own_cpu, **tally}


def wait_until_idle(pid: int, limit: float = 600.0) -> float:
    """Seconds until the server has made its pages ahead of readers (`tidings serve` does so at start): until its
    CPU time stops growing for two seconds."""
    start = time.perf_counter()
    last, quiet = cpu_seconds(pid), 0
    while quiet < 2 and time.perf_counter() - start < limit:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now
    return time.perf_counter() - start - 2.0


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system, all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_child() -> None:
    """Read one scenario a line on stdin, answer one result a line on stdout."""
    for line in sys.stdin:
        spec = json.loads(line)
        result = asyncio.run(_drive(spec["port"], spec["server"], spec["concurrency"], spec["warmup"],
                                    spec["paths"]))
        print(json.dumps(result), flush=True)


class Load:
    """The load generator's process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE), "--child", "load"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)

    def run(self, port: int, server: int, concurrency: int, warmup: list[str], paths: list[str]) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"port": port, "server": server, "concurrency": concurrency,
                                          "warmup": warmup, "paths": paths}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the load generator stopped (exit {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


# -- the scenarios ---------------------------------------------------------------------------------------------

def scenarios(stories: list[tuple[int, str]], cursors: list[str], requests: int, warmup: int, cache_size: int,
              seed: int = 1) -> list[tuple[str, str, list[str], list[str]]]:
    """(key, label, warm-up paths, measured paths) in the order they run."""
    rng = random.Random(seed)

    def page(story: tuple[int, str]) -> str:
        return f"/{story[1]}/stories/{story[0]}.html"

    order = rng.sample(stories, len(stories))
    cold_warmup = [page(s) for s in order[:warmup]]
    cold = [page(s) for s in order[warmup:warmup + requests]]
    hot = cold[-min(len(cold), cache_size * 3 // 4):]
    mixed = [page(rng.choice(stories)) for _ in range(warmup + requests)]
    api_story = [f"/api/stories/{rng.choice(stories)[0]}" for _ in range(warmup + requests)]
    cursor = [f"/api/stories?cursor={rng.choice(cursors)}" for _ in range(warmup + requests)] if cursors else []
    return [
        ("static", "static /style.css (first)", ["/style.css"] * warmup, ["/style.css"] * requests),
        ("floor", "floor /api/docs (no store)", ["/api/docs"] * warmup, ["/api/docs"] * requests),
        ("cold", "story pages, cold", cold_warmup, cold),
        ("warm", "story pages, warm", [rng.choice(hot) for _ in range(warmup)],
         [rng.choice(hot) for _ in range(requests)]),
        ("mixed", "story pages, mixed", mixed[:warmup], mixed[warmup:]),
        ("first", "api, first page", ["/api/stories"] * warmup, ["/api/stories"] * requests),
        ("cursor", "api, cursor pages", cursor[:warmup], cursor[warmup:]),
        ("story", "api, story", api_story[:warmup], api_story[warmup:]),
        ("static2", "static /style.css (last)", ["/style.css"] * warmup, ["/style.css"] * requests),
    ]


def hit_rate(sequence: list[str], measured: int, size: int) -> float:
    """The share of the last `measured` requests an LRU of `size` pages answers, sending `sequence` in order."""
    lru: OrderedDict[str, None] = OrderedDict()
    hits = 0
    for k, path in enumerate(sequence):
        if path in lru:
            lru.move_to_end(path)
            hits += k >= len(sequence) - measured
        else:
            lru[path] = None
            if len(lru) > size:
                lru.popitem(last=False)
    return hits / max(measured, 1)


def summary(result: dict) -> dict:
    lat = sorted(result["latencies"])
    n = len(lat)

    def pct(p: float) -> float:
        return lat[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    return {"n": n, "rate": n / result["seconds"] if result["seconds"] else 0.0, "p50": pct(0.50),
            "p95": pct(0.95), "p99": pct(0.99), "errors": result["errors"],
            "kb": result["bytes"] / max(n, 1) / 1024, "statuses": result.get("statuses", {}),
            "server_ms": result["server_cpu"] / max(n, 1) * 1000, "load_ms": result["load_cpu"] / max(n, 1) * 1000}


# -- where the time goes (in-process) ----------------------------------------------------------------------------

def breakdown_child(db: str) -> None:
    """Time the parts of a story page and of a list page, one thread, in this process; print JSON."""
    sys.path.insert(0, str(ROOT))
    from tidings.config import Config
    from tidings.publish import pages
    from tidings.publish.serialize import story_summary
    from tidings.publish.site import render_version
    from tidings.store import Store
    from tidings.web.app import Site, _etag

    store = Store(db)
    site = Site(store, Config().site_url)
    rng = random.Random(7)
    stories = [(s.id, s.digest) for s in store.stories()]
    sample = rng.sample(stories, min(200, len(stories)))
    parts: dict[str, float] = {}

    def timed(name: str, call, runs: list) -> list:
        out = []
        began = time.perf_counter()
        for args in runs:
            out.append(call(*args))
        parts[name] = (time.perf_counter() - began) / max(len(runs), 1) * 1000
        return out

    once = [()] * 200
    digests = store.digests()
    timed("store.data_version()", store.data_version, once)
    timed("render_version() (templates read and hashed)", lambda: render_version(store.digests(), site.site_url),
          once)
    timed("store.redirects()", store.redirects, once)
    timed("site.digest(slug)", site.digest, [(d,) for _, d in sample])
    found = timed("site.story(id, slug)", site.story, sample)
    revisions = timed("store.revisions(id)", store.revisions, [(s.id,) for s in found])
    by_slug = {d.slug: d for d in digests}
    bodies = timed("render story.html", lambda s, r: pages.story_page(site.env, by_slug[s.digest], s, r),
                   list(zip(found, revisions, strict=True)))
    timed("sha256 ETag of the page", lambda b: _etag(b.encode()), [(b,) for b in bodies])
    ids = timed("store.story_ids_page(limit 51)", lambda: store.story_ids_page(None, None, 51, None), [()] * 50)[0]
    listed = timed("store.stories_by_id(50)", store.stories_by_id, [(ids[:50],)] * 50)[0]
    latest = timed("store.latest_revisions(50)", store.latest_revisions, [([s.id for s in listed],)] * 50)[0]
    timed("50 story_summary() + json.dumps", lambda: json.dumps(
        {"stories": [story_summary(s, latest.get(s.id)) for s in listed]}, ensure_ascii=False), [()] * 50)
    sizes = {"page_kb": sum(len(b.encode()) for b in bodies) / len(bodies) / 1024,
             "revisions": sum(len(r) for r in revisions) / len(revisions)}
    print(json.dumps({"parts": parts, "sizes": sizes}))


def profiled_server_child(db: str, port: int, out: str) -> None:
    """The app of `tidings serve` under cProfile: the event loop's thread, and each thread-pool thread (where the
    sync routes run), merged into one file when the server is stopped. Each thread's own CPU time is what is
    counted, so time spent waiting (for the GIL, a pooled connection, the next request) is left out."""
    import cProfile
    import functools
    import pstats
    import threading

    import fastapi.routing
    import uvicorn

    sys.path.insert(0, str(ROOT))
    from tidings.config import Config
    from tidings.web.app import create_app

    local, profiles, lock = threading.local(), [], threading.Lock()

    def call_profiled(func, *args, **kwargs):
        prof = getattr(local, "prof", None)
        if prof is None:
            prof = local.prof = cProfile.Profile(time.thread_time)
            with lock:
                profiles.append(prof)
        prof.enable()
        try:
            return func(*args, **kwargs)
        finally:
            prof.disable()

    in_threads = fastapi.routing.run_in_threadpool

    @functools.wraps(in_threads)
    async def run_in_threadpool(func, *args, **kwargs):
        return await in_threads(call_profiled, func, *args, **kwargs)

    fastapi.routing.run_in_threadpool = run_in_threadpool
    app = create_app(Config(db=db))
    main = cProfile.Profile(time.thread_time)
    main.enable()
    try:
        uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False)
    except KeyboardInterrupt:
        pass
    finally:
        main.disable()
        stats = pstats.Stats(main)
        for prof in profiles:
            stats.add(prof)
        stats.dump_stats(out)


def print_profile(path: Path, top: int = 30) -> None:
    import io
    import pstats

    for key in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(str(path), stream=buffer).strip_dirs().sort_stats(key).print_stats(top)
        lines = buffer.getvalue().splitlines()
        start = next((k for k, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
        print(f"\nprofile, CPU time by {key} (event loop thread + thread pool, all scenarios run):")
        print("\n".join(lines[start:]))


# -- output ----------------------------------------------------------------------------------------------------

def line(label: str, s: dict, base: float | None, note: str = "") -> str:
    ratio = f"{s['rate'] / base:6.0%}" if base else f"{'base':>6}"
    return (f"  {label:<26} {s['n']:>8,} {s['rate']:>8.0f} {s['p50']:>7.1f} {s['p95']:>7.1f} {s['p99']:>7.1f} "
            f"{s['errors']:>6} {ratio}  {s['kb']:6.1f} {s['server_ms']:6.2f} {s['load_ms']:6.2f}{note}")


def report_breakdown(data: dict, results: dict[str, dict]) -> None:
    parts = data["parts"]
    print(f"\nwhere the time goes, in-process, one thread, ms per call (average page {data['sizes']['page_kb']:.1f} KB,"
          f" {data['sizes']['revisions']:.2f} revisions a story):")
    for name, ms in parts.items():
        print(f"  {name:<46} {ms:8.2f}")
    version = parts["store.data_version()"] + parts["render_version() (templates read and hashed)"]
    # A kept page is found by its address alone (the data version is asked for at most once a second), so a hit
    # costs a lookup; a miss looks the story up, reads its revisions and renders.
    hit = 0.0
    miss = (version + parts["store.redirects()"] + parts["site.story(id, slug)"] + parts["site.digest(slug)"]
            + parts["store.revisions(id)"] + parts["render story.html"] + parts["sha256 ETag of the page"])
    api = sum(v for k, v in parts.items() if k.startswith(("store.story_ids_page", "store.stories_by_id",
                                                             "store.latest_revisions", "50 story_summary")))
    sums = {"static": hit, "warm": hit, "cold": miss, "first": api}
    labels = {"static": "/style.css (found in the page cache)", "warm": "a story page found in the cache",
              "cold": "a story page rendered (a miss)", "first": "an /api/stories page made (then kept)"}
    print(f"  {'':<46} {'parts':>8} {'srv ms':>8} {'rest':>8}   (srv ms: the server's CPU per request under load; "
          "rest: uvicorn, Starlette/FastAPI, the thread pool and contention)")
    for key, ms in sums.items():
        measured = results.get(key, {}).get("server_ms")
        extra = f"{measured:8.2f} {measured - ms:8.2f}" if measured is not None else ""
        print(f"  {'= ' + labels[key]:<46} {ms:8.2f} {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=10_000, help="stories in the store (default 10000)")
    parser.add_argument("--requests", type=int, default=1000, help="measured requests per scenario")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent keep-alive connections")
    parser.add_argument("--warmup", type=int, default=100, help="requests per scenario before measuring")
    parser.add_argument("--cache", default="/tmp/tidings-bench-serve", help="where built stores are kept")
    parser.add_argument("--rebuild", action="store_true", help="build the store again even if cached")
    parser.add_argument("--profile", action="store_true", help="run the server under cProfile and print where "
                                                               "its time goes (the rates are then not comparable)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tidings.web.app import PAGE_CACHE_BYTES

    page_cache = PAGE_CACHE_BYTES // PAGE_BYTES  # pages of about the size these stores' story pages are

    cache = Path(args.cache).resolve()
    folder, built, fresh = ensure_built(args.stories, cache, args.rebuild)
    db = folder / "tidings.db"
    c = built["counts"]
    size = sum(p.stat().st_size for p in folder.glob("tidings.db*")) / 2**20
    parts = ", ".join(f"{k} {v:.0f}" for k, v in built["parts"].items())
    print(f"store: {c['stories']:,} stories, {c['revisions']:,} revisions, {c['items']:,} items, {c['sources']} "
          f"sources, {built['made']['claims']:,} checked claims; {size:,.0f} MB; {folder}")
    print(f"  {'built now' if fresh else 'built ' + built['built']} in {built['seconds']:.0f} s (seconds: {parts})")
    work = Path(tempfile.mkdtemp(prefix="tidings-bench-serve-"))
    profile_to = work / "server.prof" if args.profile else None
    load_before = os.getloadavg()
    proc, port = start_server(db, work, profile_to)
    warmed = wait_until_idle(proc.pid)
    load = Load()
    results: dict[str, dict] = {}
    try:
        cursors, stories = walk_list(port)
        if len(stories) != c["stories"] or len({s for s, _ in stories}) != len(stories):
            raise SystemExit(f"/api/stories listed {len(stories)} stories ({len({s for s, _ in stories})} distinct) "
                             f"of {c['stories']}")
        plan = scenarios(stories, cursors, args.requests, args.warmup, page_cache)
        if args.profile:
            plan = [p for p in plan if p[0] in ("static", "floor", "mixed", "first")]
        story_sequence: list[str] = []
        mixed_hits = None
        for key, label, warmup, paths in plan:
            if key in ("cold", "warm", "mixed"):
                story_sequence += warmup + paths
                if key == "mixed":
                    mixed_hits = hit_rate(story_sequence, len(paths), page_cache)
            results[key] = {"label": label, **summary(load.run(port, proc.pid, args.concurrency, warmup, paths))}
            print(f"  ... {label}: {results[key]['rate']:.0f} req/s", file=sys.stderr, flush=True)
    finally:
        load.close()
        stop_server(proc)
    load_after = os.getloadavg()
    cpus = os.cpu_count()
    print(f"server: `tidings --quiet --db STORE serve` at {HOST}:{port}: uvicorn, 1 worker process (sync routes "
          f"in its thread pool), page cache of {PAGE_CACHE_BYTES // 2**20} MB (about {page_cache:,} story pages)"
          + (" -- UNDER cProfile: rates not comparable" if args.profile else ""))
    print(f"pages made ahead of readers at start: the server was busy for {warmed:.0f} s before the runs began")
    print(f"load: {args.concurrency} keep-alive connections from one separate asyncio process (raw HTTP/1.1), "
          f"{args.warmup} warm-up + {args.requests} measured requests per scenario; server and load generator "
          f"share this machine's {cpus} CPUs; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    statics = [results[k]["rate"] for k in ("static", "static2") if k in results]
    base = sum(statics) / len(statics)
    print(f"\n  {'scenario':<26} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'errors':>6} {'/static':>6}  {'KB/ans':>6} {'srv ms':>6} {'gen ms':>6}")
    for key, r in results.items():
        note = f"  (an LRU of the cache alone would hit ~{mixed_hits:.0%})" if key == "mixed" and mixed_hits else ""
        if key == "cold":
            note = "  (first visits: pages made ahead by the server)"
        if key == "warm":
            note = "  (pages visited before)"
        print(line(r["label"], r, None if key.startswith("static") else base, note))
        if r["statuses"]:
            print(f"      statuses other than 200: {r['statuses']}")
    print(f"  static baseline: {base:.0f} req/s, the mean of the first and last runs (/style.css comes from the app's "
          "page cache, as a story page already made does)")
    print("  KB/ans: body per answer; srv ms, gen ms: CPU time the server, the load generator used per measured "
          "request (all their threads)")
    print(f"\ntargets: story pages >= {TARGET_SHARE:.0%} of the static-file rate, p95 <= {TARGET_P95:.0f} ms "
          f"(at {args.concurrency} clients; {args.stories:,} stories)")
    for key in ("cold", "warm", "mixed"):
        if key in results:
            r = results[key]
            share, p95 = r["rate"] / base, r["p95"]
            print(f"  {r['label']:<26} rate {share:5.0%} of static: {'met' if share >= TARGET_SHARE else 'missed'};"
                  f" p95 {p95:.1f} ms: {'met' if p95 <= TARGET_P95 else 'missed'}")
    print(f"  note: {args.concurrency} clients in a closed loop wait {args.concurrency} / rate on average, so a p95 "
          f"of {TARGET_P95:.0f} ms needs a rate above about {args.concurrency * 1000 / TARGET_P95:.0f} req/s")
    if args.profile:
        kept = cache / f"server-{args.stories}.prof"
        shutil.copyfile(profile_to, kept)
        print_profile(kept)
        print(f"\nthe whole profile: python -m pstats {kept}")
    else:
        out = subprocess.run([sys.executable, str(HERE), "--child", "breakdown", str(db)], capture_output=True,
                             text=True, cwd=ROOT, env=_env())
        if out.returncode != 0:
            print(f"\n(the in-process breakdown failed: {out.stderr[-2000:]})")
        else:
            report_breakdown(json.loads(out.stdout.strip().splitlines()[-1]), results)
    shutil.rmtree(work, ignore_errors=True)
    print(f"\nrerun: .venv/bin/python bench/serve.py --stories {args.stories} --requests {args.requests} "
          f"--concurrency {args.concurrency} --cache {cache}")


def child(argv: list[str]) -> None:
    kind, rest = argv[0], argv[1:]
    if kind == "load":
        load_child()
        return
    sys.path.insert(0, str(ROOT))
    if kind == "build":
        print(json.dumps(build(int(rest[0]), Path(rest[1]))))
    elif kind == "breakdown":
        breakdown_child(rest[0])
    elif kind == "profiled-server":
        profiled_server_child(rest[0], int(rest[1]), rest[2])
    else:
        raise SystemExit(f"unknown child {kind}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
