"""Reading inputs inside the clean room: CSV, Parquet, HDF5 and PNG folders; never pickle."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from PIL import Image

from schemas.errors import PickleRefused, Unprocessable
from trainers.config import JoinConfig, JoinedDataset

PICKLED = {".pkl", ".pickle", ".pt", ".pth", ".joblib", ".npy", ".npz"}


def refuse_pickle(path: Path) -> None:
    """Unpickling runs code chosen by whoever wrote the file: inside a clean room that is an exfiltration path."""
    if path.suffix.lower() in PICKLED:
        raise PickleRefused(f"{path.name}: pickle-based formats are refused")


def load_table(path: Path) -> pd.DataFrame:
    refuse_pickle(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".h5", ".hdf5"):
        features, targets = load_hdf5(path)
        frame = pd.DataFrame(features.reshape(len(features), -1)).add_prefix("f")
        frame["target"] = targets
        return frame
    raise Unprocessable(f"{path.name}: tables are read from CSV, Parquet or HDF5")


def load_hdf5(path: Path, features: str = "features", targets: str = "targets") -> tuple[np.ndarray, np.ndarray]:
    refuse_pickle(path)
    with h5py.File(path, "r") as f:
        if features not in f or targets not in f:
            raise Unprocessable(f"{path.name}: an HDF5 input holds datasets {features!r} and {targets!r}")
        return np.asarray(f[features]), np.asarray(f[targets])


def load_png_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One sub-folder per class of same-size PNG images: (images scaled to [0, 1], labels, class names)."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise Unprocessable(f"{folder}: a PNG input has one sub-folder per class")
    images, labels = [], []
    for label, name in enumerate(classes):
        for png in sorted((folder / name).glob("*.png")):
            with Image.open(png) as img:
                images.append(np.asarray(img.convert("L"), dtype=np.float32) / 255.0)
            labels.append(label)
    return np.stack(images)[:, None, :, :], np.asarray(labels), classes


def _unique_key(frame: pd.DataFrame, key: str, name: str) -> None:
    """A person is one record per dataset: a repeated key would make a left join turn one person's record into
    several training rows, each clipped and counted as someone else, so DP-SGD's guarantee would not cover them.
    The refusal names no count: a failure reason leaves the clean room."""
    if key not in frame.columns:
        raise Unprocessable(f"dataset {name} has no joining key column {key}")
    if frame[key].duplicated().any():
        raise Unprocessable(
            f"the joining key {key} repeats in dataset {name}: one person's record would become several "
            "training rows; give each person one record"
        )


def join_tables(tables: dict[str, pd.DataFrame], join: JoinConfig) -> pd.DataFrame:
    """Left joins on the joining key, the first dataset as the base; identifiers and dropped columns removed."""
    spec = join.joined_dataset if isinstance(join.joined_dataset, JoinedDataset) else JoinedDataset()
    frames = []
    for ds in join.datasets:
        frame = tables[ds.id]
        if ds.select_variables:
            missing = sorted(set(ds.select_variables) - set(frame.columns))
            if missing:
                raise Unprocessable(f"dataset {ds.name} lacks the columns {missing}")
            frame = frame[ds.select_variables]
        frames.append(frame)
    if len(frames) > 1:
        if spec.joining_key is None:
            raise Unprocessable("joining several datasets needs joined_dataset.joining_key")
        for ds, frame in zip(join.datasets, frames, strict=True):
            _unique_key(frame, spec.joining_key, ds.name)
    joined = frames[0]
    for frame in frames[1:]:
        joined = joined.merge(frame, on=spec.joining_key, how="left", suffixes=("", "_dup"))
    dropped = [c for c in [*spec.drop_columns, *spec.identifiers] if c in joined.columns]
    return joined.drop(columns=dropped + [c for c in joined.columns if c.endswith("_dup")])
