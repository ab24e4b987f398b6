"""The bundled demo corpus and what `tidings demo` makes of it."""

import json
import re
import tomllib
from collections import Counter

import feedparser
import pytest

from tidings.config import load_config
from tidings.dedupe import canonical_url
from tidings.demo import corpus_dir, demo_days, run_demo
from tidings.publish.export import export_state
from tidings.store import Store
from tidings.text import squash
from tidings.urls import web_url


def manifests() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((corpus_dir() / "manifest").glob("*.json"))]


def labels() -> dict[str, str]:
    """Canonical item URL -> storyline id, from the corpus manifests."""
    return {canonical_url(link): storyline["id"] for m in manifests() for storyline in m["storylines"]
            for link in storyline["items"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    stats = run_demo(folder)
    store = Store(str(folder / "tidings.db"))
    yield stats, store, export_state(store)
    store.close()


def test_corpus_has_the_required_shape():
    config = tomllib.loads((corpus_dir() / "tidings.toml").read_text())
    assert len(config["sources"]) >= 10
    assert len(demo_days()) >= 4
    storylines = [s for m in manifests() for s in m["storylines"]]
    assert len(storylines) >= 8
    assert len({canonical_url(link) for s in storylines for link in s["items"]}) >= 80
    titles = {d["title"] for d in config["digests"]}
    assert "AI research & misinformation" in titles and len(titles) >= 2
    files = {p.suffix for day in demo_days() for p in day.iterdir()}
    assert {".rss", ".atom", ".json", ".html"} <= files


def test_corpus_carries_the_closed_models_error():
    ai = next(m for m in manifests() if m["digest"]["slug"] == "ai")
    error = next(e for e in ai["errors"] if any(c["attribute"] == "openness" for c in e["claims"]))
    assert "closed models" in error["sentence"]
    assert "gpt-oss-120b" in error["sentence"] and "Qwen3.5" in error["sentence"]


def test_demo_summary(demo):
    stats, _, _ = demo
    assert stats.counts["digests"] == 2
    assert stats.counts["stories"] >= 8
    assert stats.counts["items"] >= 80
    assert stats.counts["revisions"] > stats.counts["stories"]
    assert (stats.site / "index.html").exists()


def test_story_pages_show_sources_and_updated(demo):
    stats, _, _ = demo
    pages = [p for p in stats.site.glob("*/stories/*.html")]
    assert len(pages) >= 8
    for page in pages:
        html = page.read_text()
        assert re.search(r"Sources \(\d+\)", html)
        assert re.search(r"Updated [A-Z][a-z]{2} \d{1,2}, 2026", html)


def test_stories_revised_on_later_days_show_every_revision(demo):
    stats, _, export = demo
    revised = [s for s in export["stories"] if len(s["revisions"]) > 1]
    assert len(revised) >= 6
    for s in revised:
        days = [r["created"][:10] for r in s["revisions"]]
        assert days == sorted(days) and len(set(days)) == len(days)
        page = (stats.site / s["digest"] / "stories" / f"{s['id']}.html").read_text()
        for r in s["revisions"]:
            assert f'href="{s["id"]}/r{r["number"]}.html"' in page
            assert (stats.site / s["digest"] / "stories" / str(s["id"]) / f"r{r['number']}.html").exists()


def without_insertions(sentence: dict) -> str:
    """An exported sentence's text without its marked editorial insertions: the source's own words."""
    text, shift = sentence["text"], 0
    for ins in sorted(sentence.get("insertions", []), key=lambda i: i["at"]):
        start = ins["at"] + shift
        assert text[start:start + len(ins["text"])] == ins["text"]
        text = text[:start] + text[start + len(ins["text"]):]
    return text


def test_attribution_precision_is_total(demo):
    """In the JSON export, every article sentence of every revision appears verbatim (whitespace aside, and its
    marked editorial insertions taken out) in the title or text of an item it cites."""
    _, _, export = demo
    items = {i["id"]: i for i in export["items"]}
    checked = 0
    for story in export["stories"]:
        for revision in story["revisions"]:
            cited = {c["n"]: items[c["item_id"]] for c in revision["sources"]}
            for section in revision["sections"]:
                for sentence in section["sentences"]:
                    text = squash(without_insertions(sentence))
                    assert sentence["cites"], sentence
                    assert any(text in squash(cited[n]["text"]) or text == squash(cited[n]["title"])
                               for n in sentence["cites"]), (story["id"], revision["number"], text)
                    checked += 1
    assert checked > 100


def test_export_has_the_documented_shape(demo):
    _, _, export = demo
    assert {"slug", "title"} <= set(export["digests"][0])
    assert {"id", "url", "title", "text", "publisher", "published", "sources"} <= set(export["items"][0])
    story = export["stories"][0]
    assert {"id", "digest", "title", "updated", "sources", "revisions"} <= set(story)
    assert {"n", "item_id", "url", "title", "publisher", "published"} <= set(story["sources"][0])
    revision = story["revisions"][0]
    assert {"number", "created", "sections"} <= set(revision)
    assert {"heading", "sentences"} <= set(revision["sections"][0])
    assert {"text", "cites"} <= set(revision["sections"][0]["sentences"][0])


def test_atom_feeds_parse_cleanly_and_track_revisions(demo):
    stats, _, export = demo
    for digest in export["digests"]:
        feed = feedparser.parse((stats.site / digest["slug"] / "feed.atom").read_bytes())
        assert feed.bozo == 0 and feed.version == "atom10"
        stories = [s for s in export["stories"] if s["digest"] == digest["slug"]]
        assert len(feed.entries) == len(stories)
        updated = {s["title"]: s["revisions"][-1]["created"][:10] for s in stories}
        for entry in feed.entries:
            assert entry.updated[:10] == updated[entry.title]


def test_no_active_content_reaches_the_site(demo):
    stats, _, _ = demo
    for page in stats.site.rglob("*.html"):
        html = page.read_text().lower()
        assert "<script" not in html and "javascript:" not in html and "onerror" not in html and \
            "onclick" not in html, page


def test_syndicated_copies_are_one_item_credited_to_both(demo):
    _, _, export = demo
    by_url = {canonical_url(i["url"]): i for i in export["items"]}
    ai = next(m for m in manifests() if m["digest"]["slug"] == "ai")
    for pair in ai["syndicated"]:  # exact copies, and a light rewrite folded by its MinHash signature
        found = [by_url.get(canonical_url(link)) for link in pair["links"]]
        first = found[0]
        assert first is not None and len(first["sources"]) == 2, pair
        assert all(f is None or f["id"] == first["id"] for f in found)


def test_every_link_in_the_corpus_is_a_web_link():
    """A real feed's or page's links are absolute http(s) URLs: a relative one in a local file resolves to
    nothing, and a file:// one is never followed."""
    links = []
    for path in (p for day in demo_days() for p in day.rglob("*") if p.is_file()):
        if path.suffix == ".json":
            links += [(path, i.get(k)) for i in json.loads(path.read_text())["items"]
                      for k in ("url", "external_url") if i.get(k)]
        else:
            found = re.findall(r"<link>([^<]*)</link>|<link\s[^>]*href=[\"']([^\"']*)[\"']", path.read_text())
            links += [(path, a or b) for a, b in found]
    assert len(links) > 100
    assert [(path.name, link) for path, link in links if web_url(link) != link] == []


def test_truncated_entry_got_its_full_text(demo):
    """The feed carries a teaser whose link is the article's canonical URL; the page itself is a source named in
    the config, read before the feed, so the teaser is known and the stored item keeps the page's full text."""
    _, store, export = demo
    ai = next(m for m in manifests() if m["digest"]["slug"] == "ai")
    truncated = ai["truncated"]
    assert truncated["link"] == truncated["canonical"]
    teaser = next(e for e in feedparser.parse((demo_days()[1] / truncated["source"]).read_bytes()).entries
                  if e.link == truncated["link"])
    assert "[…]" in teaser.summary and len(teaser.summary) < 400
    config = tomllib.loads((corpus_dir() / "tidings.toml").read_text())
    urls = [s["url"] for s in config["sources"]]
    assert urls.index("feeds/" + truncated["page"]) < urls.index("feeds/" + truncated["source"])
    items = [i for i in export["items"] if canonical_url(i["url"]) == canonical_url(truncated["canonical"])]
    assert len(items) == 1
    item = items[0]
    assert len(item["text"]) > 800 and "[…]" not in item["text"]
    assert item["text"].startswith(squash(teaser.summary).removesuffix("[…]").rstrip()[:200])
    sources = {s.id: s.url for s in store.sources()}
    assert {sources[i].rsplit("/", 1)[-1] for i in item["sources"]} == {truncated["source"],
                                                                        truncated["page"].rsplit("/", 1)[-1]}


def test_bad_sources_are_reported_and_the_rest_ingested(demo):
    _, store, _ = demo
    climate = next(m for m in manifests() if m["digest"]["slug"] == "climate")
    bad = {b["source"] for b in climate["bad_sources"]}
    status = {s.url.rsplit("/", 1)[-1]: s for s in store.sources()}
    for name in bad:
        assert status[name].status == "error" and status[name].last_error
    assert sum(s.status == "ok" for s in status.values()) >= 10


def test_the_sources_page_tells_a_page_from_a_feed_of_the_same_name(demo):
    stats, store, _ = demo
    page = (stats.site / "sources.html").read_text()
    rows = [row for row in page.split("<tr>") if "Benchmark Beat" in row]
    assert len(rows) == 2 and sum("(page)" in row for row in rows) == 1
    pages = {s.label for s in store.sources() if s.kind == "page"}
    assert pages and all(f"{name} <span class=\"meta\">(page)</span>" in page for name in pages)


def test_storylines_do_not_share_stories_much(demo):
    """Clustering v1 floor on the demo: most stories hold a single storyline."""
    _, _, export = demo
    label = labels()
    items = {i["id"]: canonical_url(i["url"]) for i in export["items"]}
    pure = 0
    for story in export["stories"]:
        found = Counter(label.get(items[i], "?") for i in story["item_ids"])
        pure += len(found) == 1
    assert pure >= len(export["stories"]) - 2


def test_demo_config_is_valid():
    assert load_config(corpus_dir() / "tidings.toml").digests


def test_verdicts_reach_articles_pages_and_export(demo):
    stats, _, export = demo
    closed = next(e["sentence"] for m in manifests() for e in m.get("errors", [])
                  if any(c["attribute"] == "openness" for c in e["claims"]))
    flagged = [c for i in export["items"] for c in i["claims"] if c["sentence"] == closed]
    assert {(c["model"], c["verdict"]) for c in flagged} == {("gpt-oss-120b", "contradicted"),
                                                             ("qwen3.5", "contradicted")}
    assert all(c["evidence"] and c["evidence"][0]["source"] for c in flagged)
    checked = [r for s in export["stories"] for r in s["revisions"][-1:]
               if any(f["sentence"] == closed for f in r["fact_check"])]
    assert checked, "the story carrying the sentence reports it in its fact check"
    for story in export["stories"]:
        for revision in story["revisions"]:  # a contradicted claim is never stated as fact
            assert all(s["text"] != closed for sec in revision["sections"] for s in sec["sentences"])
    watch = (stats.site / "ai" / "misinformation.html").read_text()
    assert "gpt-oss-120b" in watch and "Contradicted" in watch and "closed models like" in watch
    page = next(p for p in (stats.site / "ai" / "stories").glob("*.html") if "Fact check" in p.read_text())
    assert "Knowledge base:" in page.read_text()
    # the terminal says it as the page does: the claim, its source's number, and what the knowledge base says
    from tidings.publish.text import article_text

    store = demo[1]
    story = store.story(next(s["id"] for s in export["stories"] if s["revisions"][-1] in checked))
    shown = " ".join(article_text(story, store.latest_revision(story.id)).split())
    assert re.search(r"CONTRADICTED: gpt-oss-120b is closed(\[\d+\])+\. Knowledge base: gpt-oss-120b is "
                     r"open-weight", shown), shown


# --- articles a reader can trust ---------------------------------------------------------------------------

def test_every_current_article_meets_the_writing_measures(demo):
    """Measured over the demo's current articles: each fact once, sentences that stand alone, dated relative
    days, verbatim attribution, and most publishers of a story cited."""
    from tidings.write.measures import measure

    _, store, _ = demo
    rows = [measure(store.latest_revision(s.id), store.story_items(s.id)) for s in store.stories()]
    assert all(r["attributed"] == 1.0 for r in rows)
    assert sum(r["repeated_figures"] for r in rows) == 0
    assert sum(r["overlapping_pairs"] for r in rows) == 0
    assert sum(r["not_standalone"] for r in rows) == 0
    assert sum(r["undated_relative_days"] for r in rows) == 0
    small = [r["publisher_coverage"] for r in rows if r["publishers"] <= 8]
    assert small and sum(small) / len(small) >= 0.8


def test_the_swe_bench_harness_gap_is_a_perspective(demo):
    _, _, export = demo
    found = [(s, sec) for s in export["stories"] for sec in s["revisions"][-1]["sections"]
             if sec["heading"] == "Perspectives"]
    gap = [sec for _, sec in found if any("62%" in x["text"] and "41.9" in " ".join(y["text"] for y in sec[
        "sentences"]) for x in sec["sentences"])]
    assert gap, "the 62% card figure and the 41.9% OpenHands run are set side by side"
    cited = {n for x in gap[0]["sentences"] for n in x["cites"]}
    assert len(cited) >= 2


def test_ai_storylines_have_timelines_with_dated_lines(demo):
    _, _, export = demo
    ai = [s for s in export["stories"] if s["digest"] == "ai" and len(s["revisions"]) > 1]
    with_timeline = [s for s in ai if any(sec["heading"] == "Timeline" for sec in s["revisions"][-1]["sections"])]
    assert len(with_timeline) >= len(ai) - 1
    for s in with_timeline:
        lines = next(sec for sec in s["revisions"][-1]["sections"] if sec["heading"] == "Timeline")["sentences"]
        assert all(re.fullmatch(r"[A-Z][a-z]{2}( \d{1,2})?(, \d{4}| \d{4})?", x["label"]) for x in lines)


def test_citation_numbers_never_change_and_revisions_carry_their_diff(demo):
    _, _, export = demo
    for story in export["stories"]:
        seen: dict[int, int] = {}
        for revision in story["revisions"]:
            for c in revision["sources"]:
                assert seen.setdefault(c["item_id"], c["n"]) == c["n"], (story["id"], c)
            assert set(revision["diff"]) == {"added", "removed"}
        later = story["revisions"][1:]
        assert all(r["diff"]["added"] or r["diff"]["removed"] or r["changes"] for r in later)


def test_headlines_hold_and_come_from_credible_sources(demo):
    _, store, export = demo
    credibility = {s.name: s.credibility for s in store.sources()}
    changes = [sum(1 for a, b in zip(s["revisions"], s["revisions"][1:], strict=False)
                   if a["headline"] != b["headline"]) for s in export["stories"]]
    assert max(changes) <= 1 and sum(changes) <= 4  # a title moves once at most, when its storyline has moved
    for story in export["stories"]:
        latest = story["revisions"][-1]
        carrier = [c for c in latest["sources"] if latest["headline"] in c["title"]]
        assert carrier and max(credibility.get(c["publisher"]) or 0.6 for c in carrier) >= 0.6, latest["headline"]


def test_revision_pages_mark_changes_and_link_back(demo):
    stats, _, export = demo
    story = next(s for s in export["stories"] if len(s["revisions"]) >= 3)
    folder = stats.site / story["digest"] / "stories" / str(story["id"])
    middle = (folder / "r2.html").read_text()
    # A revision's page links to the one before and to the story; never forward, so it never changes.
    assert 'rel="prev" href="r1.html"' in middle and "r3.html" not in middle
    assert f'href="../{story["id"]}.html"' in middle
    assert "<ins>" in middle
    feed = (stats.site / story["digest"] / "feed.atom").read_text()
    assert story["revisions"][-1]["changes"][0].split(":")[0] in feed  # the entry's summary: what changed


def test_fact_check_and_index_are_readable(demo):
    stats, _, _ = demo
    index = (stats.site / "ai" / "index.html").read_text()
    assert "contradicted claim" in index
    _, store, _ = demo
    widest = max(store.stories("ai"), key=lambda s: len(s.item_ids))
    first = re.search(r'href="stories/(\d+)\.html"', index.split('class="stories"')[1]).group(1)
    assert int(first) == widest.id  # the story most covered leads the digest
    page = next(p.read_text() for p in (stats.site / "ai" / "stories").glob("*.html")
                if 'class="verdict-contradicted"' in p.read_text() and "<details>" in p.read_text())
    assert "Single source</span> one publisher" in page  # the legend
    checks = page.split('id="fact-check"')[1].split('class="sources"')[0]
    assert re.search(r'rel="nofollow noopener">[a-z0-9-]+(\.[a-z0-9-]+)+</a>', checks)  # named by domain
    assert ">source</a>" not in checks
    assert "swe-bench-verified" not in page.split('id="fact-check"')[1]  # display names, not KB ids
