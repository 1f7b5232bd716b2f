"""Credit risk: a bank, a credit bureau, a fintech and a telecom join their customers' records inside the clean room;
the consumer trains a default-risk model with DP-SGD. Data is synthetic, made with a fixed seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scenarios import write_tables

TITLE = "credit risk: four providers joined on customer_id, DP-SGD"
# Contract dataset id -> (provider, file). Stable ids, as in an upstream contract.
DATASETS = {
    "7b1c5c2e-0001-4c1a-9e0b-bank00000001": ("bank", "bank_applications.csv"),
    "7b1c5c2e-0002-4c1a-9e0b-bureau000001": ("bureau", "bureau_records.parquet"),
    "7b1c5c2e-0003-4c1a-9e0b-fintech00001": ("fintech", "fintech_wallets.csv"),
    "7b1c5c2e-0004-4c1a-9e0b-telecom00001": ("telecom", "telecom_billing.parquet"),
}
CUSTOMERS = 20_000


def generate(folder: Path, seed: int = 20261125) -> dict[str, Path]:
    """Each provider's table; a latent risk drives defaults and leaves a trace in every table."""
    rng = np.random.default_rng(seed)
    ids = np.arange(100_000, 100_000 + CUSTOMERS)
    risk = rng.normal(size=CUSTOMERS)
    income = np.round(np.exp(rng.normal(10.5, 0.5, CUSTOMERS) - 0.15 * risk), 2)
    default = (risk + rng.normal(scale=0.8, size=CUSTOMERS) > 1.1).astype(int)
    tables = {
        "bank": pd.DataFrame({
            "customer_id": ids, "income": income, "credit_amount": np.round(income * rng.uniform(0.5, 4, CUSTOMERS), 2),
            "age": rng.integers(21, 70, CUSTOMERS), "employment_years": np.clip(rng.normal(8, 5, CUSTOMERS), 0, 45),
            "TARGET": default,
        }),
        "bureau": pd.DataFrame({
            "customer_id": ids, "bureau_loans": rng.poisson(np.exp(0.8 + 0.3 * risk)),
            "overdue_ratio": 1 / (1 + np.exp(-(risk - 1.5 + rng.normal(scale=0.7, size=CUSTOMERS)))),
            "history_months": rng.integers(0, 300, CUSTOMERS),
        }),
        "fintech": pd.DataFrame({
            "customer_id": ids, "wallet_txn_count": rng.poisson(40, CUSTOMERS),
            "bnpl_outstanding": np.round(np.maximum(0, rng.normal(200 + 150 * risk, 100)), 2),
        }),
        "telecom": pd.DataFrame({
            "customer_id": ids, "monthly_bill": np.round(rng.gamma(4, 10, CUSTOMERS), 2),
            "late_bill_payments": rng.poisson(np.exp(-0.5 + 0.5 * risk)),
            "tenure_months": rng.integers(1, 180, CUSTOMERS),
        }),
    }  # fmt: skip
    return write_tables(folder, DATASETS, tables)
