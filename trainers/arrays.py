"""The split arrays every trainer takes, and the scores every trainer reports on the test split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score


@dataclass(frozen=True)
class Arrays:
    """Features and labels, split; labels are class indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int


def scores(data: Arrays, probs: np.ndarray) -> dict[str, float]:
    metrics = {"accuracy": float(accuracy_score(data.y_test, probs.argmax(1))), "test_records": float(len(data.y_test))}
    if data.classes == 2 and len(set(data.y_test.tolist())) == 2:
        metrics["roc_auc"] = float(roc_auc_score(data.y_test, probs[:, 1]))
    return metrics
