"""Freshness at scale: how long `tidings run` takes, and how much memory it holds, on stores of 10k, 50k and 100k
items when nothing changed, when 1 new item arrives and when 100 do, beside a full `tidings publish --all` of the
same store measured in the same run.

The stores are built as a deployment would fill them: a synthetic, seeded corpus of local RSS files (no network)
fed through `tidings.pipeline.run` one day at a time (as `tidings demo` does), about 1,000 items a day, the site
published after the last day. The corpus has ~15 items per storyline (6,700 storylines at 100k items), each with
its own made-up place, organisation, person and project name on one of 40 topics, told in varied sentences by
several of 200 feeds over one to five days; one storyline in seven comes back one to three weeks later (dormant
stories revived), one item in twenty is carried by a second feed, and tech storylines cite real models from the
knowledge base (some figures wrong), so the check stage has claims to check. Two digests, 120 + 80 feeds (a few
busy, most quiet), each holding its latest 60 items. `fetch_full_text` is off: the feeds carry whole articles.

Each measurement runs on a fresh copy of the built store, its feed files and its site, in a fresh process, so its
peak RSS (VmHWM, read from /proc/self/status by the process itself) is its own:

  no-op        `tidings run` with nothing changed
  1 new item   one item continuing a storyline active on the last day, added to one feed: the wall time of the
               process, its time per stage, and the time from the process' start until that story's page on disk
               (the page that listed the storyline's previous item) lists the new one's link under its sources
               (polled every 10 ms by this process; a link is unique, a title may repeat an earlier one)
  100 new      100 such items across feeds (100 storylines): the same, "on page" when the last of their pages has it
  publish      `tidings publish --all`, the full rebuild (plain `tidings publish` where --all does not exist
               yet; the output says so): the baseline the runs are set beside

The commands run through the CLI (`tidings.cli`), with one change: the run's clock is set to an hour after the
last day's run (the CLI has no option for it; the new items are dated half an hour after it), so the stories are
as fresh as on the day they were built.
"startup" is the process' time outside `run` (interpreter, imports, config, exit), "store" the time inside `run`
outside its stages (opening the store, the run lock, closing the store: SQLite's checkpoint); the fetch stage
includes syncing the config's sources.
Each figure is one run (--repeat N: the fastest of N): on a shared machine single runs vary by tens of percent,
even twofold, so the load average is printed too.

Built stores are cached in --cache (default /tmp/tidings-bench-fresh/), one folder per size and hash of the
corpus generator, store, site and feeds together (about 0.2, 0.55 and 1.1 GB; the runs need room for one more
copy); reruns measure at once. Before measuring, a cached store is brought up to the tidings of the day with a
`tidings publish` (schema migrations; pages rendered again if templates changed) and with the writer's notes of
the live stories' items taken again if the code that takes them changed, so the runs time their own work only.
--rebuild builds again: do so after changes to how tidings reads feeds, clusters, checks or writes, since a
cached store was built by the code of its day (a store whose entry fingerprints an older reader made has every
entry of a changed feed read again once, and the 100-item run would time that). A first build takes a while: on a
2-CPU machine shared with other work, about 3 minutes for 10k items, 20 for 50k and 35 for 100k (about an hour for
all three), then a few minutes of runs.

    python bench/fresh.py [--sizes 10000,50000,100000] [--cache DIR] [--rebuild] [--repeat N]

Targets (100k items): no-op run <= 2 s, 1 new item on its story's page <= 2 s after `tidings run` starts, 100 new
items <= 5 s, peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve()
RESULT = "BENCH-RESULT "  # the line a measured child prints last on stderr
LINK = re.compile(r'href="(https://[a-z]+-\d+\.example/[^"]+)"')  # a synthetic item's link on a page
TARGETS = {"noop": 2.0, "one": 2.0, "hundred": 5.0, "rss": 300.0}  # seconds, seconds to page, seconds, MB

# -- the synthetic corpus (its text is hashed into the cache key: change it and stores are built again) ---------

SEED = 20260105
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; the first day of every corpus
ITEMS_PER_DAY = 1000
RUN_HOUR = 23  # each day's run happens at 23:00; that day's items are dated before it
FEEDS = {"region": 120, "tech": 80}  # feeds per digest
FEED_WINDOW = 60  # items a feed file holds (its newest): more than the busiest feed publishes in a day
SYNDICATED = 0.05  # share of items a second feed carries too
REVIVED = 1 / 7  # share of storylines that come back after going dormant
STORY_WORDS = 0.75  # how often a slot takes a word from its storyline's own lexicon rather than the whole list

DIGESTS = [
    {"slug": "region", "title": "Regional affairs",
     "description": "Councils, transport, health, housing, energy and the environment across the region's towns: "
                    "what was decided, what it costs and who is affected.",
     "keywords": ["council", "transport", "hospital", "housing", "energy", "flood", "budget", "residents"]},
    {"slug": "tech", "title": "Technology & AI",
     "description": "Companies, products and research in computing and AI: model releases, benchmarks, chips, "
                    "data centres and the claims made about them.",
     "keywords": ["model", "benchmark", "parameters", "chip", "data centre", "software", "startup", "research"]},
]

# topic: "the thing|words of the trade"; a storyline is about one thing in one place, by one organisation.
TOPICS = {
    "region": [
        "tidal barrier|surge seawall harbour engineers floodgate concrete tides embankment",
        "hospital strike|nurses wards ballot pay union shifts patients walkout",
        "tram extension|tracks depot stops passengers timetable overhead rails tunnel",
        "housing scheme|flats tenants rents planners homes developer plots affordable",
        "bridge repair|girders cracks inspection traffic closure steelwork diversion bearings",
        "school merger|pupils teachers governors catchment classrooms parents headteacher enrolment",
        "wind farm|turbines offshore cable substation megawatts auction seabed blades",
        "water shortage|reservoir rainfall hosepipe ban leakage supply pumping aquifer",
        "bus network|routes fares drivers depot services timetable ridership subsidy",
        "airport expansion|runway flights terminal noise passengers slots apron aviation",
        "landfill closure|waste recycling methane leachate haulage tonnes incinerator site",
        "museum reopening|galleries collection curators exhibition visitors restoration archive loans",
        "port dredging|channel vessels berths silt cargo pilots draught quay",
        "forest fire|blaze firefighters hectares evacuation smoke crews containment scrub",
        "library cuts|branches opening hours volunteers books closures readers borrowing",
        "heat network|boilers pipes district heating tariffs radiators plant connections",
        "rail timetable|trains platforms signalling delays carriages commuters junction franchise",
        "flood defences|river levees pumps sandbags embankments floodplain gauges warnings",
        "police reform|officers patrols stations recruitment custody neighbourhood complaints oversight",
        "market hall|traders stalls rents footfall refurbishment leases vendors square",
        "stadium plan|seats club supporters pitch capacity stands matchday parking",
        "ferry service|crossings vessels sailings islanders timetable fares harbour breakdown",
        "care homes|residents carers inspections beds staffing fees relatives regulator",
        "road tolls|charges motorists congestion cameras revenue exemptions ring road",
    ],
    "tech": [
        "language model|weights tokens context inference checkpoint release training parameters",
        "chip plant|wafers fab lithography nanometre foundry yields cleanroom semiconductors",
        "data centre|servers cooling megawatts racks grid campus hyperscale water",
        "benchmark suite|scores leaderboard tasks evaluation harness accuracy baselines contamination",
        "robotics startup|robots actuators warehouse grippers funding prototypes pilots autonomy",
        "cloud outage|servers region downtime customers engineers incident failover latency",
        "quantum computer|qubits error correction coherence processor cryogenic gates fidelity",
        "browser update|extensions tabs privacy trackers engine users release patch",
        "satellite launch|rocket orbit payload constellation antenna broadband ground station",
        "open source licence|maintainers contributors repository fork licence code governance",
        "battery factory|cells cathode gigawatt hours lithium anodes production line",
        "chatbot rollout|assistant users prompts moderation subscriptions languages replies",
        "security breach|attackers passwords ransomware patch vulnerability logins encryption",
        "speech recognition|transcripts accents audio microphones errors dictation languages",
        "self driving trial|vehicles sensors lidar passengers safety drivers routes permits",
        "research paper|authors arxiv experiments dataset ablation preprint reviewers citations",
    ],
}

# The grammar: every slot is drawn from a long list, so no two articles share much wording (word 3-grams, which
# near-duplicate folding compares) beyond their storyline's names, as with real reports of one story.
GROUPS = ("engineers residents auditors inspectors analysts campaigners lawyers economists contractors landlords "
          "farmers doctors teachers students pensioners drivers planners surveyors ministers councillors trustees "
          "suppliers lenders insurers scientists volunteers tenants operators technicians researchers developers "
          "customers shareholders journalists observers shopkeepers commuters regulators investors officials "
          "architects accountants advisers bankers builders carers chemists clerks consultants cyclists designers "
          "electricians employers farmworkers fishermen geologists historians hoteliers inventors judges "
          "labourers librarians managers mechanics midwives miners musicians neighbours nurses owners parents "
          "pharmacists pilots plumbers porters priests professors publishers retailers sailors shipbuilders "
          "statisticians surgeons tourists traders translators vets voters welders wholesalers").split()
SAYS = ("said warned argued estimated claimed insisted conceded revealed suggested predicted confirmed denied "
        "complained acknowledged noted stressed maintained cautioned admitted reported").split()
DOES = ["would delay", "had underestimated", "could expand", "must rethink", "had approved", "planned to audit",
        "would publish", "had rejected", "was reviewing", "wanted to cut", "might postpone", "hoped to finish",
        "failed to disclose", "agreed to fund", "refused to sign", "was preparing", "struggled with", "had doubled",
        "quietly dropped", "would renegotiate", "was still studying", "tried to shorten", "could lose",
        "expected to recover", "was ready to defend", "had mishandled", "must replace", "aimed to simplify",
        "had already spent", "would test", "questioned", "welcomed", "criticised", "backed", "opposed"]
WE_DO = ["will review", "cannot accept", "have funded", "must rethink", "will publish", "did not expect",
         "have rejected", "stand by", "are still studying", "want to cut", "never saw", "will fight"]
ADJECTIVES = ("revised original disputed delayed expanded temporary permanent preliminary final confidential "
              "costly ambitious modest controversial overdue detailed partial independent emergency annual draft "
              "second upgraded ageing rival cheaper larger smaller faster safer official unpublished joint leaked "
              "provisional amended outdated regional national interim bold cautious unusual crucial fragile "
              "generous hasty hidden narrow rigid robust shaky slim stark strict sweeping tentative thorough tight "
              "vague vital weak wider abrupt awkward binding blunt brief broad candid chaotic clumsy compact complex "
              "decisive dense deliberate dramatic drastic dubious early eventual exhaustive explicit fierce firm "
              "flexible formal frank gradual grim hefty heated historic honest huge immediate informal initial "
              "intense lengthy likely local major marginal massive minor moderate municipal muted notable novel "
              "obscure odd open ordinary overall parallel patchy pending pivotal plain polished precise private "
              "prompt public quiet rapid rare recent refined reluctant remote renewed repeated rough routine rushed "
              "scathing secret senior serious sharp short simple sizeable solid sparse specific speedy stalled "
              "steady sudden surprise swift symbolic technical thin timely tough troubled unclear uneven unexpected "
              "unfinished urgent vast visible voluntary wary").split()
NOUNS = ("budget timetable contract survey report estimate proposal inquiry audit deadline agreement consultation "
         "forecast design tender licence permit schedule policy review study assessment loan subsidy "
         "compensation settlement warranty invoice blueprint prototype framework roadmap strategy pilot appeal "
         "complaint petition ruling guidance target quota ballot bid bond briefing bulletin campaign charter "
         "checklist claim clause code commitment compromise concession count credit database debate decree "
         "deposit directive dispute dossier enquiry exemption expenditure fine fund grant hearing incentive index "
         "inventory investigation levy list loophole manifesto mandate memo merger motion notice offer order "
         "outline overhaul package pact payment penalty pledge poll portfolio premium projection quote rebate "
         "recommendation referendum register regulation rent reserve resolution response revenue risk roster "
         "salary sanction scheme spreadsheet standard statement statute stipend summary surcharge tariff tax "
         "testimony threshold transcript treaty trial ultimatum update valuation verdict vote waiver warning "
         "allowance archive benchmark blockade bottleneck bursary calendar census certificate clearance "
         "covenant curfew dividend easement embargo endowment franchise guarantee injunction insurance lease "
         "ledger margin mortgage overdraft patent pension prospectus quarantine ransom receipt royalty "
         "shortfall sponsorship subpoena surplus tribunal turnover").split()
OPENERS = ["", "", "", "On {weekday}, ", "In a statement, ", "Speaking in {place}, ", "Earlier this week, ",
           "According to {org}, ", "Late on {weekday}, ", "In {month}, ", "Meanwhile, ", "By contrast, "]
MODIFIERS = ["", "", " by {month}", " before the end of {month}", " within {small} weeks", " after the {adj} {noun}",
             " despite the {adj} {noun}", " without a {noun}", " for the first time since {year}",
             " at a cost of {money}", " on {weekday}", " ahead of the {adj} {noun}", " in {district}",
             " under pressure from {group}", " for {number} households", " after {pct} percent of {group} objected"]
SENTENCES = [
    "{opener}{subject} {says} that {subject2} {does} the {adj} {object}{mod}.",
    "{opener}{subject} {does} the {adj} {noun} for the {code} {thing}{mod}.",
    "The {adj} {object} now accounts for {pct} percent of the {adj2} {noun}, {subject} {says}.",
    "{Subject} put the cost of the {adj} {object} at {money}{mod}.",
    "\"We {we_do} the {adj} {noun},\" said {person2} of the {committee}{mod}.",
    "About {number} {group} {says} the {adj} {object} {did}{mod}.",
    "{opener}the {committee} {does} the {adj} {noun} of {subject}{mod}.",
    "{Subject} {says} that the {object} in {district} {state}.",
    "The {adj} {noun} on the {object} {state}, {says} {person}.",
    "{opener}{group} in {district} {does} the {adj} {object}{mod}.",
]
STATES = ["was running late", "was on track", "needed {money} more", "would be cut by {pct} percent",
          "had been paused", "had passed its review", "faced a legal challenge", "was ahead of schedule",
          "would be finished by {month}", "had cleared the {committee}", "would be scaled back",
          "was under review by {group}"]
DID = ["was flawed", "had been rushed", "came too late", "was long overdue", "looked reasonable",
       "ignored {group}", "would cost too much", "was a good start"]
LEADS = [
    "{org} said on {weekday} that the {code} {thing} in {place} {state}.",
    "The {code} {thing} in {place} {state}, {org} confirmed on {weekday}.",
    "{person} of {org} told reporters in {place} that the {code} {thing} {state}.",
    "Work on the {code} {thing} at {place} {state}, according to {org}.",
    "Officials in {place} said the {code} {thing} run by {org} {state}.",
]
TITLES = [
    "{place} {thing} {faces} {adj} {noun}", "{org} {faces} {adj} {noun} over {code} plan",
    "{person} {says3} {code} project {state}", "{code}: {group} {does} {adj} {noun}", "{place} {noun} {state}",
    "{group} in {place} {does} {code} {noun}", "{committee} {faces} {adj} {noun} in {place}",
]
FACES = "faces wins loses gets needs seeks delays revives drops confirms publishes signs".split()
SAYS3 = "says warns claims admits insists predicts denies".split()
FIRST = ("Amara Bjorn Chiara Dmitri Elena Farid Greta Hiro Ines Jonas Kaya Lucas Mirela Nadia Oskar Priya Quentin "
         "Rosa Samir Tamsin Ulla Viktor Wen Yusuf Aino Bruno Carmen Dario Esther Felix Gaia Hugo Ilse Jamal Keiko "
         "Lena Marco Nora Omar Paula Rui Sofia Tomas Uma Vera Wim Xenia Yara Zoran").split()
SUFFIXES = ["Holdings", "Transit", "Health Trust", "Labs", "Energy", "Council", "Works", "Group", "Systems",
            "Authority", "Partners", "Foundation", "Institute", "Networks", "Dynamics", "Infrastructure"]
COMMITTEES = ["Board", "Committee", "Panel", "Commission", "Tribunal", "Forum", "Assembly", "Trust"]
ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "kl", "l", "m", "n", "p", "r", "s", "st", "t", "tr",
          "v", "w", "z"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]
CODAS = ["", "n", "r", "l", "s", "th", "m", "nd", "rk", "x"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
# Real models with their parameter counts (billions) from the built-in knowledge base: tech storylines cite one.
KB_MODELS = [("gpt-oss-120b", 117), ("gpt-oss-20b", 21), ("Llama 3.1 70B", 70), ("Llama 3.1 405B", 405),
             ("Llama 4 Maverick", 400), ("DeepSeek-V3", 671), ("Qwen3-235B-A22B", 235), ("Gemma 3 27B", 27)]
CLAIMS = ["{org} compared its {code} system with {model}, which has {params} billion parameters.",
          "The {code} team said its results beat {model}, a model with {params} billion parameters."]


@dataclass
class Storyline:
    """One story as the world tells it: its names, its words, its digest, and when and where its items appear."""

    id: int
    digest: str
    thing: str
    words: list[str]  # the trade's words this storyline uses
    lexicon: dict[str, list[str]]  # its own share of the adjectives, nouns and groups: what its reports talk about
    place: str
    district: str
    org: str
    committee: str
    person: str
    person2: str
    code: str
    model: tuple[str, int] | None
    schedule: list[tuple[datetime, tuple[str, ...]]] = field(default_factory=list)  # (published, feeds)


def made_up_word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(syllables))


def feed_names() -> dict[str, list[str]]:
    return {digest: [f"{digest}-{n:03d}" for n in range(count)] for digest, count in FEEDS.items()}


def days_for(size: int) -> int:
    return -(-size // ITEMS_PER_DAY)


def end_of(size: int) -> datetime:
    """When the last day's run happens."""
    return START + timedelta(days=days_for(size) - 1, hours=RUN_HOUR)


