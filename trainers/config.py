"""The pipeline config: upstream DEPA's pipeline_config.json, typed. Keys we do not use are kept, not refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.canonical import parse_json
from schemas.errors import SchemaViolation


class _Open(BaseModel):
    """Upstream configs carry more keys than a trainer reads (device, scheduler, loss_config...)."""

    model_config = ConfigDict(extra="allow", frozen=True)


class PrivacyParams(_Open):
    epsilon: float | None = Field(default=None, gt=0)
    delta: float | None = Field(default=None, gt=0, lt=1)
    max_grad_norm: float = Field(default=1.0, gt=0)
    noise_multiplier: float | None = Field(default=None, gt=0)
    # Poisson sampling: each record joins each step's batch with this probability (expected batch / records).
    sample_rate: float | None = Field(default=None, gt=0, le=1)


class Splits(_Open):
    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
    random_state: int = 42
    stratify: bool = False


class Feature(_Open):
    """A feature's public schema, declared before any record is read: numbers within bounds, or categories."""

    bounds: tuple[float, float] | None = None  # values are clipped to these, then scaled to [0, 1]
    categories: list[str | int | float] | None = Field(default=None, min_length=1)  # one column each

    @model_validator(mode="after")
    def _one_kind(self) -> Feature:
        if (self.bounds is None) == (self.categories is None):
            raise ValueError("a feature declares either bounds or categories")
        if self.bounds is not None and not self.bounds[0] < self.bounds[1]:
            raise ValueError("a feature's bounds are [low, high] with low < high")
        return self


class DatasetConfig(_Open):
    type: str = "tabular"
    target_variable: str | None = None
    missing_strategy: Literal["drop", "fill"] = "drop"
    fill_value: float = 0.0
    splits: Splits = Splits()
    # The public schema a private pipeline trains on: computing category lists or scaling from the private data
    # would make the model's shape and every row depend on single records, outside DP-SGD's guarantee.
    features: dict[str, Feature] | None = None
    classes: list[str | int] | None = Field(default=None, min_length=2)


class Optimizer(_Open):
    name: Literal["SGD", "Adam", "AdamW"] = "SGD"
    params: dict[str, Any] = {}


class Named(_Open):
    """Upstream's `{"name", "params"}`, for a metric or a scheduler."""

    name: str
    params: dict[str, Any] = {}


class TrainConfig(_Open):
    paths: dict[str, str] = {}
    model_type: str | None = None
    is_private: bool = False
    privacy_params: PrivacyParams | None = None
    batch_size: int = Field(default=64, ge=1)
    optimizer: Optimizer = Optimizer()
    total_epochs: int = Field(default=1, ge=1)
    dataset_config: DatasetConfig = DatasetConfig()
    model_config_: dict[str, Any] = Field(default={}, alias="model_config")
    task_type: str = "classification"
    # Upstream's metrics: names, or {"name", "params"}; the trainer refuses one it does not compute, before training.
    metrics: list[str | Named] | None = None
    scheduler: Named | None = None  # a torch.optim.lr_scheduler, by name
    loss_config: dict[str, Any] | None = None  # upstream's loss: a class and its params, or an expression of several

    def metric_specs(self) -> list[Named]:
        return [Named(name=m) if isinstance(m, str) else m for m in self.metrics or []]

    @model_validator(mode="after")
    def _private_has_params(self) -> TrainConfig:
        if self.is_private and self.privacy_params is None:
            raise ValueError("is_private needs privacy_params")
        return self


class JoinDataset(_Open):
    id: str
    provider: str = ""
    name: str
    file: str | None = None  # DirectoryJoin datasets are folders (mount_path)
    select_variables: list[str] | None = None


class JoinedDataset(_Open):
    joining_key: str | None = None
    drop_columns: list[str] = []
    identifiers: list[str] = []


class JoinConfig(_Open):
    datasets: list[JoinDataset] = Field(min_length=1)
    joined_dataset: JoinedDataset | str = JoinedDataset()  # DirectoryJoin names only the output folder


JOINS = ("SparkJoin", "DirectoryJoin")
TRAINERS = ("Train_DL", "Train_XGB", "Train_SKL")


class Stage(_Open):
    name: str
    config: dict[str, Any] = {}


class Pipeline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pipeline: list[Stage] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_stages(self) -> Pipeline:
        names = [s.name for s in self.pipeline]
        unknown = [n for n in names if n not in JOINS + TRAINERS]
        if unknown:
            raise ValueError(f"unknown stages {unknown}; known: {', '.join(JOINS + TRAINERS)}")
        if sum(n in TRAINERS for n in names) != 1:
            raise ValueError("a pipeline has exactly one training stage")
        return self

    @property
    def join(self) -> JoinConfig | None:
        stage = next((s for s in self.pipeline if s.name in JOINS), None)
        return JoinConfig.model_validate(stage.config) if stage else None

    @property
    def trainer(self) -> str:
        return next(s.name for s in self.pipeline if s.name in TRAINERS)

    @property
    def train(self) -> TrainConfig:
        return TrainConfig.model_validate(next(s.config for s in self.pipeline if s.name in TRAINERS))


def load_pipeline(path: Path) -> Pipeline:
    try:
        pipeline = Pipeline.model_validate(parse_json(path.read_bytes()))
        pipeline.train  # noqa: B018 - validate the training stage now, not mid-run
        pipeline.join  # noqa: B018
        return pipeline
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SchemaViolation(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
    except ValueError as exc:
        raise SchemaViolation(f"{path}: {exc}") from exc
