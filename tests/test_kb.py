import json

from click.testing import CliRunner

from tidings.check.kb import OPENNESS, load_kb, normalise
from tidings.cli import cli


def test_builtin_kb_covers_the_models_with_sources():
    kb = load_kb()
    assert kb.errors == []
    assert len(kb.models) >= 35
    for model in kb.models.values():
        assert model.developer, model.id
        assert model.released or model.confidence == "BK", model.id  # unknown dates stay unknown
        assert model.openness in ("", *OPENNESS)
        assert model.sources or model.confidence == "BK", model.id
        for score in model.benchmarks:
            assert score.benchmark in kb.benchmarks, (model.id, score.benchmark)


def test_aliases_resolve_to_one_model_each():
    kb = load_kb()
    for name in ("gpt-oss-120b", "GPT OSS 120B", "gpt oss 120b"):
        assert kb.model(name).id == "gpt-oss-120b"
    assert kb.model("Qwen3.5").openness == "open-weight"
    assert kb.model("gpt-oss-120b").licence.startswith("Apache-2.0")
    assert kb.model("GPT-5").openness == "closed"
    owners: dict[str, str] = {}
    for model in kb.models.values():
        for name in {normalise(n) for n in (model.id, model.name, *model.aliases)}:
            assert owners.setdefault(name, model.id) == model.id, (name, owners[name], model.id)


def test_a_broken_user_file_is_reported_with_its_line_and_skipped(tmp_path):
    good = tmp_path / "extra.toml"
    good.write_text('[[models]]\nid = "house-model-1"\nname = "House Model 1"\ndeveloper = "Us"\n'
                    'openness = "closed"\nreleased = "2026-01"\nsources = ["https://us.example/m1"]\n')
    bad = tmp_path / "typo.toml"
    bad.write_text('[[models]]\nid = "other-model"\nname = "Other"\ndevelopr = "Them"\n')
    kb = load_kb([good, bad])
    assert kb.model("House Model 1").developer == "Us"
    assert len(kb.models) >= 36  # the built-in KB is all there
    (error,) = kb.errors
    assert f"{bad}:4" in error and "developr" in error and "\n" not in error


def test_kb_show_and_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shown = CliRunner().invoke(cli, ["kb", "show", "GPT OSS 120B"])
    assert shown.exit_code == 0
    assert "gpt-oss-120b" in shown.output and "open-weight" in shown.output and "https://" in shown.output
    data = json.loads(CliRunner().invoke(cli, ["kb", "show", "qwen3.5", "--json"]).output)
    assert data["licence"] == "Apache-2.0"
    missing = CliRunner().invoke(cli, ["kb", "show", "no-such-model"])
    assert missing.exit_code == 1 and "no model called" in missing.output
    listed = CliRunner().invoke(cli, ["kb", "list"]).output
    assert len(listed.splitlines()) >= 35


def test_user_kb_from_the_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.toml").write_text('[[models]]\nid = "house-model-1"\nname = "House Model 1"\n'
                                        'developer = "Us"\nreleased = "2026"\nopenness = "clopen"\n')
    (tmp_path / "tidings.toml").write_text('kb = ["mine.toml"]\n')
    result = CliRunner().invoke(cli, ["kb", "show", "gpt-oss-120b"])
    assert result.exit_code == 0
    assert "mine.toml" in result.output and "openness must be one of" in result.output


def _one_edit_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) > len(b):
        a, b = b, a
    return any(a == b[:i] + b[i + 1:] for i in range(len(b))) or (
        len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1)


def test_kb_sources_are_web_links_without_misspelt_hosts():
    from urllib.parse import urlsplit

    from tidings.check.kb import load_kb

    kb = load_kb()
    urls = {u for m in kb.models.values() for u in m.sources} | {
        s.source for m in kb.models.values() for s in m.benchmarks if s.source}
    hosts = {urlsplit(u).hostname for u in urls}
    assert all(urlsplit(u).scheme == "https" for u in urls) and None not in hosts
    well_known = {"arxiv.org", "huggingface.co", "github.com", "openai.com", "ai.meta.com"}
    assert not [h for h in hosts for k in well_known if _one_edit_apart(h, k)]


def test_kb_files_name_nothing_outside_the_package():
    from tidings.check.kb import builtin_files

    for path in builtin_files():
        assert "/work/" not in path.read_text() and "shared/facts" not in path.read_text()
