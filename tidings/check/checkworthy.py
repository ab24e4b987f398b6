"""Learned check-worthiness: logistic regression over cues that describe claims in general, plus either the word
pieces' embeddings of all-MiniLM-L6-v2 (with the semantic extra) or hashed word unigrams and bigrams (without it).

The semantic features are a lookup, not a model run: a sentence's vector is the IDF-weighted mean of the rows of
MiniLM's input token-embedding matrix for its word pieces (punctuation left out), L2-normalised. The matrix is read
from the extra's ONNX file and the pieces come from its tokenizer, both checked against the sha256 sums pinned in
`tidings.semantic`; nothing is downloaded and no transformer runs, so a sentence costs tens of microseconds. Word
embeddings put "unemployment" near "jobs" and "billion" near "million", which is what lets a ranker trained on
19 debates carry over to other debates and to news text; word n-grams mostly remember the debates they saw.

Both weight sets ship in `tidings/data/checkworthy.npz`, trained by `scripts/train_checkworthy.py` on a
CheckThat!-format folder (one debate per TSV file: line, speaker, text, label). `learned_probability` uses the
semantic ranker when the extra is installed and the lexical one otherwise; the environment variable
`TIDINGS_CHECKWORTHY=lexical` (or `=semantic`) forces one. `evaluate` scores a folder by mean average precision
over its debates, with R-precision and precision at 10, beside a trivial baseline (longer sentences first), and can
re-train leave-one-debate-out.
"""

from __future__ import annotations

import math
import os
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from tidings import semantic
from tidings.errors import TidingsError

FEATURES_VARIABLE = "TIDINGS_CHECKWORTHY"
KINDS = ("semantic", "lexical")

HASH_DIM = 2 ** 16
MAX_PIECES = 256  # word pieces read per sentence; a longer "sentence" is a page without full stops

# Inverse regularisation strength, and how much the standardised cues weigh against the other features (a
# smaller weight regularises the cues harder). Chosen by leave-one-debate-out MAP and by MAP when training on the
# 2016 debates and testing on the 2017-2019 ones.
SEMANTIC_C, SEMANTIC_CUE_WEIGHT = 0.02, 0.05
LEXICAL_C, LEXICAL_CUE_WEIGHT = 0.1, 0.05

_WORD = re.compile(r"[a-z0-9$%']+")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+")
_NUMBER = re.compile(r"\d+")
_CUE_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_YEAR = re.compile(r"\b(1[89]|20)\d\d\b|'\d\d\b")


@dataclass(frozen=True)
class Cue:
    """Fires when a sentence has one of the characters or words, or its words match the pattern (phrases, prefixes
    and suffixes, searched in the sentence's words joined by single spaces, with a space at each end)."""

    name: str
    words: frozenset[str] = frozenset()
    characters: frozenset[str] = frozenset()
    pattern: re.Pattern[str] | None = None

    def fires(self, characters: set[str], vocabulary: set[str], joined: str) -> bool:
        return (not vocabulary.isdisjoint(self.words) or not characters.isdisjoint(self.characters)
                or (self.pattern is not None and self.pattern.search(joined) is not None))


def _cue(name: str, words: str = "", phrases: tuple[str, ...] = (), prefixes: tuple[str, ...] = (),
         suffixes: tuple[str, ...] = (), characters: str = "") -> Cue:
    parts = [re.escape(f" {p} ") for p in phrases]
    parts += [" (?:" + "|".join(prefixes) + ")"] if prefixes else []
    parts += ["[a-z'](?:" + "|".join(map(re.escape, suffixes)) + ") "] if suffixes else []
    return Cue(name, frozenset(words.split()), frozenset(characters), re.compile("|".join(parts)) if parts else None)


