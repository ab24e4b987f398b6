"""`tidings serve`: the site's pages, search and the JSON API, over a real store, in-process and over HTTP."""

import base64
import json
import re
import socket
import threading
import time
from datetime import timedelta
from html import escape
from xml.etree import ElementTree

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.conftest import NOW, make_config, rss
from tidings.cli import cli
from tidings.config import load_config
from tidings.demo import run_demo
from tidings.pipeline import run
from tidings.publish.serialize import story_json
from tidings.store import Store
from tidings.web.app import create_app

NAV = '<nav><a href="/search">Search</a></nav>'
TRACKER = ' · <a href="tracker">Model tracker</a>'  # the served digest page links to the tracker too


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    run_demo(folder)
    config = load_config(folder / "tidings.toml")
    app = create_app(config)
    with TestClient(app) as client:
        yield folder, config, client, app.state.site.store
    app.state.site.store.close()


def test_every_page_answers_at_the_static_sites_address_and_without_html(demo):
    folder, _, client, store = demo
    story = store.stories("ai")[0]
    paths = ["/", "/index.html", "/ai/", "/ai/index.html", "/ai/misinformation.html", "/ai/misinformation",
             f"/ai/stories/{story.id}.html", f"/ai/stories/{story.id}", f"/ai/stories/{story.id}/r1.html",
             f"/ai/stories/{story.id}/r1", "/sources.html", "/sources", "/style.css", "/search"]
    week = sorted((folder / "site" / "ai" / "archive").glob("*.html"))[0].stem
    paths += [f"/ai/archive/{week}.html", f"/ai/archive/{week}"]
    paths += ["/ai/misinformation/2026-03.html", "/ai/misinformation/2026-03"]  # the demo's flagged claims' month
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
    assert "Misinformation watch: March 2026" in client.get("/ai/misinformation/2026-03").text
    assert client.get("/ai/archive/1999-W01").status_code == 404
    assert client.get("/ai/misinformation/1999-01").status_code == 404
    assert client.get("/ai", follow_redirects=False).headers["location"] == "/ai/"


def test_pages_are_the_static_sites_pages_plus_search(demo):
    folder, _, client, store = demo
    site = folder / "site"
    story = store.stories("climate")[0]
    week = sorted((site / "ai" / "archive").glob("*.html"))[0].name
    for path in ["index.html", "ai/index.html", f"climate/stories/{story.id}.html",
                 f"climate/stories/{story.id}/r1.html", "ai/misinformation.html", "sources.html",
                 f"ai/archive/{week}"]:
        served = client.get("/" + path).text
        assert NAV in served
        assert served.replace(NAV, "").replace(TRACKER, "") == (site / path).read_text(encoding="utf-8"), path


def test_the_home_page_shows_each_digest_with_its_biggest_stories_first(demo):
    _, _, client, store = demo
    html = client.get("/").text
    for digest in store.digests():
        assert f'href="{digest.slug}/index.html">{escape(digest.title)}</a>' in html
    # The digest's own page ranks its stories; the home page shows its first ones in that order.
    digest_page = client.get("/ai/").text
    ranked = re.findall(r'href="stories/(\d+)\.html">', digest_page)
    shown = re.findall(r'href="ai/stories/(\d+)\.html">', html)
    assert shown and shown == list(dict.fromkeys(ranked))[:len(shown)]


