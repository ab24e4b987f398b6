"""Clustering quality against labels: NMI (arithmetic normalisation, as scikit-learn), ARI, homogeneity and
completeness, computed from the contingency table with numpy."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np


def _contingency(true: Sequence[Hashable], pred: Sequence[Hashable]) -> np.ndarray:
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} labels against {len(pred)} predictions")
    _, t = np.unique(np.asarray([str(x) for x in true]), return_inverse=True)
    _, p = np.unique(np.asarray([str(x) for x in pred]), return_inverse=True)
    table = np.zeros((t.max() + 1, p.max() + 1), dtype=np.int64)
    np.add.at(table, (t, p), 1)
    return table


def _entropy(counts: np.ndarray) -> float:
    counts = counts[counts > 0].astype(float)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def _mutual_information(table: np.ndarray) -> float:
    n = table.sum()
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    nz = np.nonzero(table)
    joint = table[nz].astype(float)
    return float((joint / n * (np.log(joint * n) - np.log(rows[nz[0]] * cols[nz[1]].astype(float)))).sum())


def _pairs(x: np.ndarray) -> float:
    x = x.astype(float)
    return float((x * (x - 1) / 2).sum())


def cluster_scores(true: Sequence[Hashable], pred: Sequence[Hashable]) -> dict[str, float]:
    """nmi, ari, homogeneity and completeness of a predicted clustering."""
    if not len(true):
        return {"nmi": 1.0, "ari": 1.0, "homogeneity": 1.0, "completeness": 1.0}
    table = _contingency(true, pred)
    h_true, h_pred = _entropy(table.sum(axis=1)), _entropy(table.sum(axis=0))
    mi = _mutual_information(table)
    nmi = 1.0 if h_true == h_pred == 0 else (mi / ((h_true + h_pred) / 2) if h_true + h_pred else 0.0)
    homogeneity = 1.0 if h_true == 0 else mi / h_true
    completeness = 1.0 if h_pred == 0 else mi / h_pred
    n = table.sum()
    index, a, b = _pairs(table), _pairs(table.sum(axis=1)), _pairs(table.sum(axis=0))
    expected = a * b / (n * (n - 1) / 2) if n > 1 else 0.0
    top = (a + b) / 2
    ari = 1.0 if top == expected else (index - expected) / (top - expected)
    return {"nmi": nmi, "ari": ari, "homogeneity": homogeneity, "completeness": completeness}