# What a claim looks like in any debate or article: figures and their units, dates, comparisons, sweeping words,
# attributions; and what it does not: promises, opinions, courtesies, questions. Word lists, not regular
# expressions: `tidings check` scores every sentence of a page, and set look-ups keep that cheap.
CUES: tuple[Cue, ...] = (
    _cue("figure", characters="0123456789"),
    _cue("percent", "percent percentage percentages", phrases=("per cent",), characters="%"),
    _cue("money", "dollar dollars euro euros pound pounds cent cents buck bucks", characters="$€£"),
    _cue("scale", "hundred hundreds thousand thousands million millions billion billions trillion trillions"),
    _cue("number word", "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
                        "sixty seventy eighty ninety hundred thousand million billion trillion half dozen dozens "
                        "double triple twice"),
    _cue("month", "january february march april may june july august september october november december"),
    _cue("time span", "year years month months week weeks day days decade decades century centuries ago since "
                      "annual annually yesterday today"),
    _cue("comparison", "more less fewer than higher lower bigger smaller larger greater rise rising rose fell fall "
                       "falls falling grew cut cuts up down",
         prefixes=("increas", "decreas", "drop", "grow", "doubl", "tripl")),
    _cue("superlative", "most least best worst first last only ever never record", suffixes=("est",)),
    _cue("sweeping", "every all always nobody none everyone everybody", phrases=("no one",)),
    _cue("attribution", "said says data statistics poll polls study studies", phrases=("according to",),
         prefixes=("report", "survey", "estimat")),
    _cue("negation", "not no never nothing nor", suffixes=("n't",)),
    _cue("promise", "we'll i'll let's", phrases=("we will", "we're going to", "we are going to", "i will",
                                                "i'm going to", "i am going to", "we must", "we need to",
                                                "we have to", "i want", "we want", "let us")),
    _cue("opinion", "frankly", phrases=("i think", "i believe", "i feel", "in my opinion", "i hope", "i love",
                                        "i like", "believe me", "i guess", "i mean")),
    _cue("courtesy", "applause laughter crosstalk welcome wonderful", prefixes=("thank", "congratulat"),
         phrases=("good evening", "good night", "great question")),
    _cue("question", characters="?"),
    _cue("third person", "he she his her they their them"),
    _cue("second person", "you your"),
    _cue("first person", "i me my i'm i've i'd"),
    _cue("first person plural", "we our us we're we've we'd"),
    _cue("past tense", "was were had did", suffixes=("ed",)),
    _cue("modal", "would could should might may can will"),
    _cue("quantity", "many much lot lots few several half quarter majority percent number amount rate average"),
)
CUE_NAMES = tuple(c.name for c in CUES) + (
    "year", "capitalised words", "any capitalised word", "under 5 words", "5-9 words", "10-19 words", "20-34 words",
    "35+ words", "length", "numbers")
N_CUES = len(CUE_NAMES)


class CheckworthyDataError(TidingsError, ValueError):
    """A CheckThat!-format folder that cannot be read; the message names the file and line."""


class CheckworthyModelError(TidingsError, RuntimeError):
    """The shipped weights cannot serve the features asked for."""


@dataclass(frozen=True)
class Sentence:
    text: str
    label: int
    speaker: str = ""


# --- features -----------------------------------------------------------------------------------------------

def cues(text: str) -> np.ndarray:
    """The CUE_NAMES values of one sentence."""
    lower = text.lower().replace("\u2019", "'")
    words = _CUE_WORD.findall(lower)
    joined = f" {' '.join(words)} "
    vocabulary, characters = set(words), set(lower)
    count = len(words)
    capitalised = len(_CAPITALISED.findall(text[1:]))
    values = [float(c.fires(characters, vocabulary, joined)) for c in CUES]
    values += [float(_YEAR.search(lower) is not None), min(capitalised, 5) / 5, float(capitalised > 0),
               float(count < 5), float(5 <= count < 10), float(10 <= count < 20), float(20 <= count < 35),
               float(count >= 35), min(count, 60) / 60, len(_NUMBER.findall(text)) / 3]
    return np.array(values)