def new_storyline(n: int, size: int, feeds: dict[str, list[str]]) -> Storyline:
    """Storyline n of a corpus of `size` items: its names, and its items' dates and feeds (never after the end)."""
    rng = random.Random(f"{SEED}:{n}")
    digest = "region" if rng.random() < 0.6 else "tech"
    model = None
    if digest == "tech" and rng.random() < 0.4:
        name, params = rng.choice(KB_MODELS)
        model = (name, params if rng.random() < 0.8 else params * rng.choice((2, 3)))  # one in five is wrong
    thing, words = rng.choice(TOPICS[digest]).split("|")

    def name(syllables: int) -> str:
        return made_up_word(rng, syllables).capitalize()

    lexicon = {"adj": rng.sample(ADJECTIVES, 6), "noun": rng.sample(NOUNS, 8), "group": rng.sample(GROUPS, 4)}
    line = Storyline(n, digest, thing, rng.sample(words.split(), 3), lexicon, name(2), name(2),
                     f"{name(2)} {rng.choice(SUFFIXES)}", f"{name(2)} {rng.choice(COMMITTEES)}",
                     f"{rng.choice(FIRST)} {name(3)}", f"{rng.choice(FIRST)} {name(2)}", name(3), model)
    end = end_of(size)
    first_day = rng.randrange(days_for(size))
    span = rng.uniform(0.5, 5.0)
    count = max(2, int(rng.lognormvariate(2.6, 0.5)))
    times = sorted(rng.uniform(0, span) for _ in range(count))
    if rng.random() < REVIVED:
        back = span + rng.uniform(8, 22)
        times += sorted(back + rng.uniform(0, 1.5) for _ in range(rng.randint(2, 4)))
    weights = [1 / (k + 1) ** 0.5 for k in range(len(feeds[digest]))]  # a few busy feeds, many quiet ones
    for t in times:
        day = first_day + int(t)
        when = START + timedelta(days=day, hours=rng.uniform(0, RUN_HOUR - 0.1))
        if when > end:
            break
        chosen = rng.choices(feeds[digest], weights)[0]
        carriers = (chosen, rng.choice(feeds[digest])) if rng.random() < SYNDICATED else (chosen,)
        line.schedule.append((when, tuple(dict.fromkeys(carriers))))
    line.schedule.sort()
    return line


