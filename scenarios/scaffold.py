"""`depa-ccr scenario new SPEC.json`: a scenario folder from a spec in the spirit of upstream's, runnable at once.

The folder holds what a built-in scenario holds: a data generator per dataset (synthetic, fixed seed, the
declared format), the contract template, the pipeline, and a README of next steps. `make demo SCENARIO=FOLDER`
runs it end to end, the audit included.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.contract import MAX_EPSILON
from schemas.errors import MalformedInput

RESERVED = {"consumer", "cloud", "auditor"}  # the engine's own parties
FEATURES = 3  # per dataset, each with declared bounds, so the pipeline's preprocessing reads no record
BATCH = 64
TEST_SHARE = 0.2


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Spec):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    id: str | None = Field(default=None, min_length=1)  # the contract's id; made from the names when absent
    format: Literal["csv", "parquet"] = "csv"
    privacy: bool = True
    epsilon: float = Field(default=5.0, gt=0, le=MAX_EPSILON)
    delta: float = Field(default=1e-6, gt=0, lt=1)
    records: int = Field(default=2000, ge=500, le=1_000_000)

    @model_validator(mode="after")
    def _delta_fits_the_records(self) -> DatasetSpec:
        if self.privacy and self.delta > 1 / (10 * self.records):
            raise ValueError(f"delta {self.delta:g} is over 1/(10 n) = {1 / (10 * self.records):.3g} for "
                             f"{self.records} records: the ledger refuses it")  # fmt: skip
        return self


class ProviderSpec(_Spec):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    datasets: list[DatasetSpec] = Field(min_length=1)


class JoinSpec(_Spec):
    joining_key: str = Field(default="customer_id", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")


class ScenarioSpec(_Spec):
    scenario_name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    title: str | None = None
    tdps: list[ProviderSpec] = Field(min_length=1)
    # Train_DL is DP-SGD; XGBoost and scikit-learn add no noise, so they train only datasets nobody caps.
    training_framework: Literal["Train_DL", "Train_XGB", "Train_SKL"] = "Train_DL"
    join: JoinSpec = JoinSpec()
    model_format: Literal["onnx"] = "onnx"
    # The consumer brings the network: an ONNX file, or a folder of model_config.json and model.safetensors.
    base_model: Literal["onnx", "model_config"] | None = None

    @model_validator(mode="after")
    def _names(self) -> ScenarioSpec:
        providers = [p.name for p in self.tdps]
        problems = [f"provider {p!r} is a name the demo gives its own party" for p in providers if p in RESERVED]
        if len(set(providers)) != len(providers):
            problems.append("provider names repeat")
        ids = [d.id for d in self.datasets()]
        if len(set(ids)) != len(ids):
            problems.append("dataset ids repeat")
        private = [d.name for _, d in self.owned() if d.privacy]
        if self.training_framework == "Train_DL" and not private:
            problems.append("no dataset is private: Train_DL trains with DP-SGD on capped data")
        if self.training_framework != "Train_DL" and private:
            problems.append(f"{self.training_framework} adds no noise, so it cannot train capped data "
                            f"({', '.join(private)}): set privacy false, or train with Train_DL")  # fmt: skip
        if self.training_framework != "Train_DL" and self.base_model:
            problems.append("a base model is trained by Train_DL")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def owned(self) -> list[tuple[str, DatasetSpec]]:
        """Each dataset with its provider, its id filled in."""
        return [(p.name, d.model_copy(update={"id": d.id or f"{self.scenario_name}-{p.name}-{d.name}"}))
                for p in self.tdps for d in p.datasets]  # fmt: skip

    def datasets(self) -> list[DatasetSpec]:
        return [d for _, d in self.owned()]


def parse_spec(text: str | bytes, source: str) -> ScenarioSpec:
    """The spec, or MalformedInput with one line per problem."""
    try:
        return ScenarioSpec.model_validate_json(text)
    except ValidationError as exc:
        lines = [f"{source}: {'.'.join(str(x) for x in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()]
        raise MalformedInput("\n".join(lines), remedy="docs/build-your-own-scenario.md describes every field") from None


def scaffold(spec: ScenarioSpec, parent: Path) -> Path:
    """Write the scenario folder under `parent`; refuse to overwrite one."""
    folder = parent / spec.scenario_name
    if folder.exists():
        raise MalformedInput(f"{folder} exists; choose another --dir or scenario_name")
    folder.mkdir(parents=True)
    owned = spec.owned()
    (folder / "__init__.py").write_text(_module(spec, owned))
    (folder / "contract.json").write_text(json.dumps(_contract(spec, owned), indent=2) + "\n")
    pipeline = _pipeline(spec, owned)
    (folder / "pipeline_config.json").write_text(json.dumps(pipeline, indent=2) + "\n")
    if spec.base_model is not None:
        features = len(pipeline["pipeline"][1]["config"]["dataset_config"]["features"])
        (folder / "model_config.json").write_text(json.dumps(_network(features), indent=2) + "\n")
        with (folder / "__init__.py").open("a") as module:
            module.write(_base_model(spec.base_model, features))
    (folder / "README.md").write_text(_readme(spec, folder))
    return folder


def _file(d: DatasetSpec) -> str:
    return f"{d.name}.{d.format}"


def _columns(d: DatasetSpec) -> list[str]:
    return [f"{d.name}_f{i}" for i in range(FEATURES)]


def _module(spec: ScenarioSpec, owned: list[tuple[str, DatasetSpec]]) -> str:
    title = spec.title or spec.scenario_name.replace("_", " ")
    datasets = ",\n".join(f"    {d.id!r}: ({p!r}, {_file(d)!r})" for p, d in owned)
    records = ", ".join(f"{d.id!r}: {d.records}" for _, d in owned)
    target = owned[0][1].id
    return f'''"""{title}: scaffolded by `depa-ccr scenario new`.

