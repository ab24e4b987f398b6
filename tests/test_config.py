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