def plan(size: int) -> list[Storyline]:
    """Storylines whose items add up to exactly `size` (the last one cut short)."""
    feeds = feed_names()
    lines, total, n = [], 0, 0
    while total < size:
        line = new_storyline(n, size, feeds)
        n += 1
        line.schedule = line.schedule[:size - total]
        if line.schedule:
            lines.append(line)
            total += len(line.schedule)
    return lines


def item_url(line: Storyline, k: int, feed: str) -> str:
    return f"https://{feed}.example/{line.code.lower()}/{line.id}-{k}.html"


def item_text(line: Storyline, k: int) -> tuple[str, list[str]]:
    """(title, paragraphs) of item k of a storyline: a lead naming its place, project and organisation, then five
    to nine sentences of the grammar about its people, committee, district and words."""
    rng = random.Random(f"{SEED}:{line.id}:{k}")

    def pick(kind: str, pool: list[str]) -> str:
        return rng.choice(line.lexicon[kind] if rng.random() < STORY_WORDS else pool)

    def fill(template: str) -> str:
        slots = {"place": line.place, "district": line.district, "org": line.org, "committee": line.committee,
                 "person": line.person, "person2": line.person2, "code": line.code, "thing": line.thing,
                 "weekday": rng.choice(WEEKDAYS), "month": rng.choice(MONTHS), "year": rng.randint(1975, 2023),
                 "money": f"{rng.randint(3, 900)} million euros", "number": f"{rng.randint(12, 4800):,}",
                 "pct": rng.randint(3, 95), "small": rng.randint(2, 12), "group": pick("group", GROUPS),
                 "adj": pick("adj", ADJECTIVES), "adj2": pick("adj", ADJECTIVES), "noun": pick("noun", NOUNS),
                 "says": rng.choice(SAYS), "says3": rng.choice(SAYS3), "faces": rng.choice(FACES),
                 "does": rng.choice(DOES), "we_do": rng.choice(WE_DO)}
        slots["object"] = rng.choice([*line.words, pick("noun", NOUNS), f"{rng.choice(line.words)} {slots['noun']}"])
        subjects = [line.org, line.person, f"officials in {line.place}", f"the {line.code} team", slots["group"],
                    line.person2, f"the {line.committee}", f"{pick('adj', ADJECTIVES)} {pick('group', GROUPS)}"]
        slots["subject"], slots["subject2"] = rng.sample(subjects, 2)
        slots["Subject"] = slots["subject"][0].upper() + slots["subject"][1:]
        slots["opener"] = rng.choice(OPENERS).format(**slots)
        slots["mod"] = rng.choice(MODIFIERS).format(**slots)
        slots["state"] = rng.choice(STATES).format(**slots)
        slots["did"] = rng.choice(DID).format(**slots)
        if line.model:
            slots["model"], slots["params"] = line.model
        text = template.format(**slots)
        return text[0].upper() + text[1:]

    title = fill(rng.choice(TITLES))
    sentences = [fill(rng.choice(LEADS))] + [fill(rng.choice(SENTENCES)) for _ in range(rng.randint(5, 9))]
    if line.model and rng.random() < 0.5:
        sentences.insert(2, fill(rng.choice(CLAIMS)))
    cuts = sorted(rng.sample(range(2, len(sentences)), 2))
    paragraphs = [" ".join(part) for part in (sentences[:cuts[0]], sentences[cuts[0]:cuts[1]], sentences[cuts[1]:])]
    return title, paragraphs