The data is synthetic (fixed seed): replace generate() with a reader of each provider's own files, keeping the
columns the pipeline declares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TITLE = {title!r}
# Contract dataset id -> (provider, file).
DATASETS = {{
{datasets},
}}
RECORDS = {{{records}}}
KEY = {spec.join.joining_key!r}
TARGET_DATASET = {target!r}  # holds the label the model learns, TARGET


def generate(folder: Path, seed: int = 20261203) -> dict[str, Path]:
    """Each dataset as its provider holds it: the joining key, {FEATURES} features within [-5, 5], and in
    TARGET_DATASET the label; one latent signal runs through every table, so the join has something to learn."""
    rng = np.random.default_rng(seed)
    rows = max(RECORDS.values())
    ids = np.arange(100_000, 100_000 + rows)
    signal = rng.normal(size=rows)
    written = {{}}
    for dataset, (provider, name) in DATASETS.items():
        n = RECORDS[dataset]
        stem = name.rsplit(".", 1)[0]
        table = pd.DataFrame({{KEY: ids[:n]}})
        for i in range({FEATURES}):
            weight = rng.uniform(0.3, 1.0) * rng.choice([-1, 1])
            table[f"{{stem}}_f{{i}}"] = np.clip(weight * signal[:n] + rng.normal(size=n), -5, 5).round(4)
        if dataset == TARGET_DATASET:
            table["TARGET"] = (signal[:n] + rng.normal(scale=0.8, size=n) > 0.8).astype(int)
        path = folder / provider / name
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False) if path.suffix == ".csv" else table.to_parquet(path, index=False)
        written[dataset] = path
    return written
'''


def _contract(spec: ScenarioSpec, owned: list[tuple[str, DatasetSpec]]) -> dict[str, Any]:
    private = [d for _, d in owned if d.privacy]
    return {
        "id": f"{spec.scenario_name}-demo",
        "schemaVersion": "0.1",
        "startTime": "${start}",
        "expiryTime": "${expiry}",
        "tdc": "${did:consumer}",
        "tdps": [f"${{did:{p.name}}}" for p in spec.tdps],
        "ccrp": "${did:cloud}",
        "datasets": [
            {
                "id": d.id,
                "source": f"${{source:{d.id}}}",
                "name": d.name,
                "owner": p,
                "provider": f"${{did:{p}}}",
                "url": "",
                "key": {"type": "age"},
            }
            for p, d in owned
        ],  # fmt: skip
        "purpose": "TRAINING",
        "constraints": [
            {
                "privacy": [
                    {"dataset": d.id, "epsilon_threshold": f"{d.epsilon:g}", "delta": f"{d.delta:g}"} for d in private
                ]
            }
        ],  # fmt: skip
        "terms": {"payment": {}, "revocation": {}},
        "ccr": {"allow_simulated": True, "simulated_roots": ["${simulated_root}"]},
        "recipients": ["${did:consumer}"],
    }


def _pipeline(spec: ScenarioSpec, owned: list[tuple[str, DatasetSpec]]) -> dict[str, Any]:
    features = {column: {"bounds": [-5, 5]} for _, d in owned for column in _columns(d)}
    dataset_config = {
        "type": "tabular", "target_variable": "TARGET", "missing_strategy": "drop",
        "splits": {"train": 1 - TEST_SHARE, "val": 0.0, "test": TEST_SHARE, "random_state": 42, "stratify": True},
        "features": features, "classes": [0, 1],
    }  # fmt: skip
    join = {"name": "SparkJoin", "config": {
        "datasets": [{"id": d.id, "provider": p, "name": d.name, "file": _file(d)} for p, d in owned],
        "joined_dataset": {"joining_key": spec.join.joining_key, "identifiers": [spec.join.joining_key],
                           "drop_columns": []},
    }}  # fmt: skip
    train: dict[str, Any] = {"is_private": False, "dataset_config": dataset_config, "task_type": "classification",
                             "metrics": ["accuracy", "roc_auc"]}  # fmt: skip
    if spec.training_framework == "Train_XGB":
        train["model_config"] = {"n_estimators": 100, "max_depth": 4, "learning_rate": 0.1,
                                 "objective": "binary:logistic"}  # fmt: skip
    elif spec.training_framework == "Train_SKL":
        train["model_config"] = {"max_iter": 500}
    else:
        private = [d for _, d in owned if d.privacy]
        rows = min(d.records for _, d in owned)  # an inner join on the key keeps the shortest table's rows
        trained = rows - round(rows * TEST_SHARE)
        train.update({
            "is_private": True,
            # Half the smallest cap: what the filter charges at its fixed order exceeds the planned epsilon.
            "privacy_params": {"epsilon": round(min(d.epsilon for d in private) / 2, 4),
                               "delta": min(d.delta for d in private), "max_grad_norm": 1.0,
                               "sample_rate": round(BATCH / trained, 6)},
            "batch_size": BATCH,
            "optimizer": {"name": "SGD", "params": {"lr": 0.5, "momentum": 0.9}},
            "total_epochs": 3,
            # A base model the consumer brings is the network; otherwise an MLP of these widths.
            "model_config": {} if spec.base_model else {"hidden": [16]},
        })  # fmt: skip
    return {"pipeline": [join, {"name": spec.training_framework, "config": train}]}


def _network(features: int) -> dict[str, Any]:
    """The consumer's network as upstream's model_config graph: two dense layers, ReLU between them."""
    return {
        "layers": {"hidden": {"class": "nn.Linear", "params": {"in_features": features, "out_features": 16}},
                   "scores": {"class": "nn.Linear", "params": {"in_features": 16, "out_features": 2}}},
        "input": ["x"],
        "forward": [{"ops": ["hidden", "F.relu"], "input": ["x"], "output": "h"},
                    {"ops": ["scores"], "input": ["h"], "output": "y"}],
        "output": ["y"],
    }  # fmt: skip


def _base_model(form: str, features: int) -> str:
    """A base_model() for the scenario module: it builds model_config.json with a fixed seed and writes it."""
    if form == "onnx":
        imports, written = "from trainers.export import write_outputs", "model.onnx"
        body = f'    write_outputs(model, torch.zeros(1, {features}), {{}}, folder)\n    return folder / "model.onnx"'
    else:
        imports = "from safetensors.torch import save_file"
        written = "a folder of model_config.json and model.safetensors"
        body = """    save_file(model.state_dict(), folder / "model.safetensors")
    (folder / "model_config.json").write_text(described.read_text())
    return folder"""
    return f'''

