from pathlib import Path

import pytest

from tidings.config import STARTER, ConfigError, load_config, parse_config, write_starter


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tidings.toml"
    path.write_text(text)
    return path


def test_starter_file_loads_and_is_commented(tmp_path):
    path = tmp_path / "tidings.toml"
    write_starter(path)
    config = load_config(path)
    assert config.digests[0].slug == "ai"
    assert config.settings.cluster_threshold == 0.2
    assert STARTER.count("#") > 10
    with pytest.raises(ConfigError, match="already exists"):
        write_starter(path)


def test_unknown_key_names_file_key_and_allowed(tmp_path):
    path = write(tmp_path, "[settings]\nclustr_threshold = 0.3\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message and "clustr_threshold" in message and "cluster_threshold" in message
    assert "\n" not in message


def test_wrong_type_names_key_and_expected_type(tmp_path):
    path = write(tmp_path, '[settings]\nmax_sentences = "many"\n')
    with pytest.raises(ConfigError, match=r"max_sentences must be an integer, got 'many'"):
        load_config(path)


def test_source_with_undefined_digest_is_refused(tmp_path):
    path = write(tmp_path, '[[digests]]\nslug = "ai"\n[[sources]]\nurl = "x.xml"\ndigests = ["sport"]\n')
    with pytest.raises(ConfigError, match="digest 'sport' is not defined"):
        load_config(path)


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "db = \n"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")


def test_relative_paths_resolve_beside_the_config(tmp_path):
    config = parse_config({"db": "data/t.db", "sources": [{"url": "feeds/a.xml"},
                                                           {"url": "https://example.org/feed"}]},
                          tmp_path / "tidings.toml")
    assert config.sources[0].url == str(tmp_path / "feeds" / "a.xml")
    assert config.sources[1].url == "https://example.org/feed"
    assert config.db_url == "sqlite:///" + str(tmp_path / "data" / "t.db")


def test_credibility_range_checked():
    with pytest.raises(ConfigError, match="credibility must be between 0 and 1"):
        parse_config({"sources": [{"url": "a.xml", "credibility": 3}]})


def test_writer_table_reads_and_defaults(tmp_path):
    config = load_config(write(tmp_path, '[writer]\nbackend = "openai"\nmodel = "qwen3:8b"\n'
                                         'base_url = "http://127.0.0.1:8080/v1/"\ntimeout = 5\n'))
    w = config.writer
    assert (w.backend, w.model, w.base_url, w.timeout, w.api_key_env) == (
        "openai", "qwen3:8b", "http://127.0.0.1:8080/v1", 5.0, "")  # no key unless one is named
    assert load_config(write(tmp_path, "")).writer.backend == "extractive"
    # The older place still names the writer when there is no [writer] table.
    assert load_config(write(tmp_path, '[settings]\nwriter = "extractive"\n')).writer.backend == "extractive"


@pytest.mark.parametrize(("table", "expected"), [
    ('backend = "gpt"', "backend must be one of extractive, openai, got 'gpt'"),
    ('backend = "openai"', 'backend = "openai" needs a model'),
    ('backend = "openai"\nmodel = "m"\nbase_url = "127.0.0.1:11434"', "base_url must be an http:// or https://"),
    ('model = "m"\nbase_url = "http://[::1"', "base_url must be an http:// or https://"),
    ('model = "m"\nbase_url = "http://10.0.0.5:8000/v1"\napi_key_env = "K"', "would cross the network unencrypted"),
    ('model = "m"\ntimeout = 0', "timeout must be a finite number greater than 0"),
    ('model = "m"\ntimeout = "fast"', "timeout must be a number, got 'fast'"),
    ('modle = "m"', "unknown key 'modle' (allowed: backend, base_url, model, api_key_env, timeout"),
])
def test_writer_table_errors_are_one_line(tmp_path, table, expected):
    path = write(tmp_path, f"[writer]\n{table}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert expected in message and f"{path} [writer]" in message and "\n" not in message


def test_a_key_pasted_into_the_config_is_never_repeated(tmp_path):
    secret = "sk-test-3f9a8b7c6d5e4f3a2b1c"
    for table in (f'api_key_env = "{secret}"', f'api_key = "{secret}"'):
        with pytest.raises(ConfigError) as err:
            load_config(write(tmp_path, f'[writer]\nbackend = "openai"\nmodel = "m"\n{table}\n'))
        assert secret not in str(err.value)
    with pytest.raises(ConfigError, match="not hold the key itself"):
        load_config(write(tmp_path, f'[writer]\napi_key_env = "{secret}"\n'))
    # A password in the server's address is not repeated either.
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, f'[writer]\nmodel = "m"\nbase_url = "http://me:{secret}@host:x/v1"\n'))
    assert secret not in str(err.value)


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("LOCALHOST.", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("[::1]", True), ("127.mail.example", False), ("127.0.0.1.nip.io", False), ("10.0.0.5", False),
    ("example.org", False), ("", False),
])
def test_only_this_machine_is_loopback(host, loopback):
    from tidings.urls import is_loopback_host

    assert is_loopback_host(host) is loopback


def test_a_config_with_the_default_writer_address_and_a_site_import_no_http_client_or_feed_writer(tmp_path):
    """A poll run pays for what it uses: the default address needs no checking by the HTTP client, and feedgen is
    imported only when a feed is written, after the story pages a reader waits for."""
    import subprocess
    import sys

    path = write(tmp_path, '[[digests]]\nslug = "ai"\n[writer]\napi_key_env = "K"\n')
    code = (f"import sys; import tidings.cli; from tidings.config import load_config; c = load_config({str(path)!r}); "
            "print(c.writer.base_url, sorted(m for m in ('httpx', 'feedgen', 'scipy') if m in sys.modules)); "
            "from tidings.publish.feeds import digest_atom; from tidings.model import Digest; "
            "digest_atom(Digest(slug='ai', title='AI'), [], 'http://x/'); print('feedgen' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["http://127.0.0.1:11434/v1 []", "True"]
