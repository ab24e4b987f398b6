import concurrent.futures
import json
import os
import re

import click
import pytest
from click.testing import CliRunner

from tests.conftest import ARTICLE_A, ARTICLE_B, rss
from tidings.cli import cli


def all_commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path", list(all_commands(cli)), ids=" ".join)
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with a config and two local feeds, as the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wire.rss").write_text(rss([
        {"title": "Port Ellery approves tidal barrier", "link": "https://wire.example/barrier", "text": ARTICLE_A},
        {"title": "Comet visible this weekend", "link": "https://wire.example/comet", "text": ARTICLE_B}]))
    (tmp_path / "broken.xml").write_text("<rss><channel><item><title>cut &")
    (tmp_path / "tidings.toml").write_text(
        'db = "t.db"\n[[digests]]\nslug = "news"\ntitle = "News"\n'
        '[[sources]]\nurl = "wire.rss"\nname = "Wire"\n[[sources]]\nurl = "broken.xml"\nname = "Broken"\n')
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_init_writes_a_config_that_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("init").exit_code == 0
    assert (tmp_path / "tidings.toml").exists()
    again = invoke("init")
    assert again.exit_code == 1 and "already exists" in again.output


def test_run_then_read_stories(project):
    result = invoke("run")
    assert result.exit_code == 0, result.output
    assert "2 new items" in result.output and "site:" in result.output
    listed = json.loads(invoke("stories", "list", "--json").output)
    assert len(listed) == 2 and all(s["revisions"] == 1 for s in listed)
    shown = invoke("story", "show", str(listed[0]["id"]))
    assert "Sources (1)" in shown.output and "Updated" in shown.output and "[1]" in shown.output
    as_json = json.loads(invoke("story", "show", str(listed[0]["id"]), "--json").output)
    assert as_json["number"] == 1 and as_json["sections"][0]["sentences"]
    assert invoke("story", "show", "999").exit_code == 1
    assert (project / "site" / "news" / "index.html").exists()


def test_sources_list_shows_status_and_last_error(project):
    invoke("run", "--no-publish")
    out = invoke("sources", "list").output
    assert "error" in out and "last error:" in out and "not a well-formed feed" in out
    data = json.loads(invoke("sources", "list", "--json").output)
    assert {s["name"]: s["status"] for s in data} == {"Wire": "ok", "Broken": "error"}


def test_run_fails_only_when_nothing_could_be_processed(project):
    (project / "tidings.toml").write_text('db = "t.db"\n[[digests]]\nslug = "news"\n[[sources]]\nurl = "broken.xml"\n')
    result = CliRunner().invoke(cli, ["run", "--no-publish"])
    assert result.exit_code == 1 and "all 1 sources failed" in result.output


def test_bad_config_is_a_one_line_error(project):
    (project / "tidings.toml").write_text('db = "t.db"\ncolour = "red"\n')
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 1
    assert "unknown key 'colour'" in result.output and "tidings.toml" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_sources_add_remove_and_opml_round_trip(project, tmp_path):
    assert invoke("sources", "add", "https://feeds.example/ai.xml", "--name", "AI Feed", "--credibility",
                  "0.7").exit_code == 0
    exported = invoke("sources", "export").output
    before = json.loads(invoke("sources", "list", "--json").output)
    (tmp_path / "subs.opml").write_text(exported)
    # The config's local files come back only when the list is said to be one's own.
    guarded = CliRunner().invoke(cli, ["--db", str(tmp_path / "guarded.db"), "sources", "import",
                                       str(tmp_path / "subs.opml")])
    assert guarded.exit_code == 0 and "Imported 1 source from" in guarded.output
    assert guarded.output.count("a local file; import a list's local files with --local") == 2
    other = CliRunner().invoke(cli, ["--db", str(tmp_path / "other.db"), "sources", "import",
                                     str(tmp_path / "subs.opml"), "--local"])
    assert other.exit_code == 0 and "Imported 3 sources" in other.output
    after = json.loads(invoke("--db", str(tmp_path / "other.db"), "sources", "list", "--json").output)
    key = [(s["url"], s["name"], s["digests"], s["credibility"]) for s in before]
    assert [(s["url"], s["name"], s["digests"], s["credibility"]) for s in after] == key
    removed = invoke("sources", "remove", "https://feeds.example/ai.xml")
    assert removed.exit_code == 0
    assert "ai.xml" not in invoke("sources", "list").output