def base_model(folder: Path, seed: int = 20261203) -> Path:
    """The consumer's network, which the contract names by its digest: model_config.json built with a fixed seed
    and written as {written}. Replace it with your own model ({features} features in, 2 scores out)."""
    import json

    import torch

    {imports}
    from trainers import graph

    torch.manual_seed(seed)
    described = Path(__file__).with_name("model_config.json")
    model = graph.build(json.loads(described.read_text()))
    folder.mkdir(parents=True, exist_ok=True)
{body}
'''


def _readme(spec: ScenarioSpec, folder: Path) -> str:
    rows = "\n".join(f"| {p} | `{d.id}` | {_file(d)} | {d.records} | "
                     + (f"epsilon {d.epsilon:g}, delta {d.delta:g}" if d.privacy else "not capped") + " |"
                     for p, d in spec.owned())  # fmt: skip
    return f"""# {spec.title or spec.scenario_name}

Scaffolded by `depa-ccr scenario new`. It runs as it is: `make demo SCENARIO={folder}` (or
`python -m scenarios {folder}`) starts a ledger, registers the parties, seals and caps the data, has every
party sign the contract, trains in a simulated clean room (INSECURE, which the contract admits) and ends with
`depa-audit verify`.

| provider | dataset id | file | records | privacy cap |
|---|---|---|---|---|
{rows}

Next steps:
1. `__init__.py`: replace `generate()` with a reader of each provider's real files; keep the columns, or
   change `pipeline_config.json`'s `features` to yours, each with its public bounds or categories.
2. `pipeline_config.json`: the epochs, batch, optimizer and the planned epsilon (`privacy_params`); keep
   `sample_rate` equal to the batch over the training records.
3. `contract.json`: the caps each provider accepts, and for real hardware the clean room's measurement in
   `ccr.measurements` instead of `allow_simulated`.
""" + (
        """4. `model_config.json` and `base_model()`: the consumer's own network. The demo registers what
   `base_model()` writes, the contract names its digest, and the clean room trains that model and no other.
"""
        if spec.base_model
        else ""
    )


def load(folder: Path) -> Any:
    """A scenario module from its folder (built in or scaffolded anywhere), as the engine runs it."""
    import importlib.util
    import sys

    init = folder / "__init__.py"
    if not (init.is_file() and (folder / "contract.json").is_file()):
        raise MalformedInput(f"{folder} is not a scenario: it needs __init__.py and contract.json")
    name = "depa_scenario_" + re.sub(r"\W", "_", folder.resolve().name)
    module_spec = importlib.util.spec_from_file_location(name, init)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module
