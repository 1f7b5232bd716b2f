"""Disease surveillance: a testing lab, a hospital network and a vaccination registry join their records of the same
people inside the clean room; a health agency trains a DP MLP that predicts a positive test. Synthetic, fixed seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scenarios import write_tables

TITLE = "disease surveillance: three providers' records joined on patient_id, DP MLP"
DATASETS = {
    "5d0c1a77-0001-4f3e-8a51-lab000000001": ("lab", "lab_test_results.csv"),
    "5d0c1a77-0002-4f3e-8a51-hospital0001": ("hospital", "hospital_visits.parquet"),
    "5d0c1a77-0003-4f3e-8a51-registry0001": ("registry", "vaccination_registry.csv"),
}
PEOPLE = 12_000


def generate(folder: Path, seed: int = 1729) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    ids = np.arange(500_000, 500_000 + PEOPLE)
    age = rng.integers(1, 95, PEOPLE)
    doses = rng.choice([0, 1, 2, 3], PEOPLE, p=[0.2, 0.2, 0.4, 0.2])
    exposure = rng.normal(size=PEOPLE) + 0.01 * (age - 45)
    infected = (exposure - 0.4 * doses + rng.normal(scale=0.7, size=PEOPLE) > 0.3).astype(int)
    fever = (infected * rng.random(PEOPLE) > 0.3) | (rng.random(PEOPLE) < 0.1)
    tables = {
        "lab": pd.DataFrame({"patient_id": ids, "ct_value": np.where(infected, rng.normal(24, 4, PEOPLE), 40.0),
                             "test_positive": infected}),
        "hospital": pd.DataFrame({"patient_id": ids, "age": age, "fever": fever.astype(int),
                                  "cough": ((infected & (rng.random(PEOPLE) < 0.6)) | (rng.random(PEOPLE) < 0.15))
                                  .astype(int), "travelled": (rng.random(PEOPLE) < 0.2 + 0.2 * infected).astype(int)}),
        "registry": pd.DataFrame({"patient_id": ids, "doses": doses,
                                  "months_since_last_dose": np.where(doses > 0, rng.integers(0, 24, PEOPLE), 99)}),
    }  # fmt: skip
    return write_tables(folder, DATASETS, tables)