def test_export_json_and_search(project):
    invoke("run", "--no-publish")
    data = json.loads(invoke("export", "--format", "json").output)
    assert {"digests", "items", "stories"} <= set(data)
    assert len(data["items"]) == 2
    # to a file in a folder not made yet: made, the file written whole, and said where
    written = CliRunner().invoke(cli, ["export", "-o", "out/state.json"])
    assert written.exit_code == 0 and "state written to out/state.json" in written.output
    assert json.loads((project / "out" / "state.json").read_text()) == data
    folder = CliRunner().invoke(cli, ["export", "-o", "out"])
    assert folder.exit_code == 2 and "out is a folder; give a file in it, such as out/export.json" in folder.output
    # an export that fails halfway leaves the file that was there as it was, and no temporary file beside it
    import tidings.publish.export

    def broken(store):
        raise KeyboardInterrupt
    before = (project / "out" / "state.json").read_text()
    real, tidings.publish.export.export_state = tidings.publish.export.export_state, broken
    try:
        CliRunner().invoke(cli, ["export", "-o", "out/state.json"])
    finally:
        tidings.publish.export.export_state = real
    assert (project / "out" / "state.json").read_text() == before and os.listdir(project / "out") == ["state.json"]
    # a file that is not a regular one (here a pipe's reading end, as /dev/stdout would be) is written as it is
    fifo = project / "pipe"
    os.mkfifo(fifo)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        read = pool.submit(fifo.read_text, encoding="utf-8")
        piped = CliRunner().invoke(cli, ["export", "-o", str(fifo)])
        assert piped.exit_code == 0 and json.loads(read.result(timeout=30)) == data
    assert "comet" in invoke("search", "comet").output.lower()


def test_publish_to_another_folder(project, tmp_path):
    invoke("run", "--no-publish")
    result = invoke("publish", "--dir", str(tmp_path / "out"))
    assert result.exit_code == 0 and "2 stories" in result.output
    assert (tmp_path / "out" / "news" / "feed.atom").exists()


def test_demo_command_prints_a_summary(tmp_path):
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "d")])
    assert result.exit_code == 0
    # The two sources that fail on purpose are said to, not logged as errors.
    assert "2 sources are broken on purpose" in result.output and "Watt Notes:" in result.output
    assert "ERROR" not in result.output
    assert re.search(r"Demo: 2 digests, \d+ stories, \d+ items, \d+ revisions", result.output)
    assert f"Site: {tmp_path / 'd' / 'site' / 'index.html'}" in result.output



