"""`tidings eval cluster`: stream a labelled file through the story clusterer and score it against the labels.

The file is JSON Lines, one item a line: {"text": ..., "cluster": <label>, optional "time": ISO date or epoch
seconds}. Items go through `StoryClusterer` exactly as the cluster stage feeds it (same vectors, same
assignment, same maintenance pass at the end), one at a time, seeing only what came before.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tidings.cluster import DAY, no_cycle_collection, params
from tidings.clusterer import StoryClusterer, Vocabulary
from tidings.config import Settings
from tidings.embed import LexicalVectoriser
from tidings.errors import TidingsError
from tidings.metrics import cluster_scores

# name -> weight of the lexical cosine; the rest is the embedding's (the semantic extra)
VECTORISERS = {"lexical": 1.0, "hybrid": 0.5, "semantic": 0.0}


class EvalError(TidingsError, ValueError):
    """A labelled file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Labelled:
    text: str
    cluster: Hashable
    time: float | None = None


def read_labelled(path: str | Path) -> list[Labelled]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvalError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalError(f"{path}: cannot read: {exc}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise EvalError(f"{path}:{number}: not JSON: {exc}") from None
        if not isinstance(row, dict) or "text" not in row or "cluster" not in row:
            raise EvalError(f"{path}:{number}: each line needs \"text\" and \"cluster\"")
        if not isinstance(row["text"], str):  # (an empty one is an item with no words: real data has them)
            raise EvalError(f"{path}:{number}: \"text\" must be a string, got {row['text']!r}")
        if row["cluster"] is None or isinstance(row["cluster"], dict | list):
            raise EvalError(f"{path}:{number}: \"cluster\" must be a label (a string or a number), "
                            f"got {row['cluster']!r}")
        rows.append(Labelled(row["text"], json.dumps(row["cluster"]), _time(row.get("time"), path, number)))
    if not rows:
        raise EvalError(f"{path}: no labelled items")
    return rows


def _time(value, path: Path, number: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise EvalError(f"{path}:{number}: \"time\" must be an ISO date or epoch seconds, got {value!r}") from None


def _embeddings(texts: list[str]):
    from tidings.semantic import SemanticUnavailable, SemanticVectoriser

    try:
        return SemanticVectoriser().embed(texts)
    except SemanticUnavailable as exc:
        raise EvalError(str(exc)) from None


def evaluate_clustering(rows: list[Labelled], order: str = "file", vectoriser: str = "lexical",
                        settings: Settings | None = None) -> dict:
    """Cluster `rows` in one streaming pass (plus the maintenance pass) and score the result."""
    if vectoriser not in VECTORISERS:
        raise EvalError(f"unknown vectoriser {vectoriser!r} (available: {', '.join(VECTORISERS)})")
    settings = settings or Settings()
    rows = list(rows)
    if order == "shuffled":
        random.Random(0).shuffle(rows)
    elif order != "file":
        raise EvalError(f"unknown order {order!r} (use file or shuffled)")
    counts = LexicalVectoriser().counts
    timed = all(r.time is not None for r in rows)
    weight = VECTORISERS[vectoriser]
    # What the clusterer imports when a pass first needs matrices (scipy: a tenth of a second) is imported before
    # the clock starts: items/s measures the clustering, not the interpreter's imports.
    import tidings.maintenance  # noqa: F401

    start = time.perf_counter()
    # An embedding depends on its own text only, so computing them in batches first sees nothing of the future.
    dense = _embeddings([r.text for r in rows]) if weight < 1.0 else [None] * len(rows)
    engine = StoryClusterer(Vocabulary(), params(settings),
                            window=settings.story_window_days * DAY if timed else None, lexical_weight=weight)
    with no_cycle_collection():
        engine.add_many(range(len(rows)), [counts("", r.text) for r in rows], [r.time or 0.0 for r in rows],
                        dense=dense if weight < 1.0 else None)
        engine.maintain()
    seconds = time.perf_counter() - start
    predicted = engine.labels()
    scores = cluster_scores([r.cluster for r in rows], predicted)
    return {**scores, "stories": len(set(predicted)), "true_stories": len({r.cluster for r in rows}),
            "items": len(rows), "items_per_s": len(rows) / seconds if seconds else float("inf"),
            "order": order, "vectoriser": vectoriser}
