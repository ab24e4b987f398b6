"""A newcomer's mistakes get one line that names the thing at fault and says what to do, never a traceback."""

import sys

import pytest
from click.testing import CliRunner

from tests.conftest import ARTICLE_A, ARTICLE_B, rss
from tidings.cli import cli


def one_line_error(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an uncaught exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def ok(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wire.rss").write_text(rss([{"title": "Barrier approved", "link": "https://wire.example/a",
                                             "text": ARTICLE_A}], title="Harbour Wire"))
    return tmp_path


def test_a_database_in_a_folder_that_does_not_exist_yet(project):
    ok("--db", "data/sub/tidings.db", "sources", "add", "wire.rss")  # adding a source makes the store
    assert (project / "data" / "sub" / "tidings.db").is_file()
    assert "wire.rss" in ok("--db", "data/sub/tidings.db", "sources", "list")


def test_a_file_that_is_not_a_database(project):
    (project / "notes.db").write_text("my notes, not a database\n" * 100)
    line = one_line_error("--db", "notes.db", "sources", "list")
    assert "notes.db" in line and "not a SQLite database" in line
    assert (project / "notes.db").read_text().startswith("my notes")  # untouched


def test_postgresql_without_its_driver(project, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the postgres extra were not installed
    line = one_line_error("--db", "postgresql://db.example/tidings", "sources", "list")
    assert "tidings[postgres]" in line and "postgresql" in line


def test_an_unknown_database_scheme(project):
    line = one_line_error("--db", "mongodb://db.example/tidings", "sources", "list")
    assert "unknown database URL scheme 'mongodb'" in line


def test_a_publish_folder_that_cannot_be_made(project):
    (project / "blocker").write_text("a file where a folder should be")
    ok("init")
    ok("sources", "add", "wire.rss")
    line = one_line_error("publish", "--dir", "blocker/site")
    assert "blocker" in line


@pytest.mark.parametrize("setting, value", [("fetch_timeout", "-1"), ("fetch_timeout", "0"),
                                            ("fetch_timeout", "inf"), ("max_sentences", "0"),
                                            ("max_sentences", "-3"), ("story_window_days", "nan")])
def test_settings_out_of_range(project, setting, value):
    (project / "tidings.toml").write_text(f"[settings]\n{setting} = {value}\n")
    line = one_line_error("sources", "list")
    assert "tidings.toml" in line and setting in line


def test_run_without_a_digest_says_how_to_add_one(project):
    ok("sources", "add", "wire.rss")
    line = one_line_error("run")
    assert "no digest is defined" in line and "tidings init" in line
    (project / "elsewhere").mkdir()
    line = one_line_error("--db", str(project / "elsewhere" / "t.db"), "run")
    assert "no digest is defined" in line
    assert not list((project / "elsewhere").iterdir())  # no store made for a run that could not start


def test_run_without_sources_says_how_to_add_one(project):
    ok("init")
    line = one_line_error("run")
    assert "no sources" in line and "tidings sources add" in line


@pytest.mark.parametrize("url, expected", [("missing.rss", "no such file"),
                                           ("htp://feeds.example/a.rss", "unsupported URL scheme 'htp'"),
                                           ("ftp://feeds.example/a.rss", "unsupported URL scheme 'ftp'"),
                                           ("javascript:alert(1)", "no such file")])
def test_sources_add_checks_the_address_now(project, url, expected):
    line = one_line_error("sources", "add", url)
    assert expected in line and url in line
    assert "Source" not in ok("sources", "list")


def test_sources_add_checks_the_digest_now(project):
    ok("init")
    line = one_line_error("sources", "add", "wire.rss", "--digest", "sport")
    assert "digest 'sport' is not defined (defined: ai)" in line


def test_sources_remove_by_id_or_url(project):
    first = ok("sources", "add", "wire.rss")
    second = ok("sources", "add", "https://feeds.example/b.rss")
    assert first.startswith("Source 1:") and "Source 2: https://feeds.example/b.rss" in second
    assert "Removed source 1" in ok("sources", "remove", "1")
    assert "Removed source 2" in ok("sources", "remove", "https://feeds.example/b.rss")
    assert "no source '7'" in one_line_error("sources", "remove", "7")


def test_a_source_deleted_from_the_config_is_no_longer_read(project):
    ok("init")
    config = (project / "tidings.toml").read_text()
    (project / "other.rss").write_text(rss([{"title": "Comet tonight", "link": "https://other.example/c",
                                             "text": ARTICLE_B}], title="Other"))
    (project / "tidings.toml").write_text(config + '[[sources]]\nurl = "wire.rss"\n[[sources]]\nurl = "other.rss"\n')
    ok("run", "--no-publish")
    (project / "tidings.toml").write_text(config + '[[sources]]\nurl = "wire.rss"\n')
    ok("run", "--no-publish")
    listed = ok("sources", "list")
    assert "wire.rss" in listed and "other.rss" not in listed
    assert "Comet tonight" in ok("search", "comet")  # its items stay


def test_a_source_added_without_a_name_takes_its_feeds_title(project):
    ok("init")
    ok("sources", "add", "wire.rss", "--digest", "ai")
    assert "  -  " in ok("sources", "list")
    ok("run", "--no-publish")
    assert "Harbour Wire" in ok("sources", "list")
    assert "Harbour Wire" in ok("sources", "export")


def test_a_run_whose_site_folder_is_refused_stores_everything_else(project):
    ok("init")
    config = (project / "tidings.toml").read_text().replace('site_dir = "site"', 'site_dir = "."')
    (project / "tidings.toml").write_text(config + '[[sources]]\nurl = "wire.rss"\n')
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "not a site made by tidings" in result.output and "run 'tidings publish'" in result.output
    assert "Barrier approved" in ok("stories", "list")
    assert (project / "wire.rss").exists() and (project / "tidings.toml").exists()


def test_two_runs_never_share_the_store(project):
    """A run holds the store: a second one with --no-wait stops with one line; without it, it waits its turn."""
    import subprocess
    import sys

    ok("init")
    config = (project / "tidings.toml").read_text()
    (project / "tidings.toml").write_text(config + '[[sources]]\nurl = "wire.rss"\n')
    holder = subprocess.Popen([sys.executable, "-c", (
        "import time\nfrom tidings.config import load_config\nfrom tidings.store import Store\n"
        "store = Store(load_config('tidings.toml').db_url)\n"
        "with store.run_lock():\n    print('held', flush=True)\n    time.sleep(3)\n"
        "    open('letting-go', 'w').close()\n")],
        cwd=project, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        line = one_line_error("run", "--no-wait", "--no-publish")
        assert "another tidings run is using this store" in line
        assert not (project / "letting-go").exists()
        assert "1 new items" in ok("run", "--no-publish")
        assert (project / "letting-go").exists()  # the run went ahead only once the holder was letting go
    finally:
        holder.wait(timeout=30)


def test_sources_check_reads_without_storing(project):
    shown = ok("sources", "check", "wire.rss")
    assert "1 entries (Harbour Wire)" in shown and "Barrier approved" in shown
    assert not (project / "tidings.db").exists()  # nothing was stored: not even a store was made
    assert "no such file" in one_line_error("sources", "check", "missing.rss")
