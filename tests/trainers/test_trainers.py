"""Trainers: upstream configs, every input format, joins, DP-SGD's accounting, outputs that are never pickle."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import onnx
import pandas as pd
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from schemas.errors import SchemaViolation, Unprocessable
from tests.conftest import data_files
from trainers import classic, data, dp_sgd, prepare
from trainers.arrays import Arrays
from trainers.config import DatasetConfig, JoinConfig, TrainConfig, load_pipeline
from trainers.export import write_outputs


@pytest.mark.parametrize("path", data_files("upstream", pattern="*/pipeline_config.json"))
def test_every_upstream_pipeline_config_parses(path: Path) -> None:
    pipeline = load_pipeline(path)
    assert pipeline.trainer in ("Train_DL", "Train_XGB")


def test_a_config_with_two_training_stages_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"pipeline": [{"name": "Train_DL", "config": {}}, {"name": "Train_XGB", "config": {}}]}))
    with pytest.raises(SchemaViolation, match="exactly one training stage"):
        load_pipeline(path)


def test_private_training_needs_privacy_params() -> None:
    with pytest.raises(ValueError, match="privacy_params"):
        TrainConfig(is_private=True)


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return pd.DataFrame({"id": np.arange(n), "a": x[:, 0], "b": x[:, 1], "TARGET": (x.sum(1) > 0).astype(int)})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tables_load_from_csv_and_parquet(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    frame().to_csv(path, index=False) if suffix == ".csv" else frame().to_parquet(path, index=False)
    assert data.load_table(path).shape == (400, 4)


def test_hdf5_holds_features_and_targets(tmp_path: Path) -> None:
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["features"] = np.ones((5, 2, 2))
        f["targets"] = np.arange(5)
    table = data.load_table(path)
    assert table.shape == (5, 5) and list(table["target"]) == [0, 1, 2, 3, 4]


def test_png_folders_give_one_class_per_subfolder(tmp_path: Path) -> None:
    for label in ("healthy", "tumour"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(tmp_path / label / f"{i}.png")
    images, labels, classes = data.load_png_folder(tmp_path)
    assert images.shape == (6, 1, 8, 8) and classes == ["healthy", "tumour"] and labels.tolist() == [0] * 3 + [1] * 3
    assert images.max() <= 1.0


@pytest.mark.parametrize("name", ["model.pkl", "data.pickle", "weights.pt", "m.joblib", "a.npy"])
def test_pickle_formats_are_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"\x80\x04.")
    with pytest.raises(data.PickleRefused):
        data.load_table(tmp_path / name)


def test_tables_join_on_the_key_and_lose_their_identifiers() -> None:
    left, right = frame()[["id", "a", "TARGET"]], frame()[["id", "b"]]
    join = JoinConfig.model_validate({
        "datasets": [{"id": "l", "name": "l", "file": "l.csv"}, {"id": "r", "name": "r", "file": "r.csv"}],
        "joined_dataset": {"joining_key": "id", "identifiers": ["id"]},
    })  # fmt: skip
    joined = data.join_tables({"l": left, "r": right}, join)
    assert list(joined.columns) == ["a", "TARGET", "b"] and len(joined) == 400


@pytest.mark.parametrize("side", ["l", "r"])
def test_a_joining_key_that_repeats_is_refused_without_saying_how_often(side: str) -> None:
    """Left-joined, a repeated key in the right table makes one person k training rows, each counted apart."""
    tables = {"l": frame()[["id", "a", "TARGET"]], "r": frame()[["id", "b"]]}
    tables[side] = pd.concat([tables[side], tables[side].iloc[:1]])  # one person twice
    join = JoinConfig.model_validate({
        "datasets": [{"id": "l", "name": "l", "file": "l.csv"}, {"id": "r", "name": "r", "file": "r.csv"}],
        "joined_dataset": {"joining_key": "id", "identifiers": ["id"]},
    })  # fmt: skip
    with pytest.raises(Unprocessable, match=f"the joining key id repeats in dataset {side}") as refused:
        data.join_tables(tables, join)
    assert not any(ch.isdigit() for ch in refused.value.detail)


@pytest.mark.parametrize("value", [1e39, float("inf"), float("-inf")])
def test_a_value_that_is_no_finite_32_bit_number_is_refused_before_training(value: float) -> None:
    table = frame(200).drop(columns="id")
    table.loc[7, "a"] = value
    with pytest.raises(Unprocessable, match="not finite 32-bit numbers"):
        prepare.tabular(table, DatasetConfig(target_variable="TARGET"))


def test_a_join_names_missing_columns() -> None:
    join = JoinConfig.model_validate({"datasets": [{"id": "l", "name": "l", "select_variables": ["nope"]}]})
    with pytest.raises(Unprocessable, match="lacks the columns"):
        data.join_tables({"l": frame()}, join)


def arrays() -> Arrays:
    return prepare.tabular(frame(2000).drop(columns="id"), DatasetConfig(target_variable="TARGET"))


def test_dp_sgd_records_exactly_the_planned_segment() -> None:
    plan = dp_sgd.DpPlan(noise_multiplier=1.3, sample_rate=0.05, steps=40, max_grad_norm=1.0)
    trained = dp_sgd.train(dp_sgd.mlp(2, 2, [8]), arrays(), TrainConfig(), plan, seed=1)
    assert trained.segments == [{"noise_multiplier": 1.3, "sample_rate": 0.05, "steps": 40}]
    assert trained.metrics["opacus_secure_mode"] == 0.0


def test_dp_sgd_learns_a_separable_problem() -> None:
    plan = dp_sgd.DpPlan(noise_multiplier=0.8, sample_rate=0.05, steps=60, max_grad_norm=1.0)
    config = TrainConfig(optimizer={"name": "SGD", "params": {"lr": 0.5}})
    assert dp_sgd.train(dp_sgd.mlp(2, 2, [8]), arrays(), config, plan, seed=1).metrics["accuracy"] > 0.85


def test_batchnorm_is_refused_for_private_training() -> None:
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=0.05, steps=1, max_grad_norm=1.0)
    with pytest.raises(Unprocessable, match="cannot be trained privately"):
        dp_sgd.train(model, arrays(), TrainConfig(), plan)


def test_outputs_are_safetensors_onnx_and_metrics(tmp_path: Path) -> None:
    plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=0.05, steps=5, max_grad_norm=1.0)
    trained = dp_sgd.train(dp_sgd.mlp(2, 2, [8]), arrays(), TrainConfig(), plan, seed=1)
    weights, graph, metrics = write_outputs(trained.model, trained.example, trained.metrics, tmp_path)
    assert set(load_file(weights)) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    onnx.checker.check_model(onnx.load(graph))
    assert json.loads(metrics.read_text())["accuracy"] == trained.metrics["accuracy"]


def test_the_cnn_trains_privately_on_images() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((200, 1, 16, 16)).astype(np.float32)
    y = (x[:, 0, :8].mean((1, 2)) > x[:, 0, 8:].mean((1, 2))).astype(int)
    plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=0.1, steps=5, max_grad_norm=1.0)
    trained = dp_sgd.train(dp_sgd.cnn(1, 2), prepare.images(x, y, DatasetConfig()), TrainConfig(), plan, seed=1)
    assert trained.segments[0]["steps"] == 5


def test_sklearn_exports_onnx_and_xgboost_its_json(tmp_path: Path) -> None:
    (graph,), scores = classic.train_sklearn(arrays(), {}, tmp_path / "skl")
    onnx.checker.check_model(onnx.load(graph))
    (model,), xgb_scores = classic.train_xgboost(arrays(), {"n_estimators": 10, "max_depth": 2}, tmp_path / "xgb")
    assert model.suffix == ".json" and json.loads(model.read_text())["learner"]
    assert scores["accuracy"] > 0.9 and xgb_scores["accuracy"] > 0.9


def test_too_few_records_are_refused() -> None:
    with pytest.raises(Unprocessable, match="too few"):
        prepare.tabular(frame(5), DatasetConfig(target_variable="TARGET"))


def test_empty_poisson_batches_are_noised_and_counted_as_steps() -> None:
    """At an expected batch of one record, about a third of the batches are empty: each still adds noise and
    counts as a step, as the accountant assumes (a guard that skipped them made Opacus raise)."""
    data = arrays()
    plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=1 / len(data.x_train), steps=30, max_grad_norm=1.0)
    for seed in range(3):
        trained = dp_sgd.train(dp_sgd.mlp(2, 2, [8]), data, TrainConfig(), plan, seed=seed)
        assert trained.segments == [{"noise_multiplier": 1.0, "sample_rate": plan.sample_rate, "steps": 30}]


def test_sampling_and_noise_draw_from_separate_generators(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def spy(name, cls):  # type: ignore[no-untyped-def]
        def make(*args, **kwargs):  # type: ignore[no-untyped-def]
            seen[name] = kwargs["generator"]
            return cls(*args, **kwargs)

        monkeypatch.setattr(dp_sgd, cls.__name__, make)

    spy("noise", dp_sgd.DPOptimizer)
    spy("sampling", dp_sgd.DPDataLoader)
    plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=0.05, steps=2, max_grad_norm=1.0)
    trained = dp_sgd.train(dp_sgd.mlp(2, 2, [8]), arrays(), TrainConfig(), plan)
    assert trained.metrics["separate_csprng_seeded_generators"] == 1.0
    noise, sampling = seen["noise"], seen["sampling"]
    assert isinstance(noise, torch.Generator) and noise is not sampling
    assert noise.initial_seed() != sampling.initial_seed()  # seeded apart, from the OS, not one from the other


# --- a private pipeline trains on a public, declared schema ---------------------------------------------------

SCHEMA = DatasetConfig(
    target_variable="TARGET",
    features={"a": {"bounds": [-3, 3]}, "b": {"bounds": [-3, 3]}, "kind": {"categories": ["x", "y", "z"]}},
    classes=[0, 1],
)


def with_kinds(n: int = 400) -> pd.DataFrame:
    table = frame(n).drop(columns="id")
    table["kind"] = np.where(table["a"] > 0, "x", "y")
    return table


def test_a_private_pipeline_without_a_declared_schema_is_refused() -> None:
    with pytest.raises(Unprocessable, match="declares the public schema it trains on"):
        prepare.tabular(with_kinds(), DatasetConfig(target_variable="TARGET"), private=True)


def test_one_record_does_not_change_the_models_shape() -> None:
    """Categories learnt from the data gave 4 input columns, or 5 once one record held a new value."""
    table = with_kinds()
    odd = table.copy()
    odd.loc[0, "kind"] = "w"  # a value no other record holds, and no declared category
    learnt = [prepare.tabular(t, DatasetConfig(target_variable="TARGET")).x_train.shape[1] for t in (table, odd)]
    assert learnt == [4, 5]
    declared = [prepare.tabular(t, SCHEMA, private=True).x_train.shape[1] for t in (table, odd)]
    assert declared == [5, 5]  # a, b and one column per declared kind


def test_one_record_does_not_change_how_the_others_are_encoded() -> None:
    """Standardising on the data made every row depend on every record; the declared bounds read each row alone."""
    table = with_kinds()
    outlier = table.copy()
    outlier.loc[5, "a"] = 1e6  # a record the split puts in training
    for private, changed in [(False, 400), (True, 1)]:
        config = SCHEMA if private else DatasetConfig(target_variable="TARGET")
        first, second = (prepare.tabular(t, config, private=private) for t in (table, outlier))
        rows = [(a != b).any(1).sum() for a, b in [(first.x_train, second.x_train), (first.x_test, second.x_test)]]
        assert sum(rows) == changed  # the split is the same: it depends on the labels and the seed alone


def test_declared_encoding_clips_scales_and_drops_undeclared_labels() -> None:
    table = pd.DataFrame({"a": [-9.0, 0.0, 9.0] * 10, "b": [0.0] * 30, "kind": ["z"] * 30, "TARGET": [0, 1, 2] * 10})
    prepared = prepare.tabular(table, SCHEMA, private=True)
    rows = np.concatenate([prepared.x_train, prepared.x_test])
    assert len(rows) == 20  # label 2 is no declared class
    assert set(rows[:, 0]) == {0.0, 0.5} and set(rows[:, 1]) == {0.5}
    assert (rows[:, 2:] == [0, 0, 1]).all()


def test_a_feature_declares_bounds_or_categories() -> None:
    with pytest.raises(ValueError, match="either bounds or categories"):
        DatasetConfig(features={"a": {}})
    with pytest.raises(ValueError, match="low < high"):
        DatasetConfig(features={"a": {"bounds": [1, 1]}})


def test_a_private_image_pipeline_declares_its_classes() -> None:
    x, y = np.zeros((20, 1, 4, 4), np.float32), np.array([0, 1] * 10)
    with pytest.raises(Unprocessable, match="declares its classes"):
        prepare.images(x, y, DatasetConfig(), ["lesion", "normal"], private=True)
    with pytest.raises(Unprocessable, match=r"class folders \['other'\] are no declared class"):
        prepare.images(x, y, DatasetConfig(classes=["lesion", "normal"]), ["lesion", "other"], private=True)


def test_the_output_layer_does_not_depend_on_which_folders_hold_records() -> None:
    """Only "lesion" and "normal" hold images: the model still has the three declared classes, labelled in order."""
    x, y = np.zeros((20, 1, 4, 4), np.float32), np.array([0, 1] * 10)
    config = DatasetConfig(classes=["normal", "lesion", "unclear"])
    prepared = prepare.images(x, y, config, ["lesion", "normal"], private=True)
    assert prepared.classes == 3
    assert set(np.concatenate([prepared.y_train, prepared.y_test])) == {0, 1}


def test_the_metrics_a_pipeline_names_are_the_ones_reported() -> None:
    plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=0.05, steps=40, max_grad_norm=1.0)
    config = TrainConfig(metrics=["accuracy", {"name": "f1_score", "params": {"average": "macro"}}, "confusion_matrix"])
    metrics = dp_sgd.train(dp_sgd.mlp(2, 2, [8]), arrays(), config, plan, seed=1).metrics
    assert {"accuracy", "f1_score", "confusion_0_0", "confusion_1_1", "test_records"} <= set(metrics)
    assert "roc_auc" not in metrics  # asked for others, not the defaults
    assert sum(metrics[f"confusion_{i}_{j}"] for i in (0, 1) for j in (0, 1)) == metrics["test_records"]


def test_a_metric_no_trainer_computes_is_refused_before_training() -> None:
    plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=0.05, steps=40, max_grad_norm=1.0)
    config = TrainConfig(metrics=["accuracy", {"name": "hausdorff_distance", "params": {"threshold": 0.3}}])
    with pytest.raises(Unprocessable, match="does not compute: hausdorff_distance"):
        dp_sgd.train(dp_sgd.mlp(2, 2, [8]), arrays(), config, plan, seed=1)


def test_a_scheduler_steps_the_learning_rate_as_the_pipeline_says() -> None:
    import torch

    def lr_after(name: str, params: dict, steps: int) -> float:
        optimizer = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.5)
        made, per_batch = dp_sgd.scheduler(TrainConfig(scheduler={"name": name, "params": params}), optimizer)
        for _ in range(steps):
            optimizer.step()
            made.step()
        return optimizer.param_groups[0]["lr"]

    assert lr_after("StepLR", {"step_size": 1, "gamma": 0.1}, 2) == pytest.approx(0.005)
    rates = {"base_lr": 0.01, "max_lr": 0.1, "cycle_momentum": False}
    cyclic = TrainConfig(scheduler={"name": "CyclicLR", "params": rates})
    assert dp_sgd.scheduler(cyclic, torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.5))[1]  # once a batch
    with pytest.raises(Unprocessable, match="not one this trainer runs"):
        lr_after("ReduceLROnPlateau", {}, 1)
    with pytest.raises(Unprocessable, match="does not take its params"):
        lr_after("StepLR", {"no_such": 1}, 1)


def test_private_training_runs_under_a_cyclic_rate() -> None:
    plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=0.05, steps=40, max_grad_norm=1.0)
    config = TrainConfig(scheduler={"name": "CyclicLR", "params": {"base_lr": 0.01, "max_lr": 0.5,
                                                                   "cycle_momentum": False}})  # fmt: skip
    trained = dp_sgd.train(dp_sgd.mlp(2, 2, [8]), arrays(), config, plan, seed=1)
    assert trained.segments == [{"noise_multiplier": 1.0, "sample_rate": 0.05, "steps": 40}]
    assert len(trained.epochs) == 2 and trained.epochs[-1]["steps"] == 40
