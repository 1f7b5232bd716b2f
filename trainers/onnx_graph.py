"""An ONNX base model, made trainable: its graph translated into a model_config graph (trainers/graph.py) and its
initializers into that graph's weights, so an ONNX model is built and checked by the same code as upstream's JSON.

onnx2torch would convert more operators, but it imports torchvision, which does not install beside the pinned CPU
build of torch. The operators here are those of feed-forward networks (dense and convolutional layers, the usual
activations, pooling, flattening, concatenation); a graph with any other is refused, naming the operator. Every
translation is checked against the ONNX reference evaluator on a random input before it is trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from schemas.errors import Unprocessable

ACTIVATIONS: dict[str, tuple[str, dict[str, tuple[str, Any]]]] = {
    # ONNX operator -> the function it becomes, and its attributes as that function's arguments (name, default)
    "Relu": ("F.relu", {}),
    "Sigmoid": ("torch.sigmoid", {}),
    "Tanh": ("torch.tanh", {}),
    "Gelu": ("F.gelu", {}),
    "LeakyRelu": ("F.leaky_relu", {"alpha": ("negative_slope", 0.01)}),
    "Elu": ("F.elu", {"alpha": ("alpha", 1.0)}),
    "Softmax": ("torch.softmax", {"axis": ("dim", -1)}),
    "LogSoftmax": ("torch.log_softmax", {"axis": ("dim", -1)}),
    "Concat": ("torch.cat", {"axis": ("dim", None)}),
    "Add": ("torch.add", {}),
    "Sub": ("torch.sub", {}),
    "Mul": ("torch.mul", {}),
}
PASS_THROUGH = ("Identity", "Dropout")  # Dropout is the identity in an exported (inference) graph
SUPPORTED = sorted(
    [*ACTIVATIONS, *PASS_THROUGH, "Gemm", "MatMul", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool",
     "Flatten", "Reshape", "ReduceMean"]
)  # fmt: skip
MAX_BYTES = 512 * 2**20


def load(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The model_config graph and the weights of an ONNX file; Unprocessable naming what cannot be translated."""
    if path.stat().st_size > MAX_BYTES:
        raise Unprocessable(f"{path.name} is over {MAX_BYTES // 2**20} MiB; external-data ONNX is not read here")
    try:
        model = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(model)
    except Exception as exc:  # protobuf's DecodeError, the checker's ValidationError: the file is not a model
        raise Unprocessable(f"{path.name} is not a valid ONNX model: {str(exc).splitlines()[0]}") from None
    return _Translation(model.graph).result()


def check(path: Path, module: torch.nn.Module, shape: tuple[int, ...]) -> None:
    """The translated module computes what the ONNX graph computes, on one random input of the data's shape."""
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    session = ReferenceEvaluator(str(path))
    outputs = session.run(None, {session.input_names[0]: x})
    assert isinstance(outputs, list), "without intermediate=True the evaluator returns the outputs in order"
    expected = outputs[0]
    with torch.no_grad():
        got = module.eval()(torch.from_numpy(x)).numpy()
    module.train()
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        raise Unprocessable(f"{path.name}: the translated graph does not compute what the ONNX graph computes")


