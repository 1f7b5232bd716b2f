"""The consumer's network: upstream's model_config graphs, ONNX and safetensors base models, and every way one is
refused before it is trained."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from opacus.validators import ModuleValidator
from safetensors.torch import load_file, save_file
from torch import nn

from schemas.errors import Unprocessable
from tests.conftest import data_file
from trainers import dp_sgd, graph, models, onnx_graph
from trainers.arrays import Arrays
from trainers.config import Pipeline, TrainConfig, load_pipeline
from trainers.export import write_outputs
from trainers.pipeline import check_terms, run


def upstream_unet() -> dict:
    return load_pipeline(data_file("upstream", "brats", "pipeline_config.json")).train.model_config_


def tabular(features: int = 3, classes: int = 2, rows: int = 400) -> Arrays:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) if classes == 2 else rng.integers(0, classes, rows)
    return Arrays(x[:300], y[:300], x[300:], y[300:], classes)


def exported(tmp_path: Path, model: nn.Module, example: torch.Tensor) -> Path:
    write_outputs(model, example, {}, tmp_path)
    return tmp_path / "model.onnx"


def mlp_graph(features: int = 3, classes: int = 2) -> dict:
    return {
        "layers": {"fc1": {"class": "nn.Linear", "params": {"in_features": features, "out_features": 8}},
                   "fc2": {"class": "torch.nn.Linear", "params": {"in_features": 8, "out_features": classes}}},
        "input": ["x"],
        "forward": [{"ops": ["fc1", "F.relu"], "input": ["x"], "output": "h"},
                    {"ops": ["fc2"], "input": ["h"], "output": "y"}],
        "output": ["y"],
    }  # fmt: skip


class TestModelConfig:
    def test_upstreams_brats_unet_builds_and_segments_a_slice(self) -> None:
        unet = graph.build(upstream_unet())
        assert unet(torch.zeros(2, 1, 32, 32)).shape == (2, 1, 32, 32)
        assert ModuleValidator.validate(unet, strict=False) == []  # GroupNorm throughout: DP-SGD can train it
        assert "_layers.down_conv0._layers.conv1.weight" in unet.state_dict()  # upstream's names: its weights load

    def test_a_submodules_placeholders_are_filled_from_the_layer_that_uses_it(self) -> None:
        unet = graph.build(upstream_unet())
        assert unet.state_dict()["_layers.down_conv1._layers.conv1.weight"].shape == (32, 16, 3, 3)

    @pytest.mark.parametrize(
        ("change", "said"),
        [
            ({"layers": {"fc1": {"class": "os.system"}}}, "os.system is not a torch.nn layer"),
            ({"layers": {"fc1": {"class": "nn.LazyLinear", "params": {"out_features": 8}}}}, "not a torch.nn layer"),
            ({"layers": {"fc1": {"class": "nn.functional"}}}, "not a torch.nn layer"),
            ({"forward": [{"ops": ["torch.load"], "input": ["x"], "output": "y"}]}, "torch.load is not an admitted"),
            ({"forward": [{"ops": ["F._pad"], "input": ["x"], "output": "y"}]}, "F._pad is not an admitted"),
            ({"forward": [{"ops": [["torch.add", {"out": 1}]], "input": ["x"], "output": "y"}]}, "may not take out"),
            ({"forward": [{"ops": ["fc1"], "input": ["z"], "output": "y"}]}, "reads z before any step writes it"),
            ({"output": ["nowhere"]}, "the output nowhere is never written"),
            ({"forward": [{"ops": ["F.relu"] * 11, "input": ["x"], "output": "y"}]}, "at most 10"),
            ({"forward": [{"ops": ["F.relu"], "input": ["x"], "output": "y"}] * 201}, "at most 200"),
            ({"layers": {"fc1": {"class": "nn.Linear", "params": {"in_features": 10**5, "out_features": 10**4}}}},
             "1,000,010,018 parameters, over the 100,000,000 admitted"),
            ({"layers": {"fc1": {"submodule": "Block"}}}, "undefined submodule Block"),
            ({"layers": {"fc1": {"class": "nn.Linear", "params": {"in_features": "$width"}}}},
             "placeholder \\$width is not given"),
            ({"layers": {"fc1": {"class": "nn.Linear", "params": {"bogus": 1}}}}, "layer fc1 \\(nn.Linear\\)"),
        ],
    )  # fmt: skip
    def test_what_a_graph_may_not_name_is_refused_before_anything_is_built(self, change: dict, said: str) -> None:
        base = mlp_graph()
        changed = {**base, **change, "layers": {**base["layers"], **change.get("layers", {})}}
        with pytest.raises(Unprocessable, match=said):
            graph.check(changed)

    def test_a_submodule_that_uses_itself_is_refused(self) -> None:
        loop = {
            "layers": {"again": {"submodule": "Loop"}},
            "input": ["x"],
            "forward": [{"ops": ["again"], "input": ["x"], "output": "y"}],
            "output": ["y"],
        }
        looping = {**mlp_graph(), "submodules": {"Loop": loop}, "layers": {"fc1": {"submodule": "Loop"}},
                   "forward": [{"ops": ["fc1"], "input": ["x"], "output": "y"}], "output": ["y"]}  # fmt: skip
        with pytest.raises(Unprocessable, match="nest more than 8 deep"):
            graph.check(looping)


class TestOnnx:
    def test_a_torch_mlp_translates_exactly(self, tmp_path: Path) -> None:
        original = dp_sgd.mlp(3, 2, [8, 4]).eval()
        described, weights = onnx_graph.load(exported(tmp_path, original, torch.zeros(1, 3)))
        model = models.with_weights(graph.build(described), weights, "mlp")
        x = torch.randn(5, 3)
        assert torch.allclose(model(x), original(x), atol=1e-6)

    def test_a_convolutional_network_translates_exactly(self, tmp_path: Path) -> None:
        layers = [nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3), nn.LeakyReLU(0.2),
                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)]  # fmt: skip
        original = nn.Sequential(*layers).eval()
        path = exported(tmp_path, original, torch.zeros(1, 1, 16, 16))
        described, weights = onnx_graph.load(path)
        model = models.with_weights(graph.build(described), weights, "cnn")
        onnx_graph.check(path, model, (1, 1, 16, 16))  # against ONNX's own reference evaluator
        x = torch.randn(2, 1, 16, 16)
        assert torch.allclose(model(x), original(x), atol=1e-5)

    def test_matmul_then_add_becomes_one_dense_layer_with_its_bias(self, tmp_path: Path) -> None:
        w, b = np.arange(6, dtype=np.float32).reshape(3, 2), np.array([0.5, -1.0], dtype=np.float32)
        nodes = [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "B"], ["y"])]
        path = self._save(tmp_path, nodes, [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")], 3, 2)
        described, weights = onnx_graph.load(path)
        assert list(described["layers"]) == ["l0"] and described["layers"]["l0"]["params"]["bias"] is True
        model = models.with_weights(graph.build(described), weights, "dense")
        onnx_graph.check(path, model, (1, 3))

    def test_an_operator_that_cannot_be_trained_is_named(self, tmp_path: Path) -> None:
        path = self._save(tmp_path, [helper.make_node("Cos", ["x"], ["y"], name="angle")], [], 3, 3)
        with pytest.raises(Unprocessable, match="Cos node angle is an operator that cannot be trained here"):
            onnx_graph.load(path)

    def test_group_norm_exported_by_torch_is_refused_not_mistranslated(self, tmp_path: Path) -> None:
        path = exported(tmp_path, dp_sgd.cnn(1, 3), torch.zeros(1, 1, 16, 16))
        with pytest.raises(Unprocessable, match="Reshape node .* is not a flattening"):
            onnx_graph.load(path)

    def test_a_file_that_is_not_onnx_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "model.onnx"
        path.write_bytes(b"\x00not a protobuf at all")
        with pytest.raises(Unprocessable, match="is not a valid ONNX model"):
            onnx_graph.load(path)

    @staticmethod
    def _save(folder: Path, nodes: list, initializers: list, inputs: int, outputs: int) -> Path:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", outputs])
        model = helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializers),
                                  opset_imports=[helper.make_opsetid("", 18)])  # fmt: skip
        path = folder / "made.onnx"
        onnx.save(model, str(path))
        return path


class TestBaseModel:
    config = TrainConfig(model_config=mlp_graph())

    def test_safetensors_weights_load_into_the_pipelines_graph(self, tmp_path: Path) -> None:
        weights = {k: torch.full_like(v, 0.25) for k, v in graph.build(mlp_graph()).state_dict().items()}
        save_file(weights, tmp_path / "base.safetensors")
        model = models.network(self.config, tabular(), tmp_path / "base.safetensors")
        assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())

    def test_a_folder_carries_its_own_graph_and_weights(self, tmp_path: Path) -> None:
        (tmp_path / "model_config.json").write_text(json.dumps(mlp_graph()))
        save_file(graph.build(mlp_graph()).state_dict(), tmp_path / "model.safetensors")
        assert models.network(TrainConfig(), tabular(), tmp_path).state_dict().keys() == {
            "_layers.fc1.weight", "_layers.fc1.bias", "_layers.fc2.weight", "_layers.fc2.bias"}  # fmt: skip

    def test_weights_that_do_not_fit_the_graph_are_refused_by_name(self, tmp_path: Path) -> None:
        weights = graph.build(mlp_graph()).state_dict()
        partial = {"_layers.fc1.weight": weights["_layers.fc1.weight"], "extra": torch.zeros(1)}
        save_file(partial, tmp_path / "b.safetensors")
        with pytest.raises(Unprocessable, match="missing _layers.fc1.bias.*not in the graph extra"):
            models.network(self.config, tabular(), tmp_path / "b.safetensors")

    def test_a_model_that_does_not_give_one_score_per_class_is_refused(self, tmp_path: Path) -> None:
        path = exported(tmp_path, dp_sgd.mlp(3, 4, [8]), torch.zeros(1, 3))
        with pytest.raises(Unprocessable, match=r"outputs of shape \(1, 4\).*must give \(1, 2\)"):
            models.network(TrainConfig(), tabular(), path)

    @pytest.mark.parametrize("name", ["model.pt", "model.pth", "pytorch_model.bin", "model.pkl"])
    def test_pickle_checkpoints_are_refused_because_loading_runs_code(self, tmp_path: Path, name: str) -> None:
        (tmp_path / name).write_bytes(b"\x80\x04K\x01.")
        with pytest.raises(Unprocessable, match="pickle-based checkpoint, which runs code when loaded"):
            models.network(TrainConfig(), tabular(), tmp_path / name)

    def test_a_huggingface_folder_is_refused_as_not_yet_trained_here(self, tmp_path: Path) -> None:
        (tmp_path / "config.json").write_text("{}")
        with pytest.raises(Unprocessable, match="HuggingFace model folder"):
            models.network(TrainConfig(), tabular(), tmp_path)

    def test_safetensors_without_a_graph_is_refused(self, tmp_path: Path) -> None:
        save_file({"w": torch.zeros(1)}, tmp_path / "w.safetensors")
        with pytest.raises(Unprocessable, match="holds weights only"):
            models.network(TrainConfig(), tabular(), tmp_path / "w.safetensors")

    def test_dp_sgd_fine_tunes_an_onnx_base_model_and_exports_the_result(self, tmp_path: Path) -> None:
        base = exported(tmp_path / "base", dp_sgd.mlp(3, 2, [8]), torch.zeros(1, 3))
        stage = {"name": "Train_DL", "config": {"is_private": True, "total_epochs": 1, "batch_size": 30,
                 "privacy_params": {"epsilon": 3, "delta": 1e-5, "sample_rate": 0.1}}}  # fmt: skip
        plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=0.1, steps=10, max_grad_norm=1.0)
        result = run(Pipeline(pipeline=[stage]), tabular(), tmp_path / "out", plan, base)
        trained = load_file(tmp_path / "out" / "model.safetensors")
        described, before = onnx_graph.load(base)
        assert trained.keys() == before.keys()  # the base model's own graph, trained
        assert any(not torch.equal(trained[k], before[k]) for k in before)
        assert (tmp_path / "out" / "model.onnx").exists() and "accuracy" in result.metrics

    def test_a_base_model_under_a_pipeline_that_trains_trees_is_refused_before_anything_runs(
        self, tmp_path: Path
    ) -> None:
        trees = Pipeline(pipeline=[{"name": "Train_XGB", "config": {}}])
        with pytest.raises(
            Unprocessable, match="a base model is trained by Train_DL; this pipeline's trainer is Train_XGB"
        ):
            check_terms(trees, tmp_path / "model.onnx")