def cue_matrix(texts: Sequence[str]) -> np.ndarray:
    return np.array([cues(t) for t in texts]).reshape(len(texts), N_CUES)


def _slot(kind: str, *words: str) -> int:
    return zlib.crc32(("\x1f".join((kind, *words))).encode()) % HASH_DIM


def word_slots(text: str) -> list[int]:
    """Hashed slots of a sentence's word unigrams and bigrams."""
    words = _WORD.findall(text.lower())
    slots = {_slot("u", w) for w in words} | {_slot("b", a, b) for a, b in zip(words, words[1:], strict=False)}
    return sorted(slots)


def lexical_matrix(texts: Sequence[str]):
    """Binary word unigrams and bigrams, each row scaled to unit length so long sentences do not win by size."""
    from scipy.sparse import csr_matrix

    data, cols, rows = [], [], [0]
    for text in texts:
        slots = word_slots(text)
        cols += slots
        data += [1 / math.sqrt(max(len(slots), 1))] * len(slots)
        rows.append(len(cols))
    return csr_matrix((np.array(data), np.array(cols, dtype=np.int64), np.array(rows)),
                      shape=(len(texts), HASH_DIM))


def _varint(data: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def _protobuf_fields(data: memoryview) -> Iterable[tuple[int, int, int | memoryview]]:
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            value, at = data[at:at + size], at + size
        elif wire in (1, 5):
            step = 8 if wire == 1 else 4
            value, at = data[at:at + step], at + step
        else:
            raise ValueError(f"protobuf wire type {wire}")
        yield field, wire, value


_ONNX_TYPES = {1: np.float32, 3: np.int8}


def onnx_initializers(path: Path, names: set[str]) -> dict[str, np.ndarray]:
    """Named constant tensors of an ONNX file, without the onnx package: ModelProto.graph (field 7) lists
    initializers (field 5), TensorProtos with dims (1), data_type (2), name (8) and raw_data (9)."""
    data = memoryview(path.read_bytes())
    found = {}
    for field, _, graph in _protobuf_fields(data):
        if field != 7:
            continue
        for part, _, tensor in _protobuf_fields(graph):
            if part != 5:
                continue
            dims, dtype, name, raw = [], 0, "", None
            for key, wire, value in _protobuf_fields(tensor):
                if key == 1 and wire == 0:
                    dims.append(value)
                elif key == 1:
                    packed, at = value, 0
                    while at < len(packed):
                        dim, at = _varint(packed, at)
                        dims.append(dim)
                elif key == 2:
                    dtype = value
                elif key == 8:
                    name = bytes(value).decode()
                elif key == 9:
                    raw = value
            if name in names and raw is not None and dtype in _ONNX_TYPES:
                found[name] = np.frombuffer(raw, dtype=_ONNX_TYPES[dtype]).reshape(dims)
    return found


_EMBEDDINGS = "inner.embeddings.word_embeddings.weight_q"  # int8 rows; times the per-row scale below
_EMBEDDING_SCALE = "inner.embeddings.word_embeddings.weight_scale"


class Pieces:
    """MiniLM's word pieces and their input embeddings, from the semantic extra's pinned tokenizer and model file."""

    def __init__(self) -> None:
        if not semantic.available():
            raise semantic.SemanticUnavailable(
                f"check-worthiness by word-piece embeddings needs the semantic extra: {semantic.INSTALL_HINT}")
        from tokenizers import Tokenizer

        model, tokenizer = semantic.model_file(), semantic.tokenizer_file()
        for path, expected, what in ((model, semantic.MODEL_SHA256, "semantic model file"),
                                     (tokenizer, semantic.TOKENIZER_SHA256, "semantic tokenizer file")):
            if semantic.sha256_of(path) != expected:
                raise semantic.SemanticUnavailable(f"the {what} {path} is not the pinned one: {semantic.INSTALL_HINT}")
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=MAX_PIECES)
        tensors = onnx_initializers(model, {_EMBEDDINGS, _EMBEDDING_SCALE})
        if set(tensors) != {_EMBEDDINGS, _EMBEDDING_SCALE}:
            raise semantic.SemanticUnavailable(f"{model} holds no word-embedding matrix: {semantic.INSTALL_HINT}")
        self._rows = tensors[_EMBEDDINGS].copy()  # a copy, so the rest of the file's bytes can be freed
        self._row_scale = tensors[_EMBEDDING_SCALE].reshape(-1).astype(np.float32)
        self.vocabulary, self.dimension = self._rows.shape
        # Punctuation and the special tokens say nothing about a claim, and would pull every vector their way.
        self._kept = np.zeros(self.vocabulary, dtype=bool)
        for piece, index in self._tokenizer.get_vocab().items():
            word = piece.removeprefix("##")
            self._kept[index] = any(c.isalnum() for c in word) and not (word.startswith("[") and word != "[UNK]")

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The kept word-piece ids of each text."""
        out = []
        for encoding in self._tokenizer.encode_batch(list(texts), add_special_tokens=False):
            ids = np.asarray(encoding.ids, dtype=np.int64)
            out.append(ids[self._kept[ids]])
        return out

    def vectors(self, encoded: Sequence[np.ndarray], idf: np.ndarray) -> np.ndarray:
        """IDF-weighted mean of each text's piece embeddings, L2-normalised (a zero row for a text without any)."""
        if len(encoded) == 1:  # the per-sentence path of `tidings check`: a plain weighted sum
            ids = encoded[0]
            out = ((self._row_scale[ids] * idf[ids]) @ self._rows[ids].astype(np.float32))[None, :]
        else:
            from scipy.sparse import csr_matrix

            ids = np.concatenate([np.zeros(0, dtype=np.int64), *encoded])
            used, local = np.unique(ids, return_inverse=True)
            table = self._rows[used].astype(np.float32) * self._row_scale[used, None]
            ends = np.cumsum([len(e) for e in encoded])
            weights = csr_matrix((idf[ids], local, np.r_[0, ends]), shape=(len(encoded), len(used)))
            out = np.asarray(weights @ table, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1)).astype(np.float32)


