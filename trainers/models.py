"""The network a Train_DL pipeline trains: the consumer's base model when the contract names one, else the graph
its model_config describes, else our MLP or CNN. Base models come in formats that cannot run code when loaded;
pickle-based checkpoints are refused by name.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from schemas.errors import Unprocessable
from trainers import dp_sgd, graph, onnx_graph
from trainers.arrays import Arrays
from trainers.config import TrainConfig

PICKLED = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt", ".joblib")
FORMATS = "an ONNX file, a safetensors file (with the pipeline's model_config), or a folder of model_config.json "
FORMATS += "and model.safetensors"


def network(config: TrainConfig, arrays: Arrays, base: Path | None) -> nn.Module:
    """The module to train, checked to map one training record to one score per class."""
    if base is not None:
        model = base_model(base, config, arrays)
    elif graph.is_graph(config.model_config_):
        model = graph.build(config.model_config_)
    elif arrays.x_train.ndim == 4:
        return dp_sgd.cnn(arrays.x_train.shape[1], arrays.classes)
    else:
        return dp_sgd.mlp(arrays.x_train.shape[1], arrays.classes, list(config.model_config_.get("hidden", [32])))
    example = torch.as_tensor(arrays.x_train[:1], dtype=torch.float32)
    try:
        with torch.no_grad():
            shape = tuple(model(example).shape)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise Unprocessable(f"the model cannot read the training data (shape {tuple(example.shape)}): {exc}") from None
    if shape != (1, arrays.classes):
        raise Unprocessable(f"the model gives outputs of shape {shape} for one record; the data has "
                            f"{arrays.classes} classes, so it must give (1, {arrays.classes})")  # fmt: skip
    return model


def base_model(path: Path, config: TrainConfig, arrays: Arrays) -> nn.Module:
    if path.suffix in PICKLED:
        raise Unprocessable(f"{path.name} is a pickle-based checkpoint, which runs code when loaded",
                            remedy=f"bring {FORMATS}")  # fmt: skip
    if path.suffix == ".onnx":
        described, weights = onnx_graph.load(path)
        model = with_weights(graph.build(described), weights, path.name)
        onnx_graph.check(path, model, (1, *arrays.x_train.shape[1:]))
        return model
    if path.suffix == ".safetensors":
        if not graph.is_graph(config.model_config_):
            raise Unprocessable(f"{path.name} holds weights only: the pipeline's model_config must describe the graph")
        return with_weights(graph.build(config.model_config_), read_weights(path), path.name)
    if path.is_dir():
        if (path / "config.json").exists() and not (path / "model_config.json").exists():
            raise Unprocessable(f"{path.name} is a HuggingFace model folder, which this trainer does not train yet",
                                remedy=f"bring {FORMATS}")  # fmt: skip
        described_file, weights_file = path / "model_config.json", path / "model.safetensors"
        if not described_file.is_file() or not weights_file.is_file():
            raise Unprocessable(f"the base model folder {path.name} holds model_config.json and model.safetensors")
        try:
            described = json.loads(described_file.read_text())
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unprocessable(f"{path.name}/model_config.json is not JSON: {exc}") from None
        return with_weights(graph.build(described), read_weights(weights_file), path.name)
    raise Unprocessable(f"{path.name} is not a base model format read here", remedy=f"bring {FORMATS}")


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise Unprocessable(f"{path.name} is not a safetensors file: {exc}") from None


def with_weights(model: nn.Module, weights: dict[str, torch.Tensor], name: str) -> nn.Module:
    """The base model's weights, each one the graph has, of the shape it has: no more, no fewer."""
    own = model.state_dict()
    missing, extra = sorted(own.keys() - weights.keys()), sorted(weights.keys() - own.keys())
    wrong = [k for k in own.keys() & weights.keys() if own[k].shape != weights[k].shape]
    if missing or extra or wrong:
        said = [f"missing {', '.join(missing[:3])}" if missing else "", f"not in the graph {', '.join(extra[:3])}"
                if extra else "", f"of another shape {', '.join(sorted(wrong)[:3])}" if wrong else ""]  # fmt: skip
        raise Unprocessable(f"{name}: the weights do not fit the graph: {'; '.join(p for p in said if p)}")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in weights.items()})
    return model
