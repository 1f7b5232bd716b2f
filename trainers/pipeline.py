"""One pipeline, start to finish, on decrypted inputs: load, join, prepare, train, write outputs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schemas.errors import Unprocessable
from trainers import classic, data, dp_sgd, graph, losses, models, prepare
from trainers.arrays import Arrays, check_metrics
from trainers.config import Pipeline
from trainers.export import write_outputs, write_transcript


@dataclass
class Result:
    outputs: list[Path]
    metrics: dict[str, float]
    segments: list[dict[str, float | int]]
    transcript: Path | None = None  # Train_DL's per-epoch record, among the outputs


def load(pipeline: Pipeline, inputs: dict[str, Path]) -> Arrays:
    """The training arrays from each dataset's decrypted file or folder, keyed by contract dataset id."""
    config = pipeline.train.dataset_config
    if config.type == "image":
        parts = [data.load_png_folder(inputs[i]) for i in inputs]
        if len({tuple(classes) for _, _, classes in parts}) != 1:
            raise Unprocessable("image providers must use the same class folders")
        x, y = np.concatenate([x for x, _, _ in parts]), np.concatenate([y for _, y, _ in parts])
        return prepare.images(x, y, config, parts[0][2], private=pipeline.train.is_private)
    tables = {i: data.load_table(p) for i, p in inputs.items()}
    join = pipeline.join
    if join is None:
        if len(tables) != 1:
            raise Unprocessable("several input tables need a SparkJoin stage saying how to join them")
        frame = next(iter(tables.values()))
    else:
        unknown = {d.id for d in join.datasets} - tables.keys()
        if unknown:
            raise Unprocessable(f"the join names datasets that are not inputs: {sorted(unknown)}")
        frame = data.join_tables(tables, join)
    return prepare.tabular(frame, config, private=pipeline.train.is_private)


def check_poisson(pipeline: Pipeline, arrays: Arrays) -> None:
    """The reserved sample rate must be the configured expected batch over the records actually trained on."""
    train = pipeline.train
    q = train.privacy_params.sample_rate if train.privacy_params else None
    if q is None:
        return
    records = len(arrays.x_train)
    if abs(q * records - train.batch_size) > max(1.0, 0.05 * train.batch_size):
        raise Unprocessable(
            f"sample rate {q} is not the expected batch {train.batch_size} over {records} training records "
            f"({train.batch_size / records:.6f}): Poisson sampling needs them to agree"
        )


def check_terms(pipeline: Pipeline, base: Path | None = None) -> None:
    """What a pipeline asks that its trainer does not do (a metric, a loss, a scheduler): refused before the clean
    room attests, so a run that could not honour its pipeline reserves and reads nothing."""
    check_metrics(pipeline.train.metric_specs())
    if base is not None and pipeline.trainer != "Train_DL":
        raise Unprocessable(f"a base model is trained by Train_DL; this pipeline's trainer is {pipeline.trainer}")
    if pipeline.trainer == "Train_DL":
        losses.build(pipeline.train.loss_config)
        dp_sgd.check_scheduler(pipeline.train)
        if graph.is_graph(pipeline.train.model_config_):
            graph.check(pipeline.train.model_config_)


def run(pipeline: Pipeline, arrays: Arrays, out: Path, plan: dp_sgd.DpPlan | None, base: Path | None = None) -> Result:
    """Train and write the outputs; `base` is the consumer's base model (Train_DL only), its digest already checked
    against the contract."""
    train = pipeline.train
    check_terms(pipeline, base)
    if pipeline.trainer == "Train_SKL":
        outputs, metrics = classic.train_sklearn(arrays, train.model_config_, out, train.metric_specs())
        return Result(outputs, metrics, [])
    if pipeline.trainer == "Train_XGB":
        outputs, metrics = classic.train_xgboost(arrays, train.model_config_, out, train.metric_specs())
        return Result(outputs, metrics, [])
    model = models.network(train, arrays, base)
    trained = dp_sgd.train(model, arrays, train, plan)
    metrics = {**trained.metrics, **({"noise_multiplier": plan.noise_multiplier} if plan else {})}
    outputs = write_outputs(trained.model, trained.example, metrics, out)
    transcript = write_transcript(trained.epochs, out)
    return Result([*outputs, transcript], metrics, trained.segments, transcript)
