"""Runnable collaborations: `python -m scenarios NAME` (what `make demo SCENARIO=NAME` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

# How the engine marks each step when its output is not a terminal; the web console's runner follows these lines.
STEP = "step: "

if TYPE_CHECKING:  # pandas comes with the train extra; the web console lists scenarios without it
    import pandas as pd


def write_tables(
    folder: Path, datasets: dict[str, tuple[str, str]], tables: dict[str, pd.DataFrame]
) -> dict[str, Path]:
    """Each provider's table under folder/provider/, as CSV or Parquet by its file name; dataset id -> path."""
    written = {}
    for dataset, (provider, name) in datasets.items():
        path = folder / provider / name
        path.parent.mkdir(parents=True, exist_ok=True)
        table = tables[provider]
        table.to_csv(path, index=False) if path.suffix == ".csv" else table.to_parquet(path, index=False)
        written[dataset] = path
    return written


def records(path: Path) -> int:
    """How many records a dataset holds, in the unit its privacy protects: a table's rows, a folder's images."""
    if path.is_dir():
        return sum(1 for _ in path.rglob("*.png"))
    import pandas as pd

    return len(pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path))
