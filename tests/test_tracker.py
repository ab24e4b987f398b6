"""The tracker of open and closed models: its ledger from a real store, the chart, the CSV, the JSON and the page."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape

import pytest
from markupsafe import Markup

from tests.conftest import NOW, make_config, rss
from tidings.check.kb import load_kb
from tidings.model import Digest, Item
from tidings.pipeline import opened, run
from tidings.tracker import (
    CSV_COLUMNS,
    BenchmarkTrack,
    BestPoint,
    ReportedScore,
    SourceRef,
    TrackedModel,
    Tracker,
    build_tracker,
    tracker_chart_svg,
    tracker_csv,
    tracker_json,
    unknown_models,
)

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE_PUBLISHER = '=Beta <b>"News"</b> & Co'

ALPHA = [
    {"title": "Meta's biggest Llama", "link": "https://alpha.example/llama-405b",
     "date": "Tue, 10 Mar 2026 09:00:00 +0000",
     "text": "<p>Llama 3.1 405B scored 88.6% on MMLU in Meta's own tests. It is an open-weight model with 405 billion "
             "parameters. Its MMLU result leaves the older LLaMA-2-70B far behind.</p>"},
    {"title": "GPT-4o on MMLU", "link": "https://alpha.example/gpt-4o", "date": "Wed, 11 Mar 2026 09:00:00 +0000",
     "text": "<p>GPT-4o scores 88.7 on MMLU, OpenAI said. GPT-4o remains a closed model available only through an "
             "API.</p>"},
    {"title": "Acme Labs releases Nimbus-34B", "link": "https://alpha.example/nimbus",
     "date": "Thu, 12 Mar 2026 09:00:00 +0000",
     "text": "<p>Acme Labs released Nimbus-34B on March 12, 2026. Nimbus-34B is an open-weight model with 34 billion "
             "parameters. Nimbus-34B scores 89.5 on MMLU.</p>"},
]
BETA = [
    {"title": "A closed gpt-oss?", "link": "https://beta.example/gpt-oss", "date": "Fri, 13 Mar 2026 09:00:00 +0000",
     "text": "<p>gpt-oss-120b is a closed model, the post said. gpt-oss-120b scores 95.5 on MMLU at its high "
             "reasoning setting. A blogger claims that GPT-4o scores 99.0 on MMLU.</p>"},
    {"title": "GPT-5 tops MMLU", "link": "https://beta.example/gpt-5", "date": "Sat, 14 Mar 2026 09:00:00 +0000",
     "text": "<p>GPT-5 scores 91.2 on MMLU. GPT-5 is a proprietary model.</p>"},
]
GAMMA = [
    {"title": "Harbour news", "link": "https://gamma.example/harbour", "date": "Sat, 14 Mar 2026 09:00:00 +0000",
     "text": "<p>Claude Opus 4.5 scores 80.9 on SWE-bench Verified. Falcon Labs released Zephyr-9B, a new open-weight "
             "model with 9 billion parameters.</p>"},
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A store made by a real run over three small feeds: two feed the "ai" digest, one the "other"."""
    tmp = tmp_path_factory.mktemp("tracker")
    (tmp / "feeds").mkdir()
    sources = []
    for name, publisher, items, site, digest in (
            ("a.rss", "Alpha Wire", ALPHA, "https://alpha.example/", "ai"),
            ("b.rss", HOSTILE_PUBLISHER, BETA, "https://beta.example/", "ai"),
            ("c.rss", "Gamma", GAMMA, "https://gamma.example/", "other")):
        (tmp / "feeds" / name).write_text(rss(items, title=escape(publisher), link=site))
        sources.append({"url": str(tmp / "feeds" / name), "name": publisher, "digests": [digest]})
    digests = [{"slug": "ai", "title": "AI models", "description": "AI", "keywords": ["model"]},
               {"slug": "other", "title": "Other", "description": "Other news", "keywords": ["harbour"]}]
    config = make_config(tmp, sources, digests, near_duplicate_threshold=1.0, fetch_full_text=False)
    run(config, now=NOW)
    with opened(config) as store:
        yield {slug: build_tracker(store, slug) for slug in ("ai", "other", None)}


@pytest.fixture(scope="module")
def ai(corpus) -> Tracker:
    return corpus["ai"]


def mmlu(tracker: Tracker) -> BenchmarkTrack:
    return next(b for b in tracker.benchmarks if b.id == "mmlu")


# --- the ledger -------------------------------------------------------------------------------------------------