def item_xml(line: Storyline, k: int, when: datetime, feed: str) -> str:
    """An RSS <item> (the first carrier's link and GUID, so a second feed carries the same article)."""
    title, paragraphs = item_text(line, k)
    url = item_url(line, k, feed)
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<item><title>{title}</title><link>{url}</link><guid isPermaLink=\"true\">{url}</guid>"
            f"<pubDate>{format_datetime(when)}</pubDate><description>{paragraphs[0]}</description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>")


def feed_xml(name: str, items: list[str]) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>{feed_title(name)}</title><link>https://{name}.example/</link>"
            "<description>synthetic feed</description>\n" + "\n".join(items) + "\n</channel></rss>\n")


def feed_title(name: str) -> str:
    rng = random.Random(f"{SEED}:{name}")
    return f"The {made_up_word(rng, 2).capitalize()} {rng.choice(['Courier', 'Herald', 'Post', 'Wire', 'Review'])}"


def config_toml() -> str:
    lines = ['db = "tidings.db"', 'site_dir = "site"', "", "[settings]", "fetch_full_text = false", ""]
    for d in DIGESTS:
        lines += ["[[digests]]", *(f"{k} = {json.dumps(v)}" for k, v in d.items()), ""]
    for digest, names in feed_names().items():
        for name in names:
            credibility = round(random.Random(f"{SEED}:cred:{name}").uniform(0.4, 0.95), 2)
            lines += ["[[sources]]", f'url = "feeds/{name}.rss"', f'name = "{feed_title(name)}"',
                      f'digests = ["{digest}"]', f"credibility = {credibility}", ""]
    return "\n".join(lines)