class _Translation:
    def __init__(self, graph: onnx.GraphProto) -> None:
        self.constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        for node in graph.node:  # Constant nodes are initializers written another way
            if node.op_type == "Constant":
                self.constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        inputs = [i.name for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise Unprocessable("an ONNX base model has one input and one output")
        self.names = {inputs[0]: "x"}  # ONNX value -> graph name
        self.layers: dict[str, dict[str, Any]] = {}
        self.weights: dict[str, torch.Tensor] = {}
        self.forward: list[dict[str, Any]] = []
        self.unbiased: dict[str, str] = {}  # ONNX value -> the bias-less dense layer that wrote it
        self.uses: dict[str, int] = {}
        for node in graph.node:
            for name in node.input:
                self.uses[name] = self.uses.get(name, 0) + 1
        for node in graph.node:
            if node.op_type != "Constant" and not self._fold_bias(node):
                self._node(node)
        self.output = self.names[graph.output[0].name]

    def _fold_bias(self, node: onnx.NodeProto) -> bool:
        """MatMul then Add of a constant, as many exporters write a dense layer: the constant becomes its bias."""
        if node.op_type != "Add" or len(node.input) != 2:
            return False
        data, bias = node.input if node.input[1] in self.constants else node.input[::-1]
        layer = self.unbiased.get(data)
        if bias not in self.constants or layer is None or self.uses.get(data, 0) != 1:
            return False
        values = self.constants[bias].reshape(-1)
        if values.size != self.layers[layer]["params"]["out_features"]:
            return False
        self.layers[layer]["params"]["bias"] = True
        self.weights[f"_layers.{layer}.bias"] = torch.from_numpy(values.astype(np.float32).copy())
        self.names[node.output[0]] = self.names[data]
        return True

    def result(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        config = {"layers": self.layers, "input": ["x"], "forward": self.forward, "output": [self.output]}
        return config, self.weights

    def _value(self, name: str) -> str:
        if name not in self.names:
            raise Unprocessable(f"the ONNX graph uses {name} as data, which is a constant or unknown here")
        return self.names[name]

    def _step(self, node: onnx.NodeProto, op: Any, inputs: list[str]) -> None:
        out = f"v{len(self.forward)}"
        self.forward.append({"ops": [op], "input": inputs, "output": out})
        self.names[node.output[0]] = out

    def _layer(self, node: onnx.NodeProto, cls: str, params: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        name = f"l{len(self.layers)}"
        self.layers[name] = {"class": cls, "params": params}
        for key, value in weights.items():
            self.weights[f"_layers.{name}.{key}"] = torch.from_numpy(np.array(value, dtype=np.float32))
        self._step(node, name, [self._value(node.input[0])])

    def _node(self, node: onnx.NodeProto) -> None:
        op, attrs = node.op_type, {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if op in PASS_THROUGH:
            self.names[node.output[0]] = self._value(node.input[0])
        elif op in ACTIVATIONS:
            function, mapping = ACTIVATIONS[op]
            arguments = {arg: attrs.get(attr, default) for attr, (arg, default) in mapping.items()}
            if op == "Softmax" and "axis" not in attrs:
                arguments["dim"] = -1
            constant = [i for i in node.input if i in self.constants]
            if constant:
                raise Unprocessable(f"the ONNX graph's {op} node {node.name} has a constant operand, which no "
                                    "layer here holds; fold it into a Gemm or Conv")  # fmt: skip
            self._step(node, [function, arguments] if arguments else function, [self._value(i) for i in node.input])
        elif op == "Gemm":
            self._gemm(node, attrs)
        elif op == "MatMul":
            weight = self._constant(node, 1)
            if weight.ndim != 2:
                raise Unprocessable(f"the ONNX graph's MatMul node {node.name} is not a dense layer")
            self._layer(node, "nn.Linear", {"in_features": weight.shape[0], "out_features": weight.shape[1],
                                            "bias": False}, {"weight": weight.T})  # fmt: skip
            self.unbiased[node.output[0]] = f"l{len(self.layers) - 1}"
        elif op == "Conv":
            self._conv(node, attrs)
        elif op in ("MaxPool", "AveragePool"):
            kernel = list(attrs["kernel_shape"])
            params: dict[str, Any] = {
                "kernel_size": kernel, "stride": list(attrs.get("strides", kernel)),
                "padding": self._padding(node, attrs, len(kernel)), "ceil_mode": bool(attrs.get("ceil_mode")),
            }  # fmt: skip
            if op == "AveragePool":
                params["count_include_pad"] = bool(attrs.get("count_include_pad", 0))
            elif attrs.get("dilations") and set(attrs["dilations"]) != {1}:
                params["dilation"] = list(attrs["dilations"])
            function = {"MaxPool": "F.max_pool", "AveragePool": "F.avg_pool"}[op] + f"{len(kernel)}d"
            self._step(node, [function, params], [self._value(node.input[0])])
        elif op == "GlobalAveragePool":
            self._step(node, ["F.adaptive_avg_pool2d", {"output_size": 1}], [self._value(node.input[0])])
        elif op == "ReduceMean":
            axes = self._constant(node, 1).tolist() if len(node.input) > 1 else attrs.get("axes")
            if not axes:
                raise Unprocessable(f"the ONNX graph's ReduceMean node {node.name} names no axes")
            arguments = {"dim": list(axes), "keepdim": bool(attrs.get("keepdims", 1))}
            self._step(node, ["torch.mean", arguments], [self._value(node.input[0])])
        elif op == "Flatten":
            self._step(node, ["torch.flatten", {"start_dim": attrs.get("axis", 1)}], [self._value(node.input[0])])
        elif op == "Reshape":
            shape = self._constant(node, 1).tolist()
            if len(shape) != 2 or shape[0] not in (-1, 0) and shape[1] != -1:
                raise Unprocessable(f"the ONNX graph's Reshape node {node.name} to {shape} is not a flattening")
            self._step(node, ["torch.flatten", {"start_dim": 1}], [self._value(node.input[0])])
        else:
            raise Unprocessable(
                f"the ONNX graph's {op} node {node.name or '(unnamed)'} is an operator that cannot be trained here",
                remedy=f"export a graph of {', '.join(SUPPORTED)}, or describe the network as a model_config",
            )

    def _constant(self, node: onnx.NodeProto, index: int) -> np.ndarray:
        if len(node.input) <= index or node.input[index] not in self.constants:
            raise Unprocessable(f"the ONNX graph's {node.op_type} node {node.name} has no constant weights")
        return self.constants[node.input[index]]

    def _gemm(self, node: onnx.NodeProto, attrs: dict[str, Any]) -> None:
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
            raise Unprocessable(f"the ONNX graph's Gemm node {node.name} is not a plain dense layer "
                                "(transA, alpha or beta set)")  # fmt: skip
        weight = self._constant(node, 1)
        weight = weight if attrs.get("transB", 0) else weight.T  # nn.Linear holds (out, in)
        weights = {"weight": weight}
        if len(node.input) > 2 and node.input[2]:
            weights["bias"] = np.broadcast_to(self._constant(node, 2), (weight.shape[0],))
        params = {"in_features": weight.shape[1], "out_features": weight.shape[0], "bias": "bias" in weights}
        self._layer(node, "nn.Linear", params, weights)

    def _conv(self, node: onnx.NodeProto, attrs: dict[str, Any]) -> None:
        weight = self._constant(node, 1)
        dims = weight.ndim - 2
        if dims not in (1, 2, 3):
            raise Unprocessable(f"the ONNX graph's Conv node {node.name} is {dims}-dimensional")
        group = attrs.get("group", 1)
        weights = {"weight": weight}
        if len(node.input) > 2 and node.input[2]:
            weights["bias"] = self._constant(node, 2)
        params = {
            "in_channels": weight.shape[1] * group, "out_channels": weight.shape[0],
            "kernel_size": list(weight.shape[2:]), "stride": list(attrs.get("strides", [1] * dims)),
            "padding": self._padding(node, attrs, dims), "dilation": list(attrs.get("dilations", [1] * dims)),
            "groups": group, "bias": "bias" in weights,
        }  # fmt: skip
        self._layer(node, f"nn.Conv{dims}d", params, weights)

    @staticmethod
    def _padding(node: onnx.NodeProto, attrs: dict[str, Any], dims: int) -> list[int]:
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            raise Unprocessable(f"the ONNX graph's {node.op_type} node {node.name} pads automatically (auto_pad)")
        pads = list(attrs.get("pads", [0] * (2 * dims)))
        half = len(pads) // 2
        if pads[:half] != pads[half:]:
            raise Unprocessable(f"the ONNX graph's {node.op_type} node {node.name} pads its sides unevenly")
        return pads[:half]