def test_models_are_open_or_closed_with_their_evidence(ai):
    models = {m.id: m for m in ai.models}
    assert set(models) == {"llama-3.1-405b", "gpt-4o", "nimbus-34b", "gpt-oss-120b", "gpt-5"}
    oss = models["gpt-oss-120b"]
    assert (oss.openness, oss.openness_basis, oss.kb_openness, oss.in_kb) == ("open", "knowledge base",
                                                                              "open-weight", True)
    assert oss.kb_fact.startswith("gpt-oss-120b is open-weight") and oss.kb_sources
    # The source called it closed; the knowledge base says otherwise, and the ledger keeps both.
    [said] = oss.statements
    assert (said.value, said.verdict, said.attributed_to) == ("closed", "contradicted", "the post")
    assert said.source.publisher == HOSTILE_PUBLISHER and said.source.url == "https://beta.example/gpt-oss"
    assert (oss.params_total_b, oss.params_active_b, oss.released) == (116.8, 5.1, "2025-08-05")
    assert models["gpt-5"].openness == "closed" and models["gpt-5"].statements[0].verdict == "supported"
    llama = models["llama-3.1-405b"]
    assert (llama.openness, llama.params_total_b, llama.developer) == ("open", 405.0, "Meta")
    assert llama.first_reported == datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_a_release_the_knowledge_base_lacks_is_a_row_marked_so(ai):
    nimbus = ai.model("nimbus-34b")
    assert nimbus is not None and not nimbus.in_kb
    assert (nimbus.name, nimbus.developer, nimbus.openness, nimbus.openness_basis) == (
        "Nimbus-34B", "Acme Labs", "open", "sources")
    assert (nimbus.params_total_b, nimbus.released) == (34.0, "2026-03-12")
    assert set(nimbus.from_sources) == {"developer", "params_total_b", "released"}
    assert [s.verdict for s in nimbus.statements] == ["unverified"]  # nothing in the KB to check it against
    # A model named only as a yardstick ("leaves the older LLaMA-2-70B far behind") is no release.
    assert all("llama2" not in m.id.replace("-", "") for m in ai.models)


def item(text: str, n: int = 1) -> Item:
    return Item(n, f"https://news.example/{n}", "", text, "News", datetime(2026, 3, n, tzinfo=UTC))


@pytest.mark.parametrize(("text", "expected"), [
    ("Acme Labs released Nimbus-34B, a new model.", {("Nimbus-34B", "Acme Labs")}),
    ("Acme's Orbit 7B was quietly launched on Monday with open weights.", {("Orbit 7B", "Acme")}),
    ("Borealis launched its new open-weight model, Aurora-2 Mini, today.", {("Aurora-2 Mini", "Borealis")}),
    ("The release of Quill-1.5 brings a 12B model to laptops.", {("Quill-1.5", "")}),
    # Known models, licences, dates and yardsticks are not new unknown releases.
    ("OpenAI released gpt-oss-120b and GPT-5 in August 2025.", set()),
    ("The weights are released under Apache-2.0 on March 11, 2026.", set()),
    ("Its score is roughly the level of LLaMA-2-70B, which was released years ago.", set()),
    ("Siemens launched the SG-14 turbine on Monday.", set()),  # no model word, no size in the name
])
def test_unknown_releases_are_found_conservatively(text, expected):
    found = unknown_models([item(text)], load_kb())
    assert {(u.name, u.developer) for u in found} == expected


def test_what_sources_say_of_an_unknown_model_is_read_and_left_unverified():
    text = "Acme Labs released Nimbus-34B in March 2026. Nimbus-34B scores 77.5 on MMLU. It is open-weight."
    [nimbus] = unknown_models([item(text)], load_kb())
    assert {(c.attribute, c.value, c.verdict) for c in nimbus.claims} >= {("score:mmlu", 77.5, "unverified"),
                                                                          ("released", "2026-03", "unverified")}


def test_scores_say_who_reported_them_where_and_with_what_verdict(ai):
    rows = {(s.model, s.value, s.verdict, s.reported_by) for s in mmlu(ai).scores}
    assert rows == {("llama-3.1-405b", 88.6, "single-source", "Alpha Wire"),
                    ("gpt-4o", 88.7, "single-source", "Alpha Wire"),
                    ("nimbus-34b", 89.5, "unverified", "Alpha Wire"),
                    ("gpt-4o", 99.0, "unverified", "A blogger"),
                    ("gpt-oss-120b", 95.5, "contradicted", HOSTILE_PUBLISHER),
                    ("gpt-5", 91.2, "single-source", HOSTILE_PUBLISHER)}
    blogger = next(s for s in mmlu(ai).scores if s.attributed_to)
    assert (blogger.publisher, blogger.source.title, blogger.day) == (HOSTILE_PUBLISHER, "A closed gpt-oss?",
                                                                      date(2026, 3, 13))
    assert blogger.source.url == "https://beta.example/gpt-oss" and blogger.openness == "closed"
    assert [s.day for s in mmlu(ai).scores] == sorted(s.day for s in mmlu(ai).scores)


