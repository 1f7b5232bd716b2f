"""The split arrays every trainer takes, and the scores every trainer reports on the test split."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as sk

from schemas.errors import Unprocessable
from trainers.config import Named


@dataclass(frozen=True)
class Arrays:
    """Features and labels, split; labels are class indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int


def _average(data: Arrays, params: dict[str, Any]) -> dict[str, Any]:
    return {"average": params.get("average", "binary" if data.classes == 2 else "macro"), "zero_division": 0}


def _roc_auc(data: Arrays, probs: np.ndarray, params: dict[str, Any]) -> dict[str, float]:
    if len(set(data.y_test.tolist())) < 2:
        return {}  # one class in the test split: no curve to measure
    if data.classes == 2:
        return {"roc_auc": float(sk.roc_auc_score(data.y_test, probs[:, 1]))}
    return {"roc_auc": float(sk.roc_auc_score(data.y_test, probs, multi_class="ovr", labels=list(range(data.classes))))}


def _per_class(data: Arrays, probs: np.ndarray, params: dict[str, Any]) -> dict[str, float]:
    found = sk.precision_recall_fscore_support(data.y_test, probs.argmax(1), labels=list(range(data.classes)),
                                               zero_division=0)  # fmt: skip
    return {f"class_{c}_{name}": float(values[c]) for name, values in zip(("precision", "recall", "f1", "support"),
            found, strict=True) for c in range(data.classes)}  # fmt: skip


def _confusion(data: Arrays, probs: np.ndarray, params: dict[str, Any]) -> dict[str, float]:
    matrix = sk.confusion_matrix(data.y_test, probs.argmax(1), labels=list(range(data.classes)))
    return {f"confusion_{i}_{j}": float(matrix[i, j]) for i in range(data.classes) for j in range(data.classes)}


Metric = Callable[[Arrays, np.ndarray, dict[str, Any]], dict[str, float]]
# Upstream's names for what a classifier reports on the test split; every figure is a number, as metrics.json holds.
METRICS: dict[str, Metric] = {
    "accuracy": lambda d, p, _: {"accuracy": float(sk.accuracy_score(d.y_test, p.argmax(1)))},
    "roc_auc": _roc_auc,
    "f1_score": lambda d, p, k: {"f1_score": float(sk.f1_score(d.y_test, p.argmax(1), **_average(d, k)))},
    "precision": lambda d, p, k: {"precision": float(sk.precision_score(d.y_test, p.argmax(1), **_average(d, k)))},
    "recall": lambda d, p, k: {"recall": float(sk.recall_score(d.y_test, p.argmax(1), **_average(d, k)))},
    "log_loss": lambda d, p, _: {"log_loss": float(sk.log_loss(d.y_test, p, labels=list(range(d.classes))))},
    "confusion_matrix": _confusion,
    "classification_report": _per_class,
}
DEFAULT = [Named(name="accuracy"), Named(name="roc_auc")]


def check_metrics(wanted: Sequence[Named]) -> None:
    """Before any training: a metric asked for and not computed would be silently missing from the results."""
    unknown = [m.name for m in wanted if m.name not in METRICS]
    if unknown:
        raise Unprocessable(f"the pipeline asks for metrics this trainer does not compute: {', '.join(unknown)}",
                            remedy=f"ask for {', '.join(METRICS)}")  # fmt: skip


def scores(data: Arrays, probs: np.ndarray, wanted: Sequence[Named] = ()) -> dict[str, float]:
    """The test split's figures the pipeline asks for (accuracy and ROC AUC unless it names others)."""
    found = {"test_records": float(len(data.y_test))}
    for metric in wanted or DEFAULT:
        found |= METRICS[metric.name](data, probs, metric.params)
    return found
