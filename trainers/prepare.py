"""From a joined table or image folder to split arrays, as the dataset config says."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from schemas.errors import Unprocessable
from trainers.arrays import Arrays
from trainers.config import DatasetConfig


def tabular(frame: pd.DataFrame, config: DatasetConfig, private: bool = False) -> Arrays:
    """Features and labels. A private pipeline encodes them by its declared schema alone (`declared`); others
    learn categories from the data and standardise on the training split."""
    target = config.target_variable
    if target is None or target not in frame.columns:
        raise Unprocessable(f"the target variable {target!r} is not a column of the joined data")
    if private:
        return declared(frame, config)
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


def declared(frame: pd.DataFrame, config: DatasetConfig) -> Arrays:
    """Each record encoded by the public schema alone, so the model's shape and every row depend on no other
    record: numbers clipped to their bounds and scaled to [0, 1], categories one column each (any other value
    none), labels by their declared class. A record whose label is no declared class is dropped, as a record with
    a missing value is: the decision reads that record only."""
    features, classes, target = config.features, config.classes, config.target_variable
    if not features or not classes:
        raise Unprocessable(
            "a private pipeline declares the public schema it trains on: dataset_config.features (bounds or"
            " categories for each feature) and dataset_config.classes",
            remedy="declare each feature's bounds or categories and the target's classes in the pipeline config",
        )
    missing = [name for name in [*features, target] if name not in frame.columns]
    if missing:
        raise Unprocessable(f"the joined data has no columns {missing}, which the pipeline's schema declares")
    frame = frame[[*features, target]]
    frame = frame.dropna() if config.missing_strategy == "drop" else frame.fillna(config.fill_value)
    frame = frame[frame[target].isin(classes)]
    columns = []
    for name, feature in features.items():
        if feature.bounds is not None:
            low, high = feature.bounds
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
            columns.append(((np.clip(np.nan_to_num(values, nan=low), low, high) - low) / (high - low))[:, None])
        else:
            columns.append(np.stack([(frame[name] == c).to_numpy() for c in feature.categories], 1))  # type: ignore[union-attr]
    wide = np.concatenate(columns, 1).astype(np.float32)
    labels = frame[target].map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64)
    return _split(wide, labels, len(classes), config, standardise=False)


def images(
    x: np.ndarray, y: np.ndarray, config: DatasetConfig, folders: list[str] | None = None, private: bool = False
) -> Arrays:
    """Images labelled by class folder. A private pipeline declares its classes, so that the model's output
    layer does not depend on which folders hold records: labels follow the declared order."""
    if private:
        declared = [str(c) for c in config.classes or []]
        if not declared:
            raise Unprocessable(
                "a private image pipeline declares its classes (the class folders' names) in dataset_config.classes"
            )
        undeclared = sorted(set(folders or []) - set(declared))
        if undeclared:
            raise Unprocessable(f"class folders {undeclared} are no declared class of the pipeline")
        order = np.asarray([declared.index(name) for name in folders or []])
        return _split(x.astype(np.float32), order[y], len(declared), config)
    return _split(x.astype(np.float32), y, len(folders) if folders else int(y.max()) + 1, config)


def _split(x: np.ndarray, y: np.ndarray, classes: int, config: DatasetConfig, standardise: bool = True) -> Arrays:
    s = config.splits
    if len(x) < 10:
        raise Unprocessable(f"{len(x)} records are too few to train and test on")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=s.test, random_state=s.random_state, stratify=y if s.stratify else None
    )
    if standardise and x.ndim == 2:  # standardise tabular features on the training split only
        mean, std = x_train.mean(0), x_train.std(0) + 1e-6
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return Arrays(x_train, y_train, x_test, y_test, classes)