def test_best_open_and_best_closed_scores_over_time(ai):
    track = mmlu(ai)
    # The contradicted 95.5 of gpt-oss-120b and the blogger's 99.0 for GPT-4o set no record.
    assert [(p.day, p.value, p.model) for p in track.best_open] == [
        (date(2026, 3, 10), 88.6, "llama-3.1-405b"), (date(2026, 3, 12), 89.5, "nimbus-34b")]
    assert [(p.day, p.value, p.model) for p in track.best_closed] == [
        (date(2026, 3, 11), 88.7, "gpt-4o"), (date(2026, 3, 14), 91.2, "gpt-5")]


def test_a_digest_has_only_its_own_stories_items(corpus):
    other = corpus["other"]
    assert {m.id for m in other.models} == {"claude-opus-4.5", "zephyr-9b"}
    assert not other.model("zephyr-9b").in_kb and other.model("zephyr-9b").params_total_b == 9.0
    assert [(b.id, [p.value for p in b.best_closed]) for b in other.benchmarks] == [("swe-bench-verified", [80.9])]
    assert {m.id for m in corpus[None].models} == {m.id for m in corpus["ai"].models} | {"claude-opus-4.5",
                                                                                         "zephyr-9b"}
    assert "claude-opus-4.5" not in {m.id for m in corpus["ai"].models}


# --- the chart --------------------------------------------------------------------------------------------------

def texts(root: ET.Element, tag: str) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter(SVG + tag)]


def test_chart_is_well_formed_svg_with_both_series(ai):
    svg = tracker_chart_svg(ai)
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg" and "width" not in root.attrib and root.attrib["viewBox"].startswith("0 0 ")
    assert root.attrib["role"] == "img" and root.find(SVG + "title") is not None
    assert "MMLU" in texts(root, "text") and "Date reported" in texts(root, "text") and "Score" in texts(root, "text")
    groups = {g.attrib.get("class"): g for g in root.iter(SVG + "g")}
    open_marks = groups["series-open"].findall(SVG + "circle")
    closed_marks = groups["series-closed"].findall(SVG + "rect")
    assert len(open_marks) == 2 and len(closed_marks) == 2
    assert groups["series-closed"].find(SVG + "path").attrib["stroke-dasharray"]  # told apart without colour
    assert "stroke-dasharray" not in groups["series-open"].find(SVG + "path").attrib
    tips = texts(root, "title")
    assert any(t.startswith("Nimbus-34B (open): 89.5 on MMLU") for t in tips)
    assert any(HOSTILE_PUBLISHER in t for t in tips)  # escaped in the markup, the same text once parsed
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def hostile_tracker() -> Tracker:
    evil = '</text><script>alert(1)</script>"&\'\x01'
    source = SourceRef(1, evil, "=HYPERLINK(\"http://evil.example\")", "https://evil.example/a",
                       datetime(2026, 3, 1, tzinfo=UTC))
    model = TrackedModel(id="evil", name="+" + evil, developer="@evil", openness="closed", openness_basis="sources",
                         kb_openness="", licence="", kb_fact="", kb_sources=(), statements=(), params_total_b=None,
                         params_active_b=None, released="", in_kb=False, from_sources=())
    score = ReportedScore(benchmark="evil-bench", model="evil", model_name=model.name, openness="closed", value=1.5,
                          setting="-" + evil, publisher=source.publisher, attributed_to="", verdict="unverified",
                          sentence="-2+3 " + evil, source=source)
    point = BestPoint(date(2026, 3, 1), 1.5, "evil", model.name, score.setting, source.publisher)
    bench = BenchmarkTrack("evil-bench", evil, (score,), (), (point,))
    return Tracker("ai", (model,), (bench,))


def test_chart_escapes_hostile_text():
    svg = tracker_chart_svg(hostile_tracker())
    root = ET.fromstring(svg)  # well-formed: no markup broke out, no control character left in
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert '</text><script>alert(1)</script>"&\' ' in texts(root, "text")  # the benchmark's name, shown as text
    assert any("+</text><script>" in t for t in texts(root, "title"))


def test_chart_with_no_scores_says_so():
    root = ET.fromstring(tracker_chart_svg(Tracker(None, (), ())))
    assert any("No benchmark scores" in t for t in texts(root, "text"))


