"""The model writer end to end: `tidings run` with `[writer] backend = "openai"` against a real chat-completions
server on 127.0.0.1 that replies as scripted. Faithful sentences are published with their citations; invented
figures, wrong citations, citations of sources that do not exist and contradicted claims are dropped; a server
that times out, fails or answers nonsense leaves the revision to the extractive writer, and the run completes."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.chat_server import ChatServer, Reply, always, passages
from tests.conftest import ARTICLE_A, rss
from tidings.cli import cli
from tidings.config import parse_config
from tidings.model import Digest
from tidings.pipeline import opened, run
from tidings.publish.export import export_state
from tidings.publish.text import article_text

NOW = datetime(2026, 3, 13, 18, 0, tzinfo=UTC)
KEY = "sk-loopback-7d1e9c2b4a"

OPEN = ("<p>OpenAI released gpt-oss-120b and gpt-oss-20b on August 5, 2025, with open weights under the Apache 2.0 "
        "licence. The larger gpt-oss-120b model has 117 billion parameters, of which 5.1 billion are active for "
        "each token. Developers can run gpt-oss-20b on a laptop with 16 GB of memory.</p>")
BUZZ = ("<p>gpt-oss-120b is a closed model that OpenAI keeps behind its paid API. Developers on forums say "
        "gpt-oss-120b handles long documents well. The gpt-oss-120b model still draws heavy traffic on developer "
        "forums this week.</p>")

FAITHFUL = [
    ("Summary", "OpenAI put out gpt-oss-120b and gpt-oss-20b on Aug 5, 2025, with open weights.", "open"),
    ("Background", "The larger of the two has 117B parameters, 5.1B of them active per token.", "open"),
    ("Background", "Both come under the Apache 2.0 licence.", "open"),
    ("Background", "Developers on forums say gpt-oss-120b handles long documents well.", "buzz"),
]
FAULTS = {
    "invented figure": ("OpenAI trained the larger model on 40 trillion tokens.", "open"),
    "wrong passage": ("Developers report that gpt-oss-120b handles long documents well.", "open"),
    "no such source": ("The gpt-oss-20b model runs on a laptop with 16 GB of memory.", "nine"),
    "contradicted claim": ("gpt-oss-120b is a closed model that OpenAI keeps behind its paid API.", "buzz"),
}


def corpus(tmp_path: Path) -> list[dict]:
    (tmp_path / "open.rss").write_text(rss([{"title": "OpenAI releases gpt-oss-120b with open weights",
                                             "link": "https://open.example/gpt-oss", "text": OPEN}],
                                           title="Open Checkpoint"))
    (tmp_path / "buzz.rss").write_text(rss([{"title": "gpt-oss-120b draws crowds on developer forums",
                                             "link": "https://buzz.example/gpt-oss", "text": BUZZ}],
                                           title="AI Buzz"))
    return [{"url": str(tmp_path / "open.rss"), "name": "Open Checkpoint", "credibility": 0.9},
            {"url": str(tmp_path / "buzz.rss"), "name": "AI Buzz", "credibility": 0.3}]


def configure(tmp_path: Path, base_url: str, timeout: float = 10.0, sources: list[dict] | None = None):
    data = {"db": str(tmp_path / "tidings.db"), "site_dir": str(tmp_path / "site"),
            "digests": [{"slug": "ai", "title": "AI", "keywords": ["gpt-oss", "open-weight", "model"]}],
            "sources": sources if sources is not None else corpus(tmp_path),
            "settings": {"fetch_full_text": False},
            "writer": {"backend": "openai", "base_url": base_url, "model": "scripted", "timeout": timeout,
                       "api_key_env": "TIDINGS_TEST_KEY"}}
    return parse_config(data, tmp_path / "tidings.toml")


def article(lines: list[tuple[str, str, str]]):
    """A responder writing these (section, sentence, source) lines, with the request's own citation numbers."""
    def respond(body: dict) -> str:
        numbers = {"nine": 9}
        for n, text in passages(body).items():
            numbers["open" if text.startswith("Open Checkpoint,") else "buzz"] = n
        out, heading = ["Here is the article you asked for:"], None
        for section, text, source in lines:
            if section != heading:
                out += ["", f"## {section}"]
                heading = section
            out.append(f"{text} [{numbers[source]}]")
        return "\n".join(out)
    return respond


