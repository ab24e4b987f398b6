"""Claims and verdicts: the demo corpus' deliberate errors are caught, and nothing true is called false."""

import json
import socket

import pytest
from click.testing import CliRunner

from tests.test_demo import manifests
from tidings.check.kb import load_kb
from tidings.check.report import check_text
from tidings.cli import cli
from tidings.demo import corpus_dir

CLOSED = "Nemotron 3 Super puts up numbers that rival closed models like gpt-oss-120b and Qwen3.5."


@pytest.fixture(scope="module")
def kb():
    return load_kb()


def verdicts(text, kb):
    return [(c["model"], c["attribute"], c["value"], c["verdict"])
            for s in check_text(text, kb)["sentences"] for c in s["claims"]]


def test_closed_models_sentence_is_contradicted_for_both_models(kb):
    report = check_text(CLOSED, kb)
    (sentence,) = report["sentences"]
    found = {c["model"]: c for c in sentence["claims"]}
    assert found["gpt-oss-120b"]["verdict"] == "contradicted" and found["qwen3.5"]["verdict"] == "contradicted"
    evidence = found["gpt-oss-120b"]["evidence"][0]
    assert "open-weight" in evidence["fact"] and evidence["source"].startswith("https://")


@pytest.mark.parametrize("text, expected", [
    ("gpt-oss-120b is an open-weight model.", ("gpt-oss-120b", "openness", "open", "supported")),
    ("GPT-5 is a closed model.", ("gpt-5", "openness", "closed", "supported")),
    ("Qwen3.5-397B-A17B activates 17 billion parameters per token.",
     ("qwen3.5-397b-a17b", "params_active_b", 17.0, "supported")),
    ("Qwen3.5-397B-A17B activates 1.7 billion parameters per token.",
     ("qwen3.5-397b-a17b", "params_active_b", 1.7, "contradicted")),
    ("OpenAI's gpt-oss-120b has 120 billion parameters in total.",
     ("gpt-oss-120b", "params_total_b", 120.0, "supported")),  # MoE sizes round: 116.8B is "120B"
    ("OpenAI released gpt-oss-120b in August 2025.", ("gpt-oss-120b", "released", "2025-08", "supported")),
    ("OpenAI released gpt-oss-120b in 2024.", ("gpt-oss-120b", "released", "2024", "contradicted")),
    ("OpenAI released gpt-oss-120b under the Apache 2.0 licence.",
     ("gpt-oss-120b", "licence", "apache", "supported")),
    ("gpt-oss-120b ships under a proprietary licence.", ("gpt-oss-120b", "licence", "proprietary", "contradicted")),
    ("Qwen3.5, developed by Alibaba, is a family of models.", ("qwen3.5", "developer", "Alibaba", "supported")),
    ("Qwen3.5, developed by OpenAI, is a family of models.", ("qwen3.5", "developer", "OpenAI", "contradicted")),
    ("On AIME 2025 with tools, gpt-oss-120b posted 97.9.", ("gpt-oss-120b", "score:aime-2025", 97.9, "supported")),
    # the right figure under the wrong setting: 97.9 is with tools
    ("On AIME 2025 without tools, gpt-oss-120b posted 97.9.",
     ("gpt-oss-120b", "score:aime-2025", 97.9, "contradicted")),
    ("Nemotron 3 Super has a 1M-token context window.", ("nemotron-3-super", "context_tokens", 1e6, "supported")),
    ("GLM-4.6 offers a context of 128K tokens.", ("glm-4.6", "context_tokens", 128000.0, "contradicted")),
])
def test_structured_claims_and_verdicts(kb, text, expected):
    assert expected in verdicts(text, kb)


def test_licence_claims_and_their_evidence_read_as_sentences(kb):
    from tidings.check.words import claim_words

    text = "Nemotron 3 Super went out on March 11 with its weights, under the NVIDIA Nemotron Open Model Licence."
    (claim,) = [c for s in check_text(text, kb)["sentences"] for c in s["claims"] if c["attribute"] == "licence"]
    assert claim_words(claim, {"nemotron-3-super": "Nemotron 3 Super"}) == \
        "Nemotron 3 Super is released under the NVIDIA Open Model Licence"
    assert claim["evidence"][0]["fact"] == \
        "Nemotron 3 Super is released under the NVIDIA Nemotron Open Model Licence"
    said = {v: claim_words({"model": "M", "attribute": "licence", "value": v})
            for v in ("apache", "proprietary", "Apache-2.0", "Gemma Terms of Use")}
    assert said == {"apache": "M is released under an Apache licence",
                    "proprietary": "M is released under a proprietary licence",
                    "Apache-2.0": "M is released under Apache-2.0",
                    "Gemma Terms of Use": "M is released under the Gemma Terms of Use"}