# -- building a store ----------------------------------------------------------------------------------------------

def generator_key() -> str:
    """A hash of the corpus section of this file: stores built from another corpus are not reused."""
    text = HERE.read_text(encoding="utf-8")
    section = text[text.index("# -- the synthetic corpus"):text.index("# -- building a store")]
    return hashlib.sha256(section.encode()).hexdigest()[:10]


def build(size: int, folder: Path) -> dict:
    """Feed the corpus of `size` items through `run` day by day in `folder`; return what was built."""
    import logging

    from tidings.config import load_config
    from tidings.pipeline import run
    from tidings.store import Store

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(message)s", stream=sys.stderr)
    (folder / "feeds").mkdir(parents=True, exist_ok=True)
    (folder / "tidings.toml").write_text(config_toml(), encoding="utf-8")
    config = load_config(folder / "tidings.toml")
    by_day: dict[int, list] = {}
    for line in plan(size):
        for k, (when, carriers) in enumerate(line.schedule):
            by_day.setdefault((when - START).days, []).append((when, line, k, carriers))
    shown = {name: deque(maxlen=FEED_WINDOW) for names in feed_names().values() for name in names}
    store = Store(config.db_url)
    start, days = time.perf_counter(), days_for(size)
    stages: dict[str, float] = {}
    try:
        for day in range(days):
            changed = set()
            for when, line, k, carriers in sorted(by_day.get(day, []), key=lambda x: x[0]):
                xml = item_xml(line, k, when, carriers[0])
                for feed in carriers:
                    shown[feed].appendleft(xml)
                    changed.add(feed)
            for feed in changed:
                (folder / "feeds" / f"{feed}.rss").write_text(feed_xml(feed, list(shown[feed])), encoding="utf-8")
            present = [s.url for s in config.sources if Path(s.url).exists()]
            now = START + timedelta(days=day, hours=RUN_HOUR)
            lap = time.perf_counter()
            stats = run(config, store, now=now, sources=present, publish=day == days - 1)
            for stage, seconds in stats.seconds.items():
                stages[stage] = stages.get(stage, 0.0) + seconds
            print(f"  day {day + 1}/{days}: {stats.items_new} new items, {stats.stories_new} new stories, "
                  f"{stats.revisions} revisions, {time.perf_counter() - lap:.1f} s "
                  f"({', '.join(f'{k} {v:.1f}' for k, v in stats.seconds.items())})", file=sys.stderr, flush=True)
        counts = store.counts()
    finally:
        store.close()
    return {"size": size, "seconds": time.perf_counter() - start, "days": days, "counts": counts, "stages": stages,
            "end": (START + timedelta(days=days - 1, hours=RUN_HOUR)).isoformat(),
            "built": datetime.now(UTC).isoformat(timespec="seconds")}


def ensure_built(size: int, cache: Path, rebuild: bool) -> tuple[Path, dict]:
    """The folder of a built store of `size` items (building it unless cached), and its build record.

    A store is built in `<folder>/work` and kept as `<folder>/built`; measurements copy it back to `work`, since
    the store records its feed files by absolute path."""
    folder = cache / f"n{size}-{generator_key()}"
    record = folder / "built.json"
    if record.exists() and not rebuild:
        return folder, json.loads(record.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"building a store of {size:,} items in {folder} ({days_for(size)} daily runs) ...", flush=True)
    out = subprocess.run([sys.executable, str(HERE), "--child", "build", str(size), str(folder / "work")],
                         check=True, stdout=subprocess.PIPE, text=True)
    built = json.loads(out.stdout.strip().splitlines()[-1])
    os.rename(folder / "work", folder / "built")
    record.write_text(json.dumps(built, indent=2))
    return folder, built


