"""Shared fixtures: a real HTTP server on 127.0.0.1, small feeds written for the tests, configs and stores."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tidings.config import Config, Settings, parse_config
from tidings.store import Store

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def guess_type(self, path):
        if str(path).endswith(".rss"):
            return "application/rss+xml"
        return super().guess_type(path)


@pytest.fixture
def http_dir(tmp_path: Path):
    """(folder, base URL): files written into the folder are served over real HTTP on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def rss(items: list[dict], title: str = "Test Wire", link: str = "https://wire.example/") -> str:
    """A small RSS 2.0 feed; each item dict has title, link, text and optional guid, date, summary."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
           f"<channel><title>{title}</title><link>{link}</link><description>test</description>"]
    for it in items:
        out.append("<item>")
        out.append(f"<title>{it['title']}</title><link>{it['link']}</link>")
        if it.get("guid"):
            out.append(f"<guid>{it['guid']}</guid>")
        out.append(f"<pubDate>{it.get('date', 'Fri, 13 Mar 2026 09:00:00 +0000')}</pubDate>")
        if "summary" in it:
            out.append(f"<description>{it['summary']}</description>")
        if "text" in it:
            out.append(f"<content:encoded><![CDATA[{it['text']}]]></content:encoded>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


ARTICLE_A = ("<p>The harbour authority of Port Ellery approved a new tidal barrier on Thursday after two years of "
             "debate. The barrier will cost 140 million euros and protect 12,000 homes from storm surges.</p>"
             "<p>Engineers expect construction to start in the autumn. The decision matters because the old sea "
             "wall failed twice during last winter's storms.</p>")
ARTICLE_B = ("<p>A rare comet will pass close enough to Earth this weekend to be seen without a telescope. "
             "Astronomers at the Kestrel Observatory said it would be brightest on Saturday night.</p>"
             "<p>The comet last came this close more than 6,000 years ago. Observers should look low in the "
             "western sky an hour after sunset.</p>")
ARTICLE_A2 = ("<p>Construction of the Port Ellery tidal barrier will begin in October, the harbour authority said "
              "on Friday. The tidal barrier contract was awarded to a consortium of three local builders.</p>"
              "<p>Residents of the harbour district welcomed the tidal barrier news. The authority plans to publish "
              "the full barrier design next month.</p>")


@pytest.fixture
def settings() -> Settings:
    # The test server is on 127.0.0.1, and every test source shares that one host.
    return Settings(allow_private_networks=True, host_delay=0.0, host_connections=8)


def make_config(tmp_path: Path, sources: list[dict], digests: list[dict] | None = None, **settings) -> Config:
    digests = digests or [{"slug": "news", "title": "News", "description": "General news",
                           "keywords": ["harbour", "barrier", "comet"]}]
    # The test server is on 127.0.0.1, and every test source shares that one host.
    settings = {"allow_private_networks": True, "host_delay": 0.0, "host_connections": 8, **settings}
    data = {"db": str(tmp_path / "tidings.db"), "site_dir": str(tmp_path / "site"), "digests": digests,
            "sources": sources, "settings": settings}
    return parse_config(data, tmp_path / "tidings.toml")


@pytest.fixture
def store(tmp_path: Path):
    s = Store(str(tmp_path / "store.db"))
    yield s
    s.close()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server for the session (see tests/postgres.py)."""
    from tests.postgres import Server, binaries

    found = binaries()
    if found is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql); CI installs it and runs these")
    pytest.importorskip("psycopg", reason="the postgres extra is not installed (pip install 'tidings[postgres]')")
    server = Server(found).start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh database on the session's PostgreSQL server."""
    return postgres_server.new_database()