def test_demo_errors_are_caught_and_nothing_true_is_contradicted(kb):
    """Every item of the demo corpus is checked; contradictions are exactly the deliberate errors."""
    from tidings.config import Settings
    from tidings.ingest import read_source
    from tidings.model import Source

    errors = {e["sentence"] for m in manifests() for e in m.get("errors", [])}
    contradicted = set()
    for day in sorted((corpus_dir() / "days").iterdir()):
        for path in day.iterdir():
            if path.is_dir():
                continue
            result = read_source(Source(url=str(path), id=1), Settings(fetch_full_text=False))
            for entry in result.entries:
                for s in check_text(f"{entry.title}.\n\n{entry.text}", kb)["sentences"]:
                    if any(c["verdict"] == "contradicted" for c in s["claims"]):
                        contradicted.add(s["text"])
    assert contradicted == errors


def test_framing_flags(kb):
    (s,) = check_text("NVIDIA's Nemotron 3 Super shatters every record an open model has ever set.", kb)["sentences"]
    assert "hype" in s["flags"]
    (s,) = check_text("On AIME 2025, gpt-oss-120b posted 97.9.", kb)["sentences"]
    assert "score-without-setting" in s["flags"]
    (s,) = check_text("On AIME 2025 with tools, gpt-oss-120b posted 97.9.", kb)["sentences"]
    assert "score-without-setting" not in s["flags"]
    # NVIDIA compared Nemotron 3 Super with gpt-oss-120b and Qwen3.5-122B-A10B, not with Claude Opus 4.6.
    (s,) = check_text("Nemotron 3 Super beats Claude Opus 4.6 on coding, fans say.", kb)["sentences"]
    assert "unnamed-comparator" in s["flags"]
    (s,) = check_text("Nemotron 3 Super beats gpt-oss-120b on coding, NVIDIA said.", kb)["sentences"]
    assert "unnamed-comparator" not in s["flags"]
    (s,) = check_text("Qwen3.5 scores 87.8 on MMLU-Pro with tools.", kb)["sentences"]
    assert "score-without-variant" in s["flags"]


def test_check_command_json_shape_and_exit_code(tmp_path):
    path = tmp_path / "article.txt"
    path.write_text(CLOSED)
    result = CliRunner().invoke(cli, ["check", str(path), "--json"])
    assert result.exit_code == 0  # finding errors is not a failure
    data = json.loads(result.output)
    claim = data["sentences"][0]["claims"][0]
    assert {"text", "checkworthiness", "claims", "flags"} <= set(data["sentences"][0])
    assert {"model", "attribute", "value", "verdict", "evidence"} <= set(claim)
    assert {"fact", "source"} <= set(claim["evidence"][0])
    piped = CliRunner().invoke(cli, ["check", "-"], input=CLOSED)
    assert piped.exit_code == 0 and "CONTRADICTED" in piped.output


def test_check_a_feed_file_reads_its_entries_not_its_markup(tmp_path):
    from tests.conftest import rss

    path = tmp_path / "feed.rss"
    path.write_text(rss([{"title": "Open models gain", "link": "https://w.example/1", "text": CLOSED},
                         {"title": "Quiet week", "link": "https://w.example/2", "text": "Nothing else happened."}]))
    result = CliRunner().invoke(cli, ["check", str(path), "--json"])
    assert result.exit_code == 0
    sentences = [s["text"] for s in json.loads(result.output)["sentences"]]
    assert sentences and not any("<" in s or "guid" in s for s in sentences)
    verdicts = [c["verdict"] for s in json.loads(result.output)["sentences"] for c in s["claims"]]
    assert verdicts.count("contradicted") == 2
    # other XML with <item>s in it is not a feed: all of its words are read
    report = tmp_path / "report.xml"
    report.write_text(f"<report><summary>{CLOSED}</summary><item><title>Appendix</title></item></report>")
    other = CliRunner().invoke(cli, ["check", str(report), "--json"])
    verdicts = [c["verdict"] for s in json.loads(other.output)["sentences"] for c in s["claims"]]
    assert other.exit_code == 0 and verdicts.count("contradicted") == 2


def test_check_a_page_over_http(http_dir):
    root, base = http_dir
    (root / "page.html").write_text(
        "<html><head><title>Open models</title></head><body><nav>Home</nav><article><h1>Open models gain</h1>"
        f"<p>{CLOSED} Analysts expect more open releases this year, and several labs have said so.</p>"
        "<p>The comparison was made on coding and long-context tasks by the vendor itself.</p></article>"
        "</body></html>")
    refused = CliRunner().invoke(cli, ["check", f"{base}/page.html", "--json"])
    assert refused.exit_code == 1 and "allow_private_networks" in refused.output  # 127.0.0.1 is private
    config = root.parent / "tidings.toml"
    config.write_text("[settings]\nallow_private_networks = true\n")
    result = CliRunner().invoke(cli, ["-c", str(config), "check", f"{base}/page.html", "--json"])
    assert result.exit_code == 0
    verdict_list = [c["verdict"] for s in json.loads(result.output)["sentences"] for c in s["claims"]]
    assert verdict_list.count("contradicted") == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_input_gives_one_line_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    for args, message in ([str(tmp_path / "empty.txt")], "empty"), ([str(tmp_path / "blob.bin")], "binary"), \
            ([str(tmp_path / "nope.txt")], "no such file"), \
            ([f"http://127.0.0.1:{_closed_port()}/a"], "allow_private_networks"):
        result = CliRunner().invoke(cli, ["check", *args])
        assert result.exit_code == 1 and message in result.output
        assert len(result.output.strip().splitlines()) == 1