def test_every_get_has_an_etag_and_a_matching_if_none_match_gets_304(demo):
    _, _, client, store = demo
    story = store.stories()[0]
    for path in ["/", f"/ai/stories/{story.id}.html", "/api/digests", f"/api/stories/{story.id}",
                 "/api/search?q=model", "/search?q=model"]:
        first = client.get(path)
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag), path
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"", path
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_unknown_pages_and_ids_are_404_with_a_json_error_under_the_api(demo):
    _, _, client, store = demo
    for path in ["/api/stories/999999", "/api/stories/999999/revisions/1", "/api/stories/1/revisions/999",
                 "/api/items/999999", "/api/items/0", "/api/stories/-3", "/api/nothing"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"], path
    climate = store.stories("climate")[0].id
    for path in ["/nowhere/", "/ai/stories/999999.html", "/ai/stories/abc.html", "/ai/stories/1/r999.html",
                 f"/ai/stories/{climate}.html"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "text/html" in response.headers["content-type"] and "Not found" in response.text


def test_bad_parameters_are_422_never_500(demo):
    _, _, client, _ = demo
    for path in ["/api/stories?limit=0", "/api/stories?limit=100000", "/api/stories?limit=x",
                 "/api/stories?cursor=%%%", "/api/stories?cursor=bm90IGpzb24", "/api/stories?updated_since=yesterday",
                 "/api/stories/abc", "/api/search", "/api/search?q=a&verdict=true", "/api/search?q=a&offset=-1",
                 "/api/search?q=a&since=soon",
                 # times UTC cannot hold: the first instant of year 1 an hour east of Greenwich, the last one west
                 "/api/search?q=a&since=0001-01-01T00:00:00%2B01:00", "/api/search?q=a&until=9999-12-31T23:59:59-01:00",
                 "/api/stories?updated_since=0001-01-01T00:00:00%2B00:01"]:
        response = client.get(path)
        assert response.status_code == 422, path
        assert "error" in response.json() and "\n" not in response.json()["error"]
    assert client.get("/search?q=a&since=2026-13-40").status_code == 422
    assert client.get("/api/stories?digest=nope").status_code == 404
    # numbers no database integer holds, and filters that cannot both hold
    huge = base64.urlsafe_b64encode(json.dumps(["2026-03-14T00:00:00+00:00", 10**30]).encode()).decode()
    endless = base64.urlsafe_b64encode(b'["2026-03-14T00:00:00+00:00", Infinity]').decode()
    for path in [f"/api/stories?cursor={huge}", f"/api/stories?cursor={endless}",
                 "/search?q=a&offset=99999999999999999999", "/api/search?q=a&offset=99999999999999999999",
                 "/api/search?q=a&since=2026-03-15&until=2026-03-14",
                 "/search?q=a&since=2026-03-15&until=2026-03-14", "/api/search?q=%22", "/api/search?q=+"]:
        assert client.get(path).status_code == 422, path
    assert "nothing to search for" in client.get("/search?q=%22%22").text
    # said as a person would say it
    said = {path: client.get(path).json()["error"] for path in [
        "/api/stories?updated_since=yesterday", "/api/stories/abc", "/api/search", "/api/search?q=a&offset=-1"]}
    assert said == {"/api/stories?updated_since=yesterday": "updated_since: 'yesterday' is not a date; use "
                    "YYYY-MM-DD or a time such as 2026-03-14T09:00:00Z",
                    "/api/stories/abc": "story_id: 'abc' is not a whole number",
                    "/api/search": "q: required", "/api/search?q=a&offset=-1": "offset: must be 0 or more"}


def test_head_requests_and_the_api_root(demo):
    _, _, client, _ = demo
    for path in ["/", "/style.css", "/api/stories", "/ai/"]:
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["etag"] == got.headers["etag"], path
    api = client.get("/api", follow_redirects=False)
    assert api.status_code == 307 and api.headers["location"] == "/api/docs"
    assert client.get("/api/").url.path == "/api/docs"
    wrong = client.get("/api/search", params={"q": "model", "digest": "nope"})
    assert wrong.status_code == 404 and wrong.json()["error"] == "no digest 'nope'"
    assert "no digest &#39;nope&#39;" in client.get("/search", params={"q": "model", "digest": "nope"}).text


def test_story_lists_page_by_cursor_through_every_story_once_newest_first(demo):
    _, _, client, store = demo
    seen, cursor = [], None
    while True:
        page = client.get("/api/stories", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert set(page) == {"stories", "next_cursor"}
        seen += page["stories"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [s["id"] for s in seen] == [s.id for s in store.stories()]
    climate = client.get("/api/stories", params={"digest": "climate"}).json()["stories"]
    assert {s["digest"] for s in climate} == {"climate"} and len(climate) == len(store.stories("climate"))
    newest = max(s.updated for s in store.stories())
    recent = client.get("/api/stories", params={"updated_since": newest.isoformat()}).json()["stories"]
    assert recent and all(s["updated"] >= newest.isoformat() for s in recent)


def test_a_story_comes_in_the_exports_shape_with_its_current_revision(demo):
    _, _, client, store = demo
    story = store.stories("ai")[0]
    got = client.get(f"/api/stories/{story.id}").json()
    expected = json.loads(json.dumps(story_json(story, store.revisions(story.id), history=False)))
    assert got == expected
    assert got["revision"]["number"] == story.revision_count and got["revision"]["fact_check"] is not None
    assert got["sources"] and all(s["url"].startswith("https://") for s in got["sources"])
    revision = client.get(f"/api/stories/{story.id}/revisions/1").json()
    assert revision["number"] == 1 and revision["story_id"] == story.id and revision["sections"]
    item = client.get(f"/api/items/{story.item_ids[0]}").json()
    assert item["id"] == story.item_ids[0] and {"id": story.id, "digest": "ai", "title": story.title} in item["stories"]


def test_the_openapi_document_lists_the_api(demo):
    _, _, client, _ = demo
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/digests", "/api/stories", "/api/stories/{story_id}", "/api/stories/{story_id}/revisions/{number}",
            "/api/items/{item_id}", "/api/search"} <= set(paths)
    assert not any(p.startswith("/{slug}") for p in paths)  # pages are not part of the API


def test_the_atom_feed_is_served_and_well_formed(demo):
    _, _, client, _ = demo
    response = client.get("/ai/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert ElementTree.fromstring(response.content).tag.endswith("feed")


# --- search ---------------------------------------------------------------------------------------------------

LICENSE = ("<p>The Wexford model ships under a permissive license that allows commercial use. Its makers say the "
           "license covers the weights and the training code.</p>")
NEMOTRON = "<p>Nemotron models were compared with other open models by the lab this week in a long report.</p>"
QWEN = "<p>Qwen models lead the small-model ranking, a survey of hobbyists and labs found this month.</p>"
BOTH = "<p>Nemotron and Qwen were both tested: Nemotron was faster, Qwen was more accurate on the set.</p>"
HOSTILE = "<p>A <b>bold</b> claim &lt;script&gt;alert(1)&lt;/script&gt; about Nemotron appeared in a forum post.</p>"


@pytest.fixture
def searchable(tmp_path):
    folder = tmp_path / "feeds"
    folder.mkdir()
    entries = [{"title": "Wexford model released", "link": "https://a.example/wexford", "text": LICENSE},
               {"title": "Nemotron compared", "link": "https://a.example/nemotron", "text": NEMOTRON},
               {"title": "Small models ranked", "link": "https://a.example/qwen", "text": QWEN,
                "date": "Sat, 14 Mar 2026 09:00:00 +0000"},
               {"title": "Two families tested", "link": "https://a.example/both", "text": BOTH},
               {"title": "Forum post: 5 &lt; 7", "link": "https://b.example/forum",
                "text": HOSTILE}]
    (folder / "wire.rss").write_text(rss(entries[:4]))
    (folder / "forum.rss").write_text(rss(entries[4:], "Forum"))
    config = make_config(tmp_path, [{"url": str(folder / "wire.rss"), "name": "Wire"},
                                    {"url": str(folder / "forum.rss"), "name": "Forum"}], fetch_full_text=False)
    run(config, now=NOW, publish=False)
    store = Store(config.db_url)
    with TestClient(create_app(config, store)) as client:
        yield client
    store.close()


def _titles(client, **params) -> list[str]:
    return [r["item"]["title"] for r in client.get("/api/search", params=params).json()["results"]]


def test_words_combine_as_any_with_items_having_more_of_them_first(searchable):
    found = _titles(searchable, q="nemotron qwen")
    assert set(found) == {"Nemotron compared", "Small models ranked", "Two families tested",
                          "Forum post: 5 < 7"}
    assert found[0] == "Two families tested"


def test_common_words_count_only_when_nothing_else_was_typed(searchable):
    assert _titles(searchable, q="the nemotron") == _titles(searchable, q="nemotron")
    assert len(_titles(searchable, q="the")) > len(_titles(searchable, q="nemotron"))


def test_quotes_make_a_phrase_and_spellings_and_forms_match(searchable):
    assert _titles(searchable, q='"nemotron was faster"') == ["Two families tested"]
    assert _titles(searchable, q='"faster nemotron"') == []
    assert _titles(searchable, q="licence") == ["Wexford model released"]
    assert _titles(searchable, q="licenses") == ["Wexford model released"]


def test_filters_narrow_the_hits(searchable):
    assert _titles(searchable, q="nemotron", publisher="forum") == ["Forum post: 5 < 7"]
    assert _titles(searchable, q="models", since="2026-03-14T00:00:00Z") == ["Small models ranked"]
    earlier = _titles(searchable, q="models", until="2026-03-14T00:00:00Z", digest="news")
    assert earlier and "Small models ranked" not in earlier


def test_hits_mark_the_matched_words_and_escape_everything_else(searchable):
    result = searchable.get("/api/search", params={"q": "forum"}).json()["results"][0]
    assert "<mark>" in result["snippet_html"] or "<mark>" in result["title_html"]
    assert result["title"] == "Forum post: 5 < 7" and "5 &lt; 7" in result["title_html"]
    assert "<script>" in result["snippet"] and "<script>" not in result["snippet_html"]
    page = searchable.get("/search", params={"q": "nemotron alert"}).text
    assert "<script>" not in page and "&lt;script&gt;<mark>alert</mark>(1)" in page


def test_a_search_with_no_hits_says_so(searchable):
    page = searchable.get("/search", params={"q": "zeppelin"})
    assert page.status_code == 200 and "No results for “zeppelin”" in page.text
    assert searchable.get("/api/search", params={"q": "zeppelin"}).json() == {"results": [], "next_offset": None}
    assert searchable.get("/api/search", params={"q": '"; DROP TABLE items; --'}).status_code == 200


def test_the_cli_searches_the_same_way(searchable, tmp_path):
    out = CliRunner().invoke(cli, ["--db", str(tmp_path / "tidings.db"), "search", "licence"])
    assert out.exit_code == 0 and "Wexford model released" in out.output and "license" in out.output


# --- over HTTP ------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tidings_serve_answers_over_http_and_a_taken_port_is_one_line(demo):
    folder, config, _, store = demo
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        story = store.stories()[0]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            page = http.get(f"/{story.digest}/stories/{story.id}")
            assert page.status_code == 200 and story.title.split()[0] in page.text
            assert http.get("/api/digests").json()["digests"][0]["slug"] == "ai"
        out = CliRunner().invoke(cli, ["-c", str(folder / "tidings.toml"), "serve", "--port", str(port)])
        assert out.exit_code == 1
        assert out.output.strip() == f"Error: 127.0.0.1:{port}: already in use; choose another with --port"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_pages_change_when_a_run_adds_to_the_store(tmp_path):
    folder = tmp_path / "feeds"
    folder.mkdir()
    first = {"title": "Harbour barrier approved", "link": "https://w.example/a", "text": NEMOTRON}
    (folder / "wire.rss").write_text(rss([first]))
    config = make_config(tmp_path, [{"url": str(folder / "wire.rss"), "name": "Wire"}], fetch_full_text=False)
    run(config, now=NOW, publish=False)
    store = Store(config.db_url)
    with TestClient(create_app(config, store, fresh_within=0)) as client:
        before = client.get("/api/stories").json()["stories"]
        etag = client.get("/").headers["etag"]
        (folder / "wire.rss").write_text(rss([first, {"title": "Qwen ranking", "link": "https://w.example/b",
                                                       "text": QWEN}]))
        run(config, now=NOW + timedelta(hours=2), publish=False)
        after = client.get("/api/stories").json()["stories"]
        assert len(after) == len(before) + 1
        assert client.get("/", headers={"If-None-Match": etag}).status_code == 200
    # By default the store's data version is trusted for a second: within it, a page may show the run before.
    with TestClient(create_app(config, store, fresh_within=3600)) as client:
        listed = client.get("/api/stories").json()["stories"]
        (folder / "wire.rss").write_text(rss([first, {"title": "Comet seen", "link": "https://w.example/c",
                                                       "text": LICENSE}]))
        run(config, now=NOW + timedelta(hours=4), publish=False)
        assert client.get("/api/stories").json()["stories"] == listed
    store.close()


def test_the_tracker_page_csv_and_api_are_served(demo):
    _, _, client, _ = demo
    page = client.get("/ai/tracker")
    assert page.status_code == 200 and "<svg" in page.text and "<script" not in page.text
    assert client.get("/ai/tracker.html").text == page.text
    assert 'href="tracker"' in client.get("/ai/").text
    csv = client.get("/ai/tracker.csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("record,")
    data = client.get("/api/tracker", params={"digest": "ai"}).json()
    assert data["digest"] == "ai" and data["models"] and data["benchmarks"]
    assert client.get("/api/tracker", params={"digest": "nope"}).status_code == 404


def test_feeds_in_three_formats_are_the_published_ones_with_an_entry_per_update(demo):
    import feedparser

    folder, _, client, store = demo
    for name in ("feed.atom", "feed.rss", "feed.json"):
        served = client.get(f"/ai/{name}")
        assert served.status_code == 200
        assert served.content == (folder / "site" / "ai" / name).read_bytes(), name
    rss = feedparser.parse(client.get("/ai/feed.rss").content)
    assert rss.version == "rss20" and rss.entries
    feed = client.get("/ai/feed.json").json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["items"]
    revised = next(s for s in store.stories("ai") if s.revision_count > 1)
    item = next(i for i in feed["items"] if i["url"].endswith(f"/ai/stories/{revised.id}.html"))
    assert item["id"].endswith(f"/ai/stories/{revised.id}/r{revised.revision_count}.html")
    assert item["summary"] == " ".join(store.latest_revision(revised.id).changes)
    assert client.get("/ai/feed.xml").status_code == 404


def test_pages_are_made_ahead_and_a_run_remakes_only_the_stories_it_changed(tmp_path, monkeypatch):
    import threading

    from tidings.publish import pages

    folder = tmp_path / "feeds"
    folder.mkdir()
    items = [{"title": "Wexford model released", "link": "https://a.example/w", "text": LICENSE},
             {"title": "Small models ranked", "link": "https://a.example/q", "text": QWEN}]
    (folder / "wire.rss").write_text(rss(items))
    config = make_config(tmp_path, [{"url": str(folder / "wire.rss"), "name": "Wire"}], fetch_full_text=False)
    run(config, now=NOW, publish=False)
    store = Store(config.db_url)
    made = []
    real = pages.story_page
    monkeypatch.setattr(pages, "story_page", lambda *a: made.append(a[2].id) or real(*a))
    app = create_app(config, store, fresh_within=0)
    site = app.state.site
    stories = store.stories()
    assert site.warm(threading.Event()) == len(stories) == 2 and sorted(made) == sorted(s.id for s in stories)
    with TestClient(app) as client:
        for s in stories:
            assert client.get(f"/{s.digest}/stories/{s.id}").status_code == 200
        assert len(made) == 2  # both answered from the pages made ahead
        qwen = next(s for s in stories if "ranked" in s.title.lower())
        items.append({"title": "Small models ranked again", "link": "https://a.example/q2", "text": QWEN + BOTH})
        (folder / "wire.rss").write_text(rss(items))
        run(config, now=NOW + timedelta(hours=3), publish=False)
        changed = {s.id for s in store.stories() if s.revision_count > 1}
        assert changed and qwen.id in changed
        for s in stories:
            assert client.get(f"/{s.digest}/stories/{s.id}").status_code == 200
        assert sorted(made[2:]) == sorted(changed)  # the unchanged story's page was kept, not made again
    store.close()


def test_serve_with_run_every_runs_the_pipeline_beside_the_server(tmp_path):
    import signal
    import subprocess
    import sys

    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "wire.rss").write_text(rss([{"title": "Wexford model released", "link": "https://a.example/w",
                                           "text": LICENSE}]))
    (tmp_path / "tidings.toml").write_text(
        f'db = "{tmp_path / "tidings.db"}"\nsite_dir = "{tmp_path / "site"}"\n\n[settings]\nfetch_full_text = false\n\n'
        '[[digests]]\nslug = "news"\ntitle = "News"\n\n'
        f'[[sources]]\nurl = "{feeds / "wire.rss"}"\nname = "Wire"\n', encoding="utf-8")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tidings", "-q", "-c", str(tmp_path / "tidings.toml"), "serve",
                               "--port", str(port), "--run-every", "1h"], stderr=subprocess.PIPE, text=True)
    try:
        stories = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            page = None
            for _ in range(300):  # the server starts, and its first run reads the new source and writes its story
                try:
                    stories = http.get("/api/stories").json()["stories"]
                    # (a story the run has placed but not yet written has no page until its first revision)
                    page = http.get(f"/news/stories/{stories[0]['id']}") if stories else None
                except httpx.TransportError:
                    stories = []
                if page is not None and page.status_code == 200:
                    break
                time.sleep(0.1)
            assert [s["title"] for s in stories] == ["Wexford model released"]
            assert page is not None and page.status_code == 200 and "Wexford" in page.text
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors


def test_the_serve_banner_names_the_store_as_a_path_never_with_a_password(demo, monkeypatch, capsys):
    import uvicorn

    from tidings.web.serve import serve

    folder, config, _, _ = demo
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)  # the banner, not the serving
    serve(config, port=_free_port())
    assert capsys.readouterr().out.startswith(f"tidings: serving {folder / 'tidings.db'} at http://127.0.0.1:")