# --- CSV and JSON -----------------------------------------------------------------------------------------------

def test_csv_round_trips_and_holds_every_fact_statement_and_score(ai):
    rows = list(csv.reader(io.StringIO(tracker_csv(ai))))
    assert tuple(rows[0]) == CSV_COLUMNS
    records = [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]
    scores = [r for r in records if r["record"] == "score"]
    assert len(scores) == len(ai.scores) == 6
    assert len([r for r in records if r["record"] == "statement"]) == sum(len(m.statements) for m in ai.models)
    nimbus = {r["attribute"]: r for r in records if r["model_id"] == "nimbus-34b" and r["record"] == "model"}
    assert nimbus["openness"]["in_kb"] == "no" and nimbus["params_total_b"]["value"] == "34"
    assert nimbus["params_total_b"]["basis"] == "sources"
    contradicted = next(r for r in scores if r["verdict"] == "contradicted")
    assert (contradicted["model_id"], contradicted["value"], contradicted["date"]) == ("gpt-oss-120b", "95.5",
                                                                                       "2026-03-13")
    # The publisher's name starts with "=": a spreadsheet must not read it as a formula.
    assert contradicted["reported_by"] == "'" + HOSTILE_PUBLISHER
    assert not [cell for r in rows for cell in r if cell[:1] in ("=", "+", "-", "@")]


def test_csv_neutralises_formula_injection():
    rows = list(csv.reader(io.StringIO(tracker_csv(hostile_tracker()))))
    cells = [cell for r in rows[1:] for cell in r]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'=HYPERLINK(\"http://evil.example\")" in cells and "'@evil" in cells
    assert any(c.startswith("'-2+3 ") for c in cells) and any(c.startswith("'+</text>") for c in cells)


def test_json_is_plain_and_serialisable(ai):
    data = json.loads(json.dumps(tracker_json(ai)))
    assert data["digest"] == "ai"
    nimbus = next(m for m in data["models"] if m["id"] == "nimbus-34b")
    assert nimbus["in_kb"] is False and nimbus["openness"] == "open" and nimbus["evidence"]["knowledge_base"] is None
    oss = next(m for m in data["models"] if m["id"] == "gpt-oss-120b")
    assert oss["evidence"]["knowledge_base"]["fact"].startswith("gpt-oss-120b is open-weight")
    assert oss["evidence"]["statements"][0]["verdict"] == "contradicted"
    bench = next(b for b in data["benchmarks"] if b["id"] == "mmlu")
    assert [(p["date"], p["value"]) for p in bench["best_open"]] == [("2026-03-10", 88.6), ("2026-03-12", 89.5)]
    assert {s["source"]["published"][:10] for s in bench["scores"]} >= {"2026-03-10", "2026-03-14"}


# --- the page ---------------------------------------------------------------------------------------------------

def test_tracker_page_renders_without_script(ai):
    from tidings.publish.site import environment

    html = environment().get_template("tracker.html").render(
        root="../", digest=Digest("ai", "AI models"), tracker=ai, chart=Markup(tracker_chart_svg(ai)),
        csv_url="tracker.csv?digest=ai")
    assert "<svg" in html and html.count("<table") == 2 and 'href="tracker.csv?digest=ai"' in html
    assert "not in the knowledge base" in html and 'href="../ai/index.html"' in html
    assert "<script" not in html and "<b>" not in html and "&lt;b&gt;" in html
    assert 'class="table-scroll"' in html and 'class="verdict v-contradicted"' in html


# --- the demo corpus --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from tidings.demo import run_demo
    from tidings.store import Store

    folder = tmp_path_factory.mktemp("demo")
    run_demo(folder)
    store = Store(str(folder / "tidings.db"))
    yield store
    store.close()


def test_demo_tracker(demo_store):
    ai = build_tracker(demo_store, "ai")
    oss = ai.model("gpt-oss-120b")
    assert oss.openness == "open" and ("closed", "contradicted") in {(s.value, s.verdict) for s in oss.statements}
    tracks = {b.id: b for b in ai.benchmarks}
    assert [(p.value, p.model) for p in tracks["swe-bench-verified"].best_open] == [(60.47, "nemotron-3-super")]
    assert [(p.value, p.model) for p in tracks["posttrainbench"].best_closed] == [(23.2, "claude-opus-4.6")]
    assert all(m.in_kb for m in ai.models)  # the demo's only unknown name, LLaMA-2-70B, is a yardstick
    ET.fromstring(tracker_chart_svg(ai))
    climate = build_tracker(demo_store, "climate")
    assert climate.models == () and climate.benchmarks == ()