def refresh(folder: Path, size: int) -> str:
    """Bring the cached store and site up to the tidings of today, so that the runs time only their own work: a
    `tidings publish` on a copy opens the store (applying any new schema migration) and renders the pages again
    if tidings' templates changed since (else it renders nothing); the copy then replaces the cached one.
    Returns what the publish said and how long it took."""
    work = fresh_copy(folder)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "tidings", "-q", "-c", str(work / "tidings.toml"), "publish"],
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"tidings publish failed on the cached store in {folder}:\n{out.stderr[-3000:]}")
    seconds = time.perf_counter() - start
    noted, noting = renote(work, end_of(size))
    shutil.rmtree(folder / "built")
    os.rename(work, folder / "built")
    said = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "published"
    return f"{said} ({seconds:.1f} s); the writer's notes taken again of {noted:,} items ({noting:.1f} s)"


def renote(work: Path, end: datetime) -> tuple[int, float]:
    """The writer's notes of the items of the stories still taking items, taken again where the code that takes
    them changed since they were (a run would take them again as it revises those stories, once, and store them):
    the runs then time the steady state, not that one-off. Returns how many items were noted, and the seconds."""
    from tidings.config import load_config
    from tidings.pipeline import opened
    from tidings.write.extractive import notes_of

    start = time.perf_counter()
    config = load_config(work / "tidings.toml")
    with opened(config) as store:
        live = store.active_stories(end - timedelta(days=config.settings.story_window_days), profiles=False)
        items = [i for group in store.stories_items([s.id for s in live]).values() for i in group]
        _, stale = notes_of(items, store.item_notes(i.id for i in items))
        if stale:
            store.save_revisions(notes=stale)
    return len(stale), time.perf_counter() - start


def fresh_copy(folder: Path) -> Path:
    """A copy of the built store, site and feeds in `<folder>/work`, written through to disk: else the run's first
    fsync (SQLite's checkpoint as the store closes) would pay for writing out the whole copy, 0.3 s at 100k."""
    work = folder / "work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(folder / "built", work, symlinks=True)
    os.sync()
    return work


# -- new items ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewItem:
    line: Storyline
    k: int
    feed: str
    title: str
    url: str


def new_items(size: int, count: int, salt: str, pages: dict[str, Path]) -> tuple[list[NewItem], int]:
    """`count` items continuing storylines active on the last day (one each, dated half an hour after it), taken
    among those whose latest item is on a story page (`pages`: link -> page); and how many were passed over."""
    end = end_of(size)
    active = [line for line in plan(size) if line.schedule and line.schedule[-1][0] > end - timedelta(days=1)]
    rng = random.Random(f"{SEED}:new:{salt}")
    rng.shuffle(active)
    feeds = feed_names()
    out, skipped = [], 0
    for line in active:
        if len(out) == count:
            break
        k = len(line.schedule)
        if item_url(line, k - 1, line.schedule[-1][1][0]) not in pages:
            skipped += 1
            continue
        feed = rng.choice(feeds[line.digest])
        out.append(NewItem(line, k, feed, item_text(line, k)[0], item_url(line, k, feed)))
    return out, skipped


def add_to_feeds(work: Path, items: list[NewItem], size: int) -> None:
    """Put each new item at the top of its feed file, as a publisher's feed would show it."""
    when = end_of(size) + timedelta(minutes=30)
    for it in items:
        path = work / "feeds" / f"{it.feed}.rss"
        text = path.read_text(encoding="utf-8") if path.exists() else feed_xml(it.feed, [])
        head, sep, tail = text.partition("<item>")
        xml = item_xml(it.line, it.k, when, it.feed)
        text = head + xml + "\n" + sep + tail if sep else text.replace("</channel>", xml + "\n</channel>")
        path.write_text(text, encoding="utf-8")


def story_pages(site: Path) -> dict[str, Path]:
    """Every item link listed on a story page (digest/stories/N.html) -> that page, relative to the site."""
    found: dict[str, Path] = {}
    for page in site.glob("*/stories/*.html"):
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            found.setdefault(link, page.relative_to(site))
    return found


def story_page(pages: dict[str, Path], item: NewItem) -> Path:
    """The page of the story that the item's storyline is in (where its previous item is listed)."""
    return pages[item_url(item.line, item.k - 1, item.line.schedule[-1][1][0])]


# -- measuring ----------------------------------------------------------------------------------------------------

def child_cli(now: str, args: list[str]) -> None:
    """Run the tidings CLI with the run's clock set to `now`; print what the run measured and VmHWM on stderr."""
    import tidings.cli as cli

    clock = datetime.fromisoformat(now)
    got: dict = {}
    real = cli.run

    def run(*a, **k):
        k["now"] = k.get("now") or clock
        got["entered"] = time.perf_counter()
        stats = real(*a, **k)
        got["run"] = time.perf_counter() - got["entered"]
        got["stats"] = stats
        return stats

    cli.run = run
    if hasattr(cli, "start"):
        cli.start()  # as the `tidings` command starts
    code = 0
    try:
        cli.cli(args=args, prog_name="tidings")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception:
        traceback.print_exc()
        code = 1
    finally:
        stats = got.get("stats")
        result = {"code": code, "vmhwm_mb": vmhwm_mb(), "run": got.get("run")}
        if stats is not None:
            result.update(stages=stats.seconds, items_new=stats.items_new, stories_new=stats.stories_new,
                          revisions=stats.revisions, errors=list(stats.errors)[:5])
        print(RESULT + json.dumps(result), file=sys.stderr, flush=True)
    cli.leave(code)  # as the `tidings` command leaves


def vmhwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Measured:
    wall: float
    result: dict
    on_page: float | None = None  # seconds from the process' start until the last watched page showed its item
    seen: int = 0  # watched pages that showed their item
    watched: int = 0


