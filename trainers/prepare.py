"""From a joined table or image folder to split arrays, as the dataset config says."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from schemas.errors import Unprocessable
from trainers.arrays import Arrays
from trainers.config import DatasetConfig


def tabular(frame: pd.DataFrame, config: DatasetConfig) -> Arrays:
    target = config.target_variable
    if target is None or target not in frame.columns:
        raise Unprocessable(f"the target variable {target!r} is not a column of the joined data")
    frame = frame.dropna(subset=[target])
    frame = frame.dropna() if config.missing_strategy == "drop" else frame.fillna(config.fill_value)
    labels, classes = pd.factorize(frame[target], sort=True)
    wide = pd.get_dummies(frame.drop(columns=[target]), dtype=float).to_numpy(dtype=np.float64)
    # One 1e39 would otherwise become infinity in float32 and fail training with a data-dependent error.
    if not (np.isfinite(wide) & (np.abs(wide) <= np.finfo(np.float32).max)).all():
        raise Unprocessable(
            "the features hold values that are not finite 32-bit numbers (NaN, infinite, or past 3.4e38): "
            "clean the data before it is encrypted"
        )
    return _split(wide.astype(np.float32), labels, len(classes), config)


def images(x: np.ndarray, y: np.ndarray, config: DatasetConfig) -> Arrays:
    return _split(x.astype(np.float32), y, int(y.max()) + 1, config)


def _split(x: np.ndarray, y: np.ndarray, classes: int, config: DatasetConfig) -> Arrays:
    s = config.splits
    if len(x) < 10:
        raise Unprocessable(f"{len(x)} records are too few to train and test on")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=s.test, random_state=s.random_state, stratify=y if s.stratify else None
    )
    if x.ndim == 2:  # standardise tabular features on the training split only
        mean, std = x_train.mean(0), x_train.std(0) + 1e-6
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return Arrays(x_train, y_train, x_test, y_test, classes)
