"""Medical imaging: two hospitals' labelled scans (small synthetic PNGs: lesion or normal) pooled in the clean room;
a DP CNN learns to spot lesions. Each hospital's images are one dataset, a folder sent as an encrypted tar."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

TITLE = "medical imaging: two hospitals' PNG scans pooled, DP CNN"
DATASETS = {
    "9e4f2b10-0001-4a7d-b6c2-hospitala001": ("hospital_a", "scans_a"),
    "9e4f2b10-0002-4a7d-b6c2-hospitalb001": ("hospital_b", "scans_b"),
}
SIZE, PER_CLASS = 16, 300


def scan(rng: np.random.Generator, lesion: bool) -> np.ndarray:
    yy, xx = np.mgrid[:SIZE, :SIZE]
    tissue = rng.normal(90, 18, (SIZE, SIZE))
    if lesion:
        cy, cx, r = rng.uniform(4, 12), rng.uniform(4, 12), rng.uniform(1.5, 3.5)
        tissue += 90 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
    return np.clip(tissue, 0, 255).astype(np.uint8)


def generate(folder: Path, seed: int = 31337) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    written = {}
    for dataset, (hospital, name) in DATASETS.items():
        root = folder / hospital / name
        for label in ("lesion", "normal"):
            (root / label).mkdir(parents=True, exist_ok=True)
            for i in range(PER_CLASS):
                Image.fromarray(scan(rng, label == "lesion")).save(root / label / f"{i:04d}.png")
        written[dataset] = root
    return written