# --- check-worthiness --------------------------------------------------------------------------------------

CHECKTHAT = __import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "eval-data" / \
    "checkthat2019-train"


def write_debates(folder):
    folder.mkdir()
    check = ["Unemployment fell to 4 percent last year.", "We spent 2 billion dollars on roads.",
             "Crime is up 20 percent since 2010."]
    chat = ["Thank you all for coming tonight.", "Let me finish.", "Good evening.", "That is a great question."]
    for d in range(3):
        lines = [f"{n}\tSPEAKER\t{t}\t{1 if t in check else 0}" for n, t in enumerate(check + chat, 1)]
        (folder / f"debate{d}.tsv").write_text("\n".join(lines))


def test_eval_checkworthy_command(tmp_path):
    write_debates(tmp_path / "debates")
    result = CliRunner().invoke(cli, ["eval", "checkworthy", str(tmp_path / "debates"), "--loo", "--json"])
    data = json.loads(result.output)
    assert {"map", "r_precision", "p_at_10", "baseline_map"} <= set(data)
    assert data["map"] == 1.0  # figures rank first once learned from the other debates
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.tsv").write_text("1\tA\tHello\t0\n2\tB\tbroken line\n")
    bad = CliRunner().invoke(cli, ["eval", "checkworthy", str(tmp_path / "bad")])
    assert bad.exit_code == 1 and "x.tsv:2" in bad.output


@pytest.mark.skipif(not CHECKTHAT.exists(), reason="needs ../shared/eval-data/checkthat2019-train, in CI only")
def test_checkworthiness_quality_gate():
    """Leave-one-debate-out MAP above the best published 2019 system (0.166), and above the length baseline.
    Measured 0.2395 (semantic) and 0.2297 (lexical) against a baseline of 0.128."""
    from tidings.check.checkworthy import evaluate, read_folder

    result = evaluate(read_folder(CHECKTHAT), leave_one_out=True)
    assert result["map"] >= 0.19 and result["map"] > result["baseline_map"] + 0.05


def test_sources_that_disagree_dispute_each_other(tmp_path):
    """Figures the KB does not hold are settled among the sources: one publisher alone is single-source; two
    publishers (web domains) with different figures dispute each other, and the digest's watch page says so."""
    from tests.conftest import NOW, make_config, rss
    from tidings.pipeline import opened, run

    body = ("<p>OpenAI's gpt-oss-120b scores {} on LiveCodeBench, the lab's partners said on Tuesday. The result "
            "puts the open model close to far larger systems on fresh coding problems.</p>")
    feeds = {"a.rss": ("https://alpha.example/", "71.5", "https://alpha.example/gpt-oss-livecodebench"),
             "b.rss": ("https://beta.example/", "64.2", "https://beta.example/livecodebench-gpt-oss"),
             "c.rss": ("https://gamma.example/", "", "https://gamma.example/other")}
    sources = []
    (tmp_path / "feeds").mkdir()
    for name, (site, score, link) in feeds.items():
        text = body.format(score) if score else "<p>OpenAI released gpt-oss-120b in August 2025, its lab said.</p>"
        (tmp_path / "feeds" / name).write_text(rss([{"title": f"Coding scores {name}", "link": link, "text": text}],
                                                   link=site))
        sources.append({"url": str(tmp_path / "feeds" / name), "name": name})
    config = make_config(tmp_path, sources, near_duplicate_threshold=1.0)
    run(config, now=NOW)
    with opened(config) as store:
        verdicts = {(c.value, c.verdict) for c in store.claims() if c.attribute == "score:livecodebench"}
    assert verdicts == {(71.5, "disputed"), (64.2, "disputed")}
    watch = (tmp_path / "site" / "news" / "misinformation.html").read_text()
    assert "Disputed" in watch and "beta.example states 64.2" in watch


def test_the_larger_model_is_the_larger_of_the_two_just_named():
    from tidings.check.claims import claims_in
    from tidings.check.kb import load_kb

    text = ("gpt-oss-120b has 116.8 billion parameters, while gpt-oss-20b has 20.9 billion in total. Both ship under "
            "Apache-2.0. At its high setting, OpenAI reported 90.0 on MMLU for the larger model. The smaller model "
            "scored 85.3 on MMLU. On AIME 2025 it scored 92.5.")
    claims = {(c.model, c.attribute, c.value) for _, found in claims_in(text, load_kb()) for c in found}
    assert ("gpt-oss-120b", "score:mmlu", 90.0) in claims and ("gpt-oss-20b", "score:mmlu", 85.3) in claims
    assert ("gpt-oss-20b", "score:aime-2025", 92.5) in claims  # "it": the model the sentence before was about
    assert ("gpt-oss-20b", "score:mmlu", 90.0) not in claims and ("gpt-oss-120b", "score:mmlu", 85.3) not in claims