def measure(work: Path, size: int, args: list[str], watch: dict[Path, list[str]] | None = None) -> Measured:
    """Run `tidings -c CONFIG ARGS` in a fresh process; with `watch` (page -> texts), poll those pages from the
    process' start and note when each first holds all its texts."""
    now = (end_of(size) + timedelta(hours=1)).isoformat()
    command = [sys.executable, str(HERE), "--child", "cli", now, "--", "-c", str(work / "tidings.toml"), *args]
    watch = watch or {}
    pending = {page: (titles, _stamp(page)) for page, titles in watch.items()}
    seen_at: dict[Path, float] = {}
    with open(work / "bench.out", "w") as out, open(work / "bench.err", "w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=work)
        while True:
            done = proc.poll() is not None
            _poll_pages(pending, seen_at, start)
            if done:
                break
            time.sleep(0.01)
        wall = time.perf_counter() - start
    stderr = (work / "bench.err").read_text(encoding="utf-8", errors="replace")
    lines = [line for line in stderr.splitlines() if line.startswith(RESULT)]
    if not lines:
        raise SystemExit(f"tidings {' '.join(args)} ended with no result (exit {proc.returncode}):\n{stderr[-3000:]}")
    result = json.loads(lines[-1][len(RESULT):])
    if args[0] == "run" and "stages" not in result:
        raise SystemExit(f"tidings run ended (exit {result['code']}) without passing through the clock hook on "
                         f"tidings.cli.run (is `run` still called by that name there?):\n{stderr[-3000:]}")
    return Measured(wall, result, max(seen_at.values()) if seen_at else None, len(seen_at), len(watch))


def _stamp(page: Path) -> tuple | None:
    try:
        st = page.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _poll_pages(pending: dict[Path, tuple], seen_at: dict[Path, float], start: float) -> None:
    """Read each watched page that changed on disk since last looked at; note when it first holds its titles."""
    for page in list(pending):
        titles, stamp = pending[page]
        now_stamp = _stamp(page)
        if now_stamp is None or now_stamp == stamp:
            continue
        pending[page] = (titles, now_stamp)
        try:
            text = page.read_text(encoding="utf-8")
        except OSError:
            continue
        if all(t in text for t in titles):
            seen_at[page] = time.perf_counter() - start
            del pending[page]


def watch_list(work: Path, items: list[NewItem], pages: dict[str, Path]) -> dict[Path, list[str]]:
    """page -> the new items' links it should come to show (a link is unique, a title may repeat one of the
    storyline's earlier ones)."""
    watch: dict[Path, list[str]] = {}
    for it in items:
        watch.setdefault(work / "site" / story_page(pages, it), []).append(it.url)
    return watch


def strays(work: Path, items: list[NewItem], pages: dict[str, Path]) -> str:
    """Where new items that did not reach their story's page went (the first three)."""
    after = story_pages(work / "site")
    lost = [it for it in items if after.get(it.url) != story_page(pages, it)]
    return "; ".join(f"{it.title!r}: expected on {story_page(pages, it)}, found on {after.get(it.url, 'no story page')}"
                     for it in lost[:3])


def publish_args() -> tuple[list[str], str]:
    """`publish --all` if the CLI has it, else `publish` (and a note saying so)."""
    out = subprocess.run([sys.executable, "-m", "tidings", "publish", "--help"], capture_output=True, text=True,
                         cwd=ROOT)
    if "--all" in out.stdout:
        return ["publish", "--all"], "publish --all"
    return ["publish"], "publish (no --all in this tidings: plain publish, which rebuilds the whole site)"


def folder_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


COUNTS = {"noop": 0, "one": 1, "hundred": 100}  # new items per run


def measure_row(folder: Path, size: int, key: str, publish: list[str], pages: dict[str, Path]
                ) -> tuple[Measured, list[str]]:
    """One measurement on a fresh copy of the built store, and notes on anything that went unexpectedly."""
    work = fresh_copy(folder)
    if key == "publish":
        return measure(work, size, publish), []
    notes = []
    items, skipped = new_items(size, COUNTS[key], key, pages) if COUNTS[key] else ([], 0)
    if skipped:
        notes.append(f"{LABELS[key]}: {skipped} active storylines passed over (their latest item is on no story page)")
    add_to_feeds(work, items, size)
    m = measure(work, size, ["run"], watch_list(work, items, pages))
    if m.watched > m.seen:
        notes.append(f"{LABELS[key]}: {m.watched - m.seen} of {m.watched} story pages never showed their new item: "
                     + strays(work, items, pages))
    if m.result.get("errors"):
        notes.append(f"{LABELS[key]}: the run reported errors: {'; '.join(m.result['errors'])}")
    return m, notes


def measure_size(size: int, cache: Path, rebuild: bool, publish: list[str], repeat: int) -> dict:
    """Build (or reuse) the store of `size` items and take every measurement on fresh copies of it (the best of
    `repeat` by wall time)."""
    folder, built = ensure_built(size, cache, rebuild)
    refreshed = refresh(folder, size)
    site_files, site_bytes = folder_size(folder / "built" / "site")
    rows: dict[str, Measured] = {}
    notes: dict[str, list[str]] = {}
    pages = story_pages(folder / "built" / "site")
    load = os.getloadavg()[0]
    for _ in range(repeat):
        for key in ("publish", "noop", "one", "hundred"):
            m, said = measure_row(folder, size, key, publish, pages)
            if key not in rows or m.wall < rows[key].wall:
                rows[key], notes[key] = m, said
    shutil.rmtree(folder / "work", ignore_errors=True)
    db_bytes = sum(p.stat().st_size for p in (folder / "built").glob("tidings.db*"))
    return {"size": size, "folder": folder, "built": built, "site": (site_files, site_bytes), "db": db_bytes,
            "rows": rows, "notes": [n for said in notes.values() for n in said], "repeat": repeat,
            "refreshed": refreshed, "load": (load, os.getloadavg()[0])}


# -- output --------------------------------------------------------------------------------------------------------

STAGES = ("fetch", "cluster", "check", "write", "publish")
LABELS = {"noop": "no-op run", "one": "1 new item", "hundred": "100 new items", "publish": "full publish"}


def row_line(key: str, m: Measured, baseline: Measured) -> str:
    r = m.result
    run = r.get("run") or 0.0
    stages = r.get("stages") or {}
    cells = [f"{stages[s]:7.2f}" if s in stages else f"{'-':>7}" for s in STAGES]
    outside = f"{m.wall - run:7.2f} {run - sum(stages.values()):6.2f}" if r.get("run") is not None \
        else f"{'-':>7} {'-':>6}"
    page = f"{m.on_page:6.2f} s" if m.on_page is not None else ("   never" if m.watched else "       -")
    if m.watched > 1:
        page += f" ({m.seen}/{m.watched})"
    ratio = f"{m.wall / baseline.wall:5.2f}x" if key != "publish" else "  base"
    exit_note = "" if r.get("code") == 0 else f"  EXIT {r.get('code')}"
    return (f"  {LABELS[key]:<14} {m.wall:7.2f} s {ratio}  {outside} {' '.join(cells)}"
            f"  {r['vmhwm_mb']:6.0f} MB  {page:<15}{_target(key, m)}{exit_note}")


def _target(key: str, m: Measured) -> str:
    rss = f", RSS {'ok' if m.result['vmhwm_mb'] <= TARGETS['rss'] else 'over'} (<= {TARGETS['rss']:.0f} MB)"
    if key == "noop":
        return f"target <= {TARGETS['noop']:g} s: {'met' if m.wall <= TARGETS['noop'] else 'missed'}{rss}"
    if key == "one":
        ok = m.on_page is not None and m.on_page <= TARGETS["one"]
        return f"target on page <= {TARGETS['one']:g} s: {'met' if ok else 'missed'}{rss}"
    if key == "hundred":
        return f"target <= {TARGETS['hundred']:g} s: {'met' if m.wall <= TARGETS['hundred'] else 'missed'}{rss}"
    return f"baseline{rss}"


def _n(counts: dict, key: str) -> str:
    return f"{counts[key]:,}" if key in counts else "?"


def report(result: dict, publish_label: str) -> None:
    built, rows = result["built"], result["rows"]
    c = built["counts"]
    files, site_bytes = result["site"]
    print(f"\n{result['size']:,} items: {_n(c, 'stories')} stories, {_n(c, 'revisions')} revisions, "
          f"{_n(c, 'items')} items stored; store {result['db'] / 2**20:,.0f} MB, site {files:,} files "
          f"({site_bytes / 2**20:,.0f} MB)")
    stages = ", ".join(f"{k} {v / 60:.1f}" for k, v in built.get("stages", {}).items())
    print(f"  built {built['built']} in {built['seconds'] / 60:.1f} min ({built['days']} daily runs; minutes per "
          f"stage: {stages}); kept in {result['folder']}")
    print(f"  brought up to this tidings before the runs: `tidings publish`: {result['refreshed']}")
    print(f"  {'':<14} {'wall':>9} {'/publ':>6}  {'startup':>7} {'store':>6} "
          + " ".join(f"{s:>7}" for s in STAGES) + f"  {'peak RSS':>9}  {'on page':<15}")
    for key in ("noop", "one", "hundred", "publish"):
        print(row_line(key, rows[key], rows["publish"]))
    for key in ("one", "hundred"):
        r = rows[key].result
        print(f"  {LABELS[key]}: {r.get('items_new', '?')} new items stored, {r.get('stories_new', '?')} new "
              f"stories, {r.get('revisions', '?')} revisions")
    best = f"best of {result['repeat']} runs each" if result["repeat"] > 1 else "one run each"
    print(f"  full publish = `tidings {publish_label}`; {best}; load average {result['load'][0]:.1f} before the runs, "
          f"{result['load'][1]:.1f} after ({os.cpu_count()} CPUs): other work on the machine slows every figure")
    for note in result["notes"]:
        print(f"  NOTE {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000", help="store sizes in items, comma-separated")
    parser.add_argument("--cache", default="/tmp/tidings-bench-fresh", help="where built stores are kept")
    parser.add_argument("--rebuild", action="store_true", help="build the stores again even if cached")
    parser.add_argument("--repeat", type=int, default=1, help="take each measurement N times, keep the fastest")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    cache = Path(args.cache).resolve()
    publish, publish_label = publish_args()
    # The runs start as an installed tidings does: from its compiled modules (`make` compiles them; an
    # environment with PYTHONDONTWRITEBYTECODE set would otherwise compile every module in every run).
    compileall.compile_dir(ROOT / "tidings", quiet=1)
    print(f"corpus generator {generator_key()}; stores in {cache}; runs timed as of an hour after each corpus' "
          "last run")
    results = []
    for size in sizes:
        results.append(measure_size(size, cache, args.rebuild, publish, max(1, args.repeat)))
        report(results[-1], publish_label)
    print(f"\ntargets at 100k items: no-op <= {TARGETS['noop']:g} s, 1 new item on its page <= {TARGETS['one']:g} s "
          f"after `tidings run` starts, 100 new items <= {TARGETS['hundred']:g} s, peak RSS <= {TARGETS['rss']:.0f} MB")
    print(f"rerun: .venv/bin/python bench/fresh.py --sizes {','.join(map(str, sizes))} --cache {cache}"
          + (f" --repeat {args.repeat}" if args.repeat > 1 else ""))


def child(argv: list[str]) -> None:
    kind, rest = argv[0], argv[1:]
    sys.path.insert(0, str(ROOT))
    if kind == "build":
        print(json.dumps(build(int(rest[0]), Path(rest[1]))))
    elif kind == "cli":
        child_cli(rest[0], rest[rest.index("--") + 1:])
    else:
        raise SystemExit(f"unknown child {kind}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