def latest(config):
    with opened(config) as store:
        stories = store.stories()
        assert len(stories) == 1, "the corpus is one story"
        return store.latest_revision(stories[0].id)


def sentences(revision) -> list[str]:
    return [s.text for s in revision.sentences()]


def test_a_faithful_article_is_published_with_its_citations(tmp_path, monkeypatch):
    monkeypatch.setenv("TIDINGS_TEST_KEY", KEY)
    with ChatServer(article(FAITHFUL)) as server:
        config = configure(tmp_path, server.base_url)
        stats = run(config, now=NOW)
        seen = server.chat_requests()
    revision = latest(config)
    assert revision.writer == "openai"
    assert sentences(revision) == [text for _, text, _ in FAITHFUL]
    assert [s.heading for s in revision.sections] == ["Summary", "Background"]
    by_publisher = {c.publisher: c.n for c in revision.sources}
    assert [s.cites for s in revision.sentences()] == [
        (by_publisher["Open Checkpoint"],)] * 3 + [(by_publisher["AI Buzz"],)]
    assert revision.dropped == ()
    assert (stats.writer.requests, stats.writer.dropped, stats.writer.fallbacks) == (1, 0, 0)
    assert stats.writer.tokens > 0  # the scripted server counts words as tokens

    # One non-streaming request, the passages numbered as the Sources list numbers them, the key in its header.
    assert len(seen) == 1 and seen[0].path == "/v1/chat/completions"
    body = seen[0].body
    assert body["model"] == "scripted" and body["stream"] is False
    sent = passages(body)
    assert set(sent) == {c.n for c in revision.sources}
    assert sent[by_publisher["Open Checkpoint"]].startswith("Open Checkpoint, 2026-03-13: OpenAI releases gpt-oss")
    assert seen[0].header("authorization") == f"Bearer {KEY}"

    # The page says who wrote it; the export keeps each sentence's passages.
    page = (tmp_path / "site" / "ai" / "stories" / "1.html").read_text()
    assert "Written by a language model (scripted)" in page and "OpenAI put out gpt-oss-120b" in page
    with opened(config) as store:
        exported = export_state(store)
    current = exported["stories"][0]["revisions"][-1]
    assert current["writer"] == "openai" and current["model"] == "scripted"
    first = current["sections"][0]["sentences"][0]
    assert first["checked_against"] == [{"n": by_publisher["Open Checkpoint"],
                                         "text": sent[by_publisher["Open Checkpoint"]]}]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_faulty_sentence_is_dropped_and_the_rest_published(tmp_path, fault, caplog):
    bad, source = FAULTS[fault]
    with ChatServer(article([*FAITHFUL[:2], ("Background", bad, source), *FAITHFUL[2:]])) as server:
        config = configure(tmp_path, server.base_url)
        with caplog.at_level(logging.WARNING, logger="tidings"):
            stats = run(config, now=NOW)
    revision = latest(config)
    assert revision.writer == "openai"
    assert sentences(revision) == [text for _, text, _ in FAITHFUL]
    assert [text for text, _ in revision.dropped] == [bad]
    assert stats.writer.dropped == 1
    logged = [r.getMessage() for r in caplog.records if bad in r.getMessage()]
    assert len(logged) == 1 and "dropped a sentence of the openai writer" in logged[0]
    why = revision.dropped[0][1]
    expected = {"invented figure": "40 trillion", "wrong passage": "", "no such source": "[9]",
                "contradicted claim": "contradicted"}[fault]
    assert expected in why and why in logged[0]
    # The reader is told, on the page and in the terminal, who wrote it and that something was left out.
    note = ("Written by a language model (scripted) from these sources; each sentence was checked against the sources "
            "it cites, and 1 that did not hold up was left out.")
    assert note in (tmp_path / "site" / "ai" / "stories" / "1.html").read_text()
    with opened(config) as store:
        shown = " ".join(article_text(store.stories()[0], revision).split())
    assert note in shown and bad not in shown


@pytest.mark.parametrize("reply", [Reply.slow(5.0, "## Summary\nLate. [1]"), Reply.fail(500, "model crashed"),
                                   Reply.empty(), Reply.garbage(), Reply.no_choices(), "I cannot write this."],
                         ids=["timeout", "500", "empty", "not JSON", "no choices", "no article"])