def piece_idf(encoded: Sequence[np.ndarray], vocabulary: int) -> np.ndarray:
    """Smoothed inverse document frequency of each piece over the training sentences."""
    seen = [np.unique(ids) for ids in encoded if len(ids)]
    df = np.bincount(np.concatenate(seen), minlength=vocabulary) if seen else np.zeros(vocabulary)
    return (np.log((1 + len(encoded)) / (1 + df)) + 1).astype(np.float32)


_pieces: Pieces | None = None
_pieces_error: semantic.SemanticUnavailable | None = None


def pieces() -> Pieces:
    """The process's Pieces, loaded once; raises SemanticUnavailable (every time) when the extra is absent."""
    global _pieces, _pieces_error
    if _pieces is None and _pieces_error is None:
        try:
            _pieces = Pieces()
        except semantic.SemanticUnavailable as exc:
            _pieces_error = exc
    if _pieces_error is not None:
        raise _pieces_error
    return _pieces


def active_features() -> str:
    """"semantic" when the extra is installed, else "lexical"; TIDINGS_CHECKWORTHY=lexical|semantic forces one."""
    forced = os.environ.get(FEATURES_VARIABLE, "").strip().lower()
    if forced and forced not in KINDS:
        raise CheckworthyModelError(f"{FEATURES_VARIABLE}={forced!r}: expected 'semantic', 'lexical' or nothing")
    if forced == "lexical":
        return "lexical"
    try:
        pieces()
    except semantic.SemanticUnavailable:
        if forced == "semantic":
            raise
        return "lexical"
    return "semantic"


# --- training -----------------------------------------------------------------------------------------------

