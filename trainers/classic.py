"""Non-private baselines: scikit-learn and XGBoost, saved as ONNX and XGBoost JSON (never pickle).

They add no noise, so the clean-room agent runs them only on datasets whose contract sets no privacy cap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from trainers.arrays import Arrays, scores
from trainers.config import Named


def train_sklearn(
    data: Arrays, model_config: dict, folder: Path, wanted: Sequence[Named] = ()
) -> tuple[list[Path], dict[str, float]]:
    from skl2onnx import to_onnx

    model = LogisticRegression(max_iter=int(model_config.get("max_iter", 500))).fit(data.x_train, data.y_train)
    folder.mkdir(parents=True, exist_ok=True)
    graph = folder / "model.onnx"
    graph.write_bytes(to_onnx(model, data.x_train[:1].astype(np.float32)).SerializeToString())
    return [graph], scores(data, model.predict_proba(data.x_test), wanted)


def train_xgboost(
    data: Arrays, model_config: dict, folder: Path, wanted: Sequence[Named] = ()
) -> tuple[list[Path], dict[str, float]]:
    import xgboost

    known = {"n_estimators", "max_depth", "learning_rate", "min_child_weight", "objective", "eval_metric"}
    params = {k: v for k, v in model_config.items() if k in known}
    model = xgboost.XGBClassifier(**params).fit(data.x_train, data.y_train)
    folder.mkdir(parents=True, exist_ok=True)
    saved = folder / "model.json"
    model.save_model(saved)  # XGBoost's own JSON format
    json.loads(saved.read_text())
    return [saved], scores(data, model.predict_proba(data.x_test), wanted)