def test_a_server_that_fails_leaves_the_revision_to_the_extractive_writer(tmp_path, reply, caplog):
    with ChatServer(always(reply)) as server:
        base_url = server.base_url
        config = configure(tmp_path, base_url, timeout=1.0)
        with caplog.at_level(logging.WARNING, logger="tidings"):
            stats = run(config, now=NOW)
    revision = latest(config)
    assert revision.writer == "extractive" and revision.sentences()
    assert stats.revisions == 1 and stats.writer.fallbacks == 1 and not stats.errors
    told = [r.getMessage() for r in caplog.records if "the extractive writer wrote this revision" in r.getMessage()]
    assert len(told) == 1 and "\n" not in told[0]
    assert base_url in told[0] or "the model's reply cannot be used" in told[0]


def test_too_little_left_after_the_check_falls_back(tmp_path, caplog):
    lines = [FAITHFUL[0], ("Background", FAULTS["invented figure"][0], "open"),
             ("Background", FAULTS["wrong passage"][0], "open"), ("Background", FAULTS["no such source"][0], "nine")]
    with ChatServer(article(lines)) as server:
        config = configure(tmp_path, server.base_url)
        with caplog.at_level(logging.WARNING, logger="tidings"):
            stats = run(config, now=NOW)
    assert latest(config).writer == "extractive" and stats.writer.fallbacks == 1
    assert any("only 1 of its 4 sentences held up" in r.getMessage() for r in caplog.records)

    # A lede that does not hold up is enough to fall back, however much else does.
    with ChatServer(article([("Summary", FAULTS["invented figure"][0], "open"), *FAITHFUL[1:]])) as server:
        config = configure(tmp_path / "lede", server.base_url, sources=corpus(tmp_path))
        stats = run(config, now=NOW)
    assert latest(config).writer == "extractive" and stats.writer.fallbacks == 1


def test_a_request_is_made_once_and_its_reply_reused(tmp_path):
    with ChatServer(article(FAITHFUL)) as server:
        config = configure(tmp_path, server.base_url)
        first = run(config, now=NOW)
        again = run(config, now=NOW)  # nothing changed: no story to revise, nothing to ask
        assert (first.writer.requests, again.writer.requests, again.revisions) == (1, 0, 0)
        # Asked again the same question (here: as if the run had been killed after the answer came and before the
        # revision was stored), the stored answer is used and the server is not called.
        with sqlite3.connect(tmp_path / "tidings.db") as db:
            db.execute("DELETE FROM revisions")
            db.execute("DELETE FROM revisions_fts")
            db.execute("INSERT INTO stale_stories (story_id) SELECT id FROM stories")
        rewritten = run(config, now=NOW)
        assert (rewritten.writer.requests, rewritten.writer.reused, rewritten.revisions) == (0, 1, 1)
        assert sentences(latest(config)) == [text for _, text, _ in FAITHFUL]
        assert len(server.chat_requests()) == 1