def test_newcomer_mistakes_get_one_line_each(project, tmp_path):
    def error(*args):
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
        return result.output

    assert "sub/dir/x.toml: No such file or directory" in error("init", "sub/dir/x.toml")
    assert "unsupported database URL scheme 'mysql'" in error("--db", "mysql://u@127.0.0.1/db", "stories", "list")
    assert "--db is empty" in error("--db", "", "stories", "list")
    assert "nothing to search for" in error("search", "  ")
    assert "nothing to search for" in error("search", '"" --')
    assert "no such folder" in error("eval", "checkworthy", "nope")
    # a command that only reads a store names one that is not there, and leaves no empty one behind
    assert "empty.db: no store there yet; 'tidings run' makes it" in error(
        "--db", str(tmp_path / "empty.db"), "stories", "list")
    assert "no/such/x.db: no store there yet" in error("--db", str(tmp_path / "no/such/x.db"), "export")
    assert not (tmp_path / "empty.db").exists() and not (tmp_path / "no").exists()
    assert "did you mean nemotron-3-super?" in error("kb", "show", "nemotrn-3-super")
    mixed = CliRunner().invoke(cli, ["story", "list"], prog_name="tidings")
    assert mixed.exit_code == 2 and "did you mean 'tidings stories list'?" in mixed.output
    assert "a URL has no spaces" in error("sources", "add", "http://exa mple.org/feed")
    assert "allow_private_networks = true" in error("sources", "add", "http://127.0.0.1:9/feed.xml")
    (tmp_path / "empty.xml").write_text("  \n")
    (tmp_path / "bin.dat").write_bytes(bytes(range(256)) * 4)
    assert "an empty file" in error("sources", "add", str(tmp_path / "empty.xml"))
    assert "binary data, not a feed or a web page" in error("sources", "add", str(tmp_path / "bin.dat"))
    (tmp_path / "utf16.xml").write_text(rss([{"title": "Wide", "link": "https://w.example/1", "text": "Words."}]),
                                        encoding="utf-16")
    assert invoke("sources", "add", str(tmp_path / "utf16.xml")).exit_code == 0
    (tmp_path / "utf16le.xml").write_bytes(rss([{"title": "Wide", "link": "https://w.example/2", "text": "W."}])
                                           .encode("utf-16-le"))  # no byte-order mark
    assert invoke("sources", "add", str(tmp_path / "utf16le.xml")).exit_code == 0
    invoke("sources", "list")  # the config's sources are in the store now
    empty = invoke("stories", "list")
    assert empty.exit_code == 0 and "no stories yet: 'tidings run' reads the sources" in empty.output
    assert "no story 99999999999999999999" in error("story", "show", "99999999999999999999")
    assert "no digest 'nosuch' (digests: news)" in error("stories", "list", "--digest", "nosuch")
    assert "no digest 'nosuch'" in error("search", "barrier", "--digest", "nosuch")
    assert "no source '99999999999999999999'" in error("sources", "remove", "99999999999999999999")
    kept = invoke("sources", "remove", "wire.rss")
    assert kept.exit_code == 0 and "still lists it, so the next command that reads the config adds it again" \
        in kept.output
    first = invoke("sources", "add", "https://a.example/feed.xml", "--kind", "feed")
    assert first.exit_code == 0 and "already" not in first.output
    again = invoke("sources", "add", "https://a.example/feed.xml", "--kind", "feed")
    assert again.exit_code == 0 and "https://a.example/feed.xml was already source" in again.output
    # a subscription list naming a digest that does not exist: one error, nothing imported
    (tmp_path / "subs.opml").write_text(
        '<opml version="2.0"><body><outline type="rss" xmlUrl="https://a.example/feed.xml"/>'
        '<outline type="rss" xmlUrl="https://a.example/feed.xml" title="Again"/>'
        '<outline type="rss" xmlUrl="https://b.example/feed.xml"/></body></opml>')
    assert "digest 'nosuch' is not defined (defined: news)" in error(
        "sources", "import", str(tmp_path / "subs.opml"), "--digest", "nosuch")
    imported = invoke("sources", "import", str(tmp_path / "subs.opml"))
    assert "Imported 2 sources" in imported.output  # an address listed twice is one (a.example's, known before)


def test_demo_leaves_another_projects_folder_alone(project):
    before = (project / "tidings.toml").read_text()
    result = CliRunner().invoke(cli, ["demo", "--dir", str(project)])
    assert result.exit_code == 1 and "which the demo would replace" in result.output
    assert (project / "tidings.toml").read_text() == before and not (project / "feeds").exists()


@pytest.mark.parametrize("port", ["abc", "0", "70000", "-5", "80x"])
def test_serve_refuses_a_port_that_is_not_one_in_one_line(tmp_path, monkeypatch, port):
    monkeypatch.chdir(tmp_path)
    result = invoke("serve", f"--port={port}")
    assert result.exit_code == 2
    assert f"'{port}' is not a port number; give one from 1 to 65535" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "tidings.db").exists()