def logistic(x, y: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """Class-balanced L2 logistic regression (L-BFGS, deterministic): minimises sum_i weight_i * loss_i +
    |w|^2 / 2c, each class weighing half the total; the bias is not regularised."""
    from scipy.optimize import minimize

    y = np.asarray(y, dtype=float)
    positive = min(max(y.mean(), 1 / len(y)), 1 - 1 / len(y))
    weight = np.where(y == 1, 0.5 / positive, 0.5 / (1 - positive))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        z = x @ w + b
        loss = float(weight @ (np.logaddexp(0, z) - y * z) + w @ w / (2 * c))
        g = weight * (1 / (1 + np.exp(-z)) - y)
        return loss, np.append(x.T @ g + w / c, g.sum())

    result = minimize(objective, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B",
                      options={"maxiter": 1000, "gtol": 1e-6})
    return result.x[:-1], float(result.x[-1])


@dataclass
class _Raw:
    """Per-sentence features that need no training: cues, and word slots or word pieces."""

    cues: np.ndarray
    words: object = None  # csr matrix for the lexical ranker
    pieces: list[np.ndarray] | None = None

    @classmethod
    def of(cls, texts: Sequence[str], kind: str) -> _Raw:
        if kind == "lexical":
            return cls(cue_matrix(texts), words=lexical_matrix(texts))
        return cls(cue_matrix(texts), pieces=pieces().encode(texts))

    @classmethod
    def join(cls, parts: Sequence[_Raw]) -> _Raw:
        from scipy.sparse import vstack

        return cls(np.vstack([p.cues for p in parts]),
                   words=vstack([p.words for p in parts]).tocsr() if parts[0].words is not None else None,
                   pieces=[ids for p in parts for ids in p.pieces] if parts[0].pieces is not None else None)


@dataclass
class Ranker:
    """One trained scorer. Weights: the standardised cues first, then word slots or piece-vector dimensions."""

    kind: str
    weights: np.ndarray
    bias: float
    cue_mean: np.ndarray
    cue_scale: np.ndarray
    idf: np.ndarray | None = None  # per word piece, semantic only

    def _design(self, raw: _Raw):
        scaled = (raw.cues - self.cue_mean) / self.cue_scale
        if self.kind == "lexical":
            from scipy.sparse import csr_matrix, hstack

            return hstack([csr_matrix(scaled), raw.words]).tocsr()
        return np.hstack([scaled, pieces().vectors(raw.pieces, self.idf)])

    def _scores(self, raw: _Raw) -> np.ndarray:
        return np.asarray(self._design(raw) @ self.weights + self.bias, dtype=float)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Log-odds of each text, in order."""
        return self._scores(_Raw.of(texts, self.kind)) if texts else np.zeros(0)

    def probability(self, text: str) -> float:
        """One sentence, without building matrices."""
        z = self.bias + float(((cues(text) - self.cue_mean) / self.cue_scale) @ self.weights[:N_CUES])
        if self.kind == "lexical":
            slots = word_slots(text)
            if slots:
                z += float(self.weights[N_CUES:][slots].sum()) / math.sqrt(len(slots))
        else:
            known = pieces()
            z += float(known.vectors(known.encode([text]), self.idf)[0] @ self.weights[N_CUES:])
        return float(1 / (1 + math.exp(-min(max(z, -50.0), 50.0))))


def _fit(raw: _Raw, labels: np.ndarray, kind: str) -> Ranker:
    c, cue_weight = (LEXICAL_C, LEXICAL_CUE_WEIGHT) if kind == "lexical" else (SEMANTIC_C, SEMANTIC_CUE_WEIGHT)
    mean, spread = raw.cues.mean(axis=0), raw.cues.std(axis=0)
    ranker = Ranker(kind, np.zeros(0), 0.0, mean, np.where(spread > 0, spread, 1.0) / cue_weight)
    if kind == "semantic":
        ranker.idf = piece_idf(raw.pieces, pieces().vocabulary)
    ranker.weights, ranker.bias = logistic(ranker._design(raw), labels, c)
    return ranker


def train(texts: Sequence[str], labels: Sequence[int], kind: str = "lexical") -> Ranker:
    """A ranker of the given kind ("semantic" needs the extra) trained on labelled sentences."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return _fit(_Raw.of(texts, kind), np.asarray(labels), kind)


class Model:
    """The shipped rankers: always a lexical one, and a semantic one for where the extra is installed."""

    def __init__(self, rankers: dict[str, Ranker]) -> None:
        if "lexical" not in rankers:
            raise ValueError("a Model needs a lexical ranker, the one that works everywhere")
        self.rankers = rankers

    @classmethod
    def shipped(cls) -> Model:
        with resources.files("tidings").joinpath("data/checkworthy.npz").open("rb") as f:
            return cls.load(f)

    @classmethod
    def load(cls, file) -> Model:
        """Rankers saved by `save` (a path or a binary file)."""
        with np.load(file) as stored:
            data = dict(stored)
        rankers = {}
        for kind in KINDS:
            if f"{kind}_weights" not in data:
                continue
            if kind == "semantic" and (str(data["semantic_model_sha256"]) != semantic.MODEL_SHA256
                                       or str(data["semantic_tokenizer_sha256"]) != semantic.TOKENIZER_SHA256):
                continue  # trained on other embeddings than the pinned ones: its weights would mean nothing
            rankers[kind] = Ranker(kind, data[f"{kind}_weights"].astype(float), float(data[f"{kind}_bias"]),
                                   data[f"{kind}_cue_mean"].astype(float), data[f"{kind}_cue_scale"].astype(float),
                                   data["semantic_idf"].astype(np.float32) if kind == "semantic" else None)
        return cls(rankers)

    def save(self, path: Path) -> None:
        arrays = {}
        for kind, ranker in self.rankers.items():
            arrays |= {f"{kind}_weights": ranker.weights.astype(np.float32), f"{kind}_bias": np.float32(ranker.bias),
                       f"{kind}_cue_mean": ranker.cue_mean.astype(np.float32),
                       f"{kind}_cue_scale": ranker.cue_scale.astype(np.float32)}
        if "semantic" in self.rankers:
            arrays |= {"semantic_idf": self.rankers["semantic"].idf.astype(np.float16),
                       "semantic_model_sha256": np.str_(semantic.MODEL_SHA256),
                       "semantic_tokenizer_sha256": np.str_(semantic.TOKENIZER_SHA256)}
        np.savez_compressed(path, **arrays)

    def ranker(self, kind: str | None = None) -> Ranker:
        """The ranker for `kind`, or for the active features when None (lexical if there is no semantic one)."""
        if kind is None:
            kind = active_features()
            if kind not in self.rankers:
                kind = "lexical"
        if kind not in self.rankers:
            raise CheckworthyModelError(f"the shipped check-worthiness weights have no {kind} ranker; "
                                        f"re-train them with scripts/train_checkworthy.py")
        return self.rankers[kind]

    def scores(self, texts: Sequence[str], kind: str | None = None) -> np.ndarray:
        return self.ranker(kind).scores(texts)

    def probability(self, text: str, kind: str | None = None) -> float:
        return self.ranker(kind).probability(text)


_shipped: Model | None = None


def shipped_model() -> Model:
    global _shipped
    if _shipped is None:
        _shipped = Model.shipped()
    return _shipped


def learned_probability(text: str) -> float:
    """0..1 from the shipped ranker of the active features (class-balanced: 0.5 is an average sentence)."""
    return shipped_model().probability(text)


def learned_probabilities(texts: Sequence[str]) -> np.ndarray:
    """learned_probability of many sentences at once (one tokenizer call, one matrix product)."""
    return 1 / (1 + np.exp(-np.clip(shipped_model().scores(list(texts)), -50, 50)))


# --- data and evaluation ------------------------------------------------------------------------------------

def read_folder(folder: str | Path) -> dict[str, list[Sentence]]:
    """Debates of a CheckThat!-format folder: TSV lines `line <TAB> speaker <TAB> text <TAB> label`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckworthyDataError(f"{folder}: {'not a folder' if folder.exists() else 'no such folder'} (give the "
                                   "folder of a CheckThat! set's .tsv files)")
    debates = {}
    for path in sorted(folder.glob("*.tsv")):
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 4 or parts[-1].strip() not in ("0", "1"):
                raise CheckworthyDataError(f"{path}:{number}: expected line, speaker, text and a 0/1 label")
            rows.append(Sentence(parts[2], int(parts[-1]), parts[1].strip()))
        debates[path.stem] = rows
    if not debates:
        raise CheckworthyDataError(f"{folder}: no .tsv debates")
    return debates


def ranking_scores(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """(average precision, R-precision, precision at 10) of one debate ranked by descending score."""
    order = np.argsort(-scores, kind="stable")
    ranked = labels[order]
    relevant = int(labels.sum())
    if relevant == 0:
        return 0.0, 0.0, 0.0
    hits = np.cumsum(ranked)
    precision = hits / np.arange(1, len(ranked) + 1)
    average_precision = float((precision * ranked).sum() / relevant)
    return average_precision, float(hits[relevant - 1] / relevant), float(hits[min(10, len(ranked)) - 1] / 10)


def length_scores(texts: Sequence[str]) -> np.ndarray:
    """The baseline: longer sentences first."""
    return np.array([len(t) for t in texts], dtype=float)


def evaluate_folds(debates: dict[str, list[Sentence]], folds: Sequence[tuple[Sequence[str], Sequence[str]]] | None,
                   features: str | None = None) -> dict[str, float]:
    """Mean over the tested debates of average precision, R-precision and P@10, and `baseline_map` of the length
    baseline on the same debates. `folds` lists (training debates, tested debates); None tests every debate with
    the shipped weights."""
    kind = features or active_features()
    shipped = shipped_model().ranker(kind) if folds is None else None
    raws = {name: _Raw.of([r.text for r in rows], kind) for name, rows in debates.items()}
    labels = {name: np.array([r.label for r in rows]) for name, rows in debates.items()}
    per_debate, baseline = {}, {}
    for training, tested in folds if folds is not None else [((), tuple(debates))]:
        ranker = shipped or _fit(_Raw.join([raws[n] for n in training]),
                                 np.concatenate([labels[n] for n in training]), kind)
        for name in tested:
            per_debate[name] = ranking_scores(ranker._scores(raws[name]), labels[name])
            baseline[name] = ranking_scores(length_scores([r.text for r in debates[name]]), labels[name])[0]
    results = list(per_debate.values())
    return {"map": float(np.mean([r[0] for r in results])), "r_precision": float(np.mean([r[1] for r in results])),
            "p_at_10": float(np.mean([r[2] for r in results])), "baseline_map": float(np.mean(list(baseline.values()))),
            "debates": len(results), "features": kind}


def leave_one_debate_out(names: Iterable[str]) -> list[tuple[list[str], list[str]]]:
    names = list(names)
    return [([other for other in names if other != name], [name]) for name in names]


def evaluate(debates: dict[str, list[Sentence]], leave_one_out: bool = False,
             features: str | None = None) -> dict[str, float]:
    """Mean over debates of average precision, R-precision and P@10; `baseline_map` ranks longer sentences
    first. Without `leave_one_out` the shipped weights score every debate; with it, each debate is scored by a
    ranker trained on all the others. `features` is "semantic" or "lexical" (default: the active ones)."""
    return evaluate_folds(debates, leave_one_debate_out(debates) if leave_one_out else None, features)