def test_run_reports_requests_tokens_and_drops_and_keeps_the_key_to_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("TIDINGS_TEST_KEY", KEY)
    lines = [*FAITHFUL, ("Background", FAULTS["invented figure"][0], "open")]
    with ChatServer(article(lines)) as server:
        config = configure(tmp_path, server.base_url)
        (tmp_path / "tidings.toml").write_text(
            f'db = "{config.db}"\nsite_dir = "{config.site_dir}"\n'
            '[settings]\nfetch_full_text = false\n'
            f'[writer]\nbackend = "openai"\nbase_url = "{server.base_url}"\nmodel = "scripted"\n'
            'api_key_env = "TIDINGS_TEST_KEY"\n'
            '[[digests]]\nslug = "ai"\ntitle = "AI"\nkeywords = ["gpt-oss", "open-weight", "model"]\n'
            + "".join(f'[[sources]]\nurl = "{s["url"]}"\nname = "{s["name"]}"\ncredibility = {s["credibility"]}\n'
                      for s in corpus(tmp_path)))
        result = CliRunner().invoke(cli, ["--config", str(tmp_path / "tidings.toml"), "run"])
    assert result.exit_code == 0, result.output
    assert "1 model request (" in result.output and "tokens)" in result.output
    assert "1 sentence dropped by the grounding check" in result.output
    # The key went in the request's header and nowhere else.
    for path in [tmp_path / "tidings.db", *(tmp_path / "site").rglob("*")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in result.output


@pytest.mark.parametrize(("reply", "said"), [
    (Reply.slow(5.0, "## Summary\nLate. [1]"), "did not answer within 1 s"),
    (Reply.fail(404, "model 'scripted' not found"), "answered HTTP 404: model 'scripted' not found"),
    (Reply.fail(429, "rate limit reached"), "answered HTTP 429: rate limit reached"),
], ids=["timeout", "no such model", "rate limited"])
def test_a_server_that_cannot_answer_is_asked_once_a_run(tmp_path, caplog, reply, said):
    # Two stories; the server never answers in time. Waiting out the timeout once per story would make a run of a
    # hundred stories take a hundred timeouts: it is asked once, and every story is still written.
    (tmp_path / "harbour.rss").write_text(rss([{"title": "Barrier approved", "link": "https://wire.example/barrier",
                                                "text": ARTICLE_A}], title="Harbour Wire"))
    sources = [*corpus(tmp_path), {"url": str(tmp_path / "harbour.rss"), "name": "Harbour Wire"}]
    with ChatServer(always(reply)) as server:
        config = configure(tmp_path, server.base_url, timeout=1.0, sources=sources)
        config = replace(config, digests=(*config.digests, Digest("harbour", "Harbour",
                                                                  keywords=("harbour", "barrier", "storm"))))
        with caplog.at_level(logging.INFO, logger="tidings"):
            stats = run(config, now=NOW)
        assert len(server.chat_requests()) == 1
    assert stats.revisions == 2 and stats.writer.fallbacks == 2 and stats.writer.requests == 1
    told = [r for r in caplog.records if "the extractive writer wrote this revision" in r.getMessage()]
    assert len(told) == 2 and said in told[0].getMessage()
    # The first is a warning; the second, for the same reason, only information.
    assert "not asked: earlier in this run" in told[1].getMessage()
    assert [r.levelno for r in told] == [logging.WARNING, logging.INFO]


# --- a server that is broken or hostile ------------------------------------------------------------------------

def with_lines(extra: list[tuple[str, str, str]]):
    return article([*FAITHFUL, *extra])


def test_a_heading_is_never_published_unless_it_is_one_asked_for(tmp_path):
    invented = "OpenAI admits gpt-oss-120b leaked user data of 40 million people"
    lines = [FAITHFUL[0], (invented, FAITHFUL[1][1], "open"), ("what’s NEW", FAITHFUL[2][1], "open"),
             ("Background", FAITHFUL[3][1], "buzz")]
    with ChatServer(article(lines)) as server:
        config = configure(tmp_path, server.base_url)
        run(config, now=NOW)
    revision = latest(config)
    assert revision.writer == "openai"
    # The invented heading's sentence goes to the section before it; the heading itself is nowhere.
    assert [(s.heading, len(s.sentences)) for s in revision.sections] == [
        ("Summary", 2), ("What's new", 1), ("Background", 1)]
    assert "leaked" not in (tmp_path / "site" / "ai" / "stories" / "1.html").read_text()


def test_repeats_and_sentences_beyond_the_limit_are_dropped(tmp_path):
    lines = [*FAITHFUL, *[("Background", FAITHFUL[2][1], "open")] * 2]
    with ChatServer(article(lines)) as server:
        config = configure(tmp_path, server.base_url)
        config = replace(config, settings=replace(config.settings, max_sentences=3))
        stats = run(config, now=NOW)
    revision = latest(config)
    assert revision.writer == "openai" and sentences(revision) == [text for _, text, _ in FAITHFUL[:3]]
    whys = [why for _, why in revision.dropped]
    assert whys == ["the article has its 3 sentences already"] + ["it repeats an earlier sentence"] * 2
    assert stats.writer.dropped == 3


@pytest.mark.parametrize("cite", ["[0]", "[99999]"])
def test_a_citation_of_no_source_is_dropped(tmp_path, cite):
    def respond(body: dict) -> str:
        return article(FAITHFUL)(body) + f"\nThe gpt-oss-20b model runs on a laptop with 16 GB of memory. {cite}"
    with ChatServer(respond) as server:
        config = configure(tmp_path, server.base_url)
        run(config, now=NOW)
    revision = latest(config)
    assert revision.writer == "openai" and sentences(revision) == [text for _, text, _ in FAITHFUL]
    assert revision.dropped[0][1] == f"it cites {cite}, which is not one of the story's sources"


@pytest.mark.parametrize("reply", [
    "## Summary\nIt has " + "9" * 5000 + " parameters. [1]",  # a number Python will not turn into an int
    "## Summary\n" + "The gpt-oss models are open. [1] " * 20000,  # more than any article
    "## Summary\n" + "[1] " * 50000 + "x. [1]",  # markers without end
], ids=["huge number", "huge reply", "endless markers"])
def test_a_hostile_reply_costs_only_its_revision(tmp_path, reply):
    with ChatServer(always(reply)) as server:
        config = configure(tmp_path, server.base_url)
        stats = run(config, now=NOW)
        assert run(config, now=NOW).revisions == 0  # and the run after it is unharmed
    assert stats.revisions == 1 and latest(config).sentences()
    assert stats.writer.fallbacks == 1 or latest(config).writer == "openai"


def test_an_unusable_reply_is_not_kept_and_is_asked_for_again(tmp_path):
    asked = []

    def respond(body: dict) -> str:
        asked.append(body)
        return "Sorry, the model is loading, try again." if len(asked) == 1 else article(FAITHFUL)(body)

    with ChatServer(respond) as server:
        config = configure(tmp_path, server.base_url)
        first = run(config, now=NOW)
        assert first.writer.fallbacks == 1 and latest(config).writer == "extractive"
        # The same question again (as if the revision had not been stored): asked again, and answered now.
        with sqlite3.connect(tmp_path / "tidings.db") as db:
            db.execute("DELETE FROM revisions")
            db.execute("DELETE FROM revisions_fts")
            db.execute("INSERT INTO stale_stories (story_id) SELECT id FROM stories")
        again = run(config, now=NOW)
        assert (again.writer.requests, again.writer.reused) == (1, 0)
        assert len(server.chat_requests()) == 2
    assert latest(config).writer == "openai"


def test_a_key_the_server_repeats_is_not_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TIDINGS_TEST_KEY", KEY)
    with ChatServer(always(Reply.fail(401, f"invalid key {KEY}"))) as server:
        sources = [*corpus(tmp_path)]
        config = configure(tmp_path, server.base_url, sources=sources)
        with caplog.at_level(logging.INFO, logger="tidings"):
            stats = run(config, now=NOW)
    assert stats.writer.fallbacks == 1
    assert KEY not in caplog.text and "answered HTTP 401: invalid key [key]" in caplog.text


def test_a_key_that_cannot_be_sent_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("TIDINGS_TEST_KEY", "sk-“pasted”")
    with ChatServer(article(FAITHFUL)) as server:
        config = configure(tmp_path, server.base_url)
        stats = run(config, now=NOW)
        assert server.chat_requests() == []
    assert stats.revisions == 1 and stats.writer.fallbacks == 1


def test_a_reply_trickled_past_the_timeout_is_not_read(tmp_path):
    # Each byte comes in time for a read timeout, but the whole answer would take seconds: the timeout is for the
    # request, so it is given up.
    body = json.dumps({"choices": [{"message": {"content": "## Summary\nOpenAI released it. [1]"},
                                    "finish_reason": "stop"}]}).encode()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
            for byte in body:
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    config = configure(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}/v1", timeout=0.5)
    stats = run(config, now=NOW)
    listener.close()
    assert stats.writer.fallbacks == 1 and latest(config).writer == "extractive"


def test_a_timeline_line_shows_its_date_and_is_checked_with_it(tmp_path):
    lines = [*FAITHFUL, ("Timeline", "Aug 5, 2025: OpenAI released gpt-oss-120b and gpt-oss-20b.", "open"),
             ("Timeline", "Aug 9, 2025: OpenAI released gpt-oss-120b and gpt-oss-20b.", "open")]
    with ChatServer(article(lines)) as server:
        config = configure(tmp_path, server.base_url)
        run(config, now=NOW)
    revision = latest(config)
    timeline = next(s for s in revision.sections if s.heading == "Timeline")
    assert [(s.label, s.text) for s in timeline.sentences] == [
        ("Aug 5, 2025", "OpenAI released gpt-oss-120b and gpt-oss-20b.")]
    assert revision.dropped == (("Aug 9, 2025: OpenAI released gpt-oss-120b and gpt-oss-20b.",
                                 "the date 'Aug 9, 2025' is in none of the passages it cites"),)
    assert "<time>Aug 5, 2025</time>" in (tmp_path / "site" / "ai" / "stories" / "1.html").read_text()
