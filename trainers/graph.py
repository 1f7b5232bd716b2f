"""Upstream DEPA's `model_config`: a network described as JSON (layers, then a forward graph of steps), built into
a torch module. The consumer's architecture arrives as data, so everything it may name is checked before anything
is built: layers are torch.nn module classes, functions come from an allow-list, no argument may name a file or an
output buffer, and the graph's size is capped (upstream's caps on steps and ops, and one on parameters, counted on
torch's meta device before any memory is allocated).

Layers live in a ModuleDict named `_layers`, as upstream builds them, so weights saved by upstream's builder load.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - upstream's graphs name it F
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from torch import nn

from schemas.errors import Unprocessable

MAX_FORWARD_STEPS = 200  # upstream's caps
MAX_OPS_PER_STEP = 10
MAX_LAYERS = 500
MAX_DEPTH = 8  # submodules within submodules
MAX_PARAMETERS = 100_000_000

# Upstream's allow-list of torch functions (every torch.nn.functional function is admitted too), with the
# element-wise arithmetic an ONNX graph's Add, Sub and Mul become.
TORCH_FUNCTIONS = frozenset(
    "cat stack concat flatten reshape permute transpose unsqueeze squeeze chunk split gather index_select narrow "
    "sum mean std var max min argmax argmin norm exp log log1p sigmoid tanh softmax log_softmax relu gelu "
    "matmul mm bmm addmm einsum roll flip rot90 add sub mul".split()
)
SEQUENCE_FUNCTIONS = (torch.cat, torch.stack, torch.concat)  # take one list of tensors, not several arguments
DENIED_ARGUMENTS = frozenset({"out", "file", "filename", "path", "dir", "directory", "map_location"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Layer(_Strict):
    class_: str | None = Field(default=None, alias="class")
    submodule: str | None = None
    params: dict[str, Any] = {}

    @model_validator(mode="after")
    def _one(self) -> Layer:
        if (self.class_ is None) == (self.submodule is None):
            raise ValueError("a layer names either a class or a submodule")
        return self


Op = str | tuple[str, dict[str, Any]]


class Step(_Strict):
    ops: list[Op] = Field(min_length=1, max_length=MAX_OPS_PER_STEP)
    input: list[str | list[str]] = Field(min_length=1)
    output: str

    def names(self) -> list[str]:
        return [n for item in self.input for n in ([item] if isinstance(item, str) else item)]


class Block(_Strict):
    layers: dict[str, Layer] = Field(default={}, max_length=MAX_LAYERS)
    input: list[str] = Field(min_length=1)
    forward: list[Step] = Field(min_length=1, max_length=MAX_FORWARD_STEPS)
    output: list[str] = Field(min_length=1)


class ModelGraph(Block):
    submodules: dict[str, Block] = {}


def is_graph(model_config: dict[str, Any]) -> bool:
    """Whether a pipeline's model_config is a graph (upstream's) rather than our MLP's widths."""
    return "forward" in model_config


def parse(model_config: dict[str, Any]) -> ModelGraph:
    try:
        return ModelGraph.model_validate(model_config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise Unprocessable(f"model_config: {where}: {first['msg']}") from None


def check(model_config: dict[str, Any]) -> ModelGraph:
    """Refuse, with the reason, a model_config any part of which is not admitted; nothing is allocated."""
    graph = parse(model_config)
    with torch.device("meta"):  # count before allocating: a graph may ask for more memory than the room has
        counted = sum(p.numel() for p in _Module(graph, graph, {}, 0).parameters())
    if counted > MAX_PARAMETERS:
        raise Unprocessable(f"model_config has {counted:,} parameters, over the {MAX_PARAMETERS:,} admitted")
    return graph


def build(model_config: dict[str, Any]) -> nn.Module:
    """The module a model_config describes."""
    graph = check(model_config)
    return _Module(graph, graph, {}, 0)


def _resolve_class(name: str) -> type[nn.Module]:
    short = name.removeprefix("torch.").removeprefix("nn.")
    found = getattr(nn, short, None) if name.startswith(("nn.", "torch.nn.")) and "." not in short else None
    # A lazy layer infers its shapes from the first batch: its parameters cannot be counted, and Opacus refuses it.
    if (
        not isinstance(found, type)
        or not issubclass(found, nn.Module)
        or not found.__module__.startswith("torch.nn.")
        or short.startswith("Lazy")
    ):
        raise Unprocessable(f"model_config: {name} is not a torch.nn layer", remedy="name a class such as nn.Linear")
    return found


def _resolve_function(name: str) -> Callable[..., Any]:
    for prefix, space in (("F.", F), ("torch.nn.functional.", F)):
        if name.startswith(prefix) and "." not in name[len(prefix) :] and not name[len(prefix) :].startswith("_"):
            found = getattr(space, name[len(prefix) :], None)
            if callable(found):
                return found
    if name.startswith("torch.") and name[len("torch.") :] in TORCH_FUNCTIONS:
        return getattr(torch, name[len("torch.") :])
    raise Unprocessable(
        f"model_config: {name} is not an admitted operation",
        remedy="use a layer of the block, a torch.nn.functional function (F.relu) or one of "
        + ", ".join(f"torch.{n}" for n in sorted(TORCH_FUNCTIONS)),
    )


def _substitute(value: Any, params: dict[str, Any]) -> Any:
    """A submodule's `$name` placeholders, filled from the params of the layer that uses it."""
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] not in params:
            raise Unprocessable(f"model_config: placeholder {value} is not given (given: {', '.join(params)})")
        return params[value[1:]]
    if isinstance(value, dict):
        return {k: _substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    return value


def _check_arguments(where: str, arguments: dict[str, Any]) -> None:
    denied = [k for k in arguments if k.lower() in DENIED_ARGUMENTS]
    if denied:
        raise Unprocessable(f"model_config: {where} may not take {', '.join(denied)}")


class _Module(nn.Module):
    """One block: its layers built, its forward steps resolved and checked, names defined before use."""

    def __init__(self, block: Block, graph: ModelGraph, params: dict[str, Any], depth: int) -> None:
        super().__init__()
        if depth > MAX_DEPTH:
            raise Unprocessable(f"model_config: submodules nest more than {MAX_DEPTH} deep (or use themselves)")
        self._layers = nn.ModuleDict()
        for name, layer in block.layers.items():
            given = _substitute(layer.params, params)
            _check_arguments(f"layer {name}", given)
            if layer.submodule is not None:
                template = graph.submodules.get(layer.submodule)
                if template is None:
                    raise Unprocessable(f"model_config: layer {name} uses an undefined submodule {layer.submodule}")
                self._layers[name] = _Module(template, graph, given, depth + 1)
            else:
                assert layer.class_ is not None
                try:
                    self._layers[name] = _resolve_class(layer.class_)(**given)
                except (TypeError, ValueError, RuntimeError) as exc:
                    raise Unprocessable(f"model_config: layer {name} ({layer.class_}): {exc}") from None
        self._inputs, self._outputs = block.input, block.output
        self._steps: list[tuple[list[tuple[str | Callable[..., Any], dict[str, Any]]], Step]] = []
        defined = set(block.input)
        for i, step in enumerate(block.forward):
            missing = [n for n in step.names() if n not in defined]
            if missing:
                raise Unprocessable(f"model_config: forward step {i} reads {', '.join(missing)} before any step "
                                    "writes it")  # fmt: skip
            self._steps.append(([self._op(op, i) for op in step.ops], step))
            defined.add(step.output)
        unset = [n for n in block.output if n not in defined]
        if unset:
            raise Unprocessable(f"model_config: the output {', '.join(unset)} is never written")

    def _op(self, op: Op, index: int) -> tuple[str | Callable[..., Any], dict[str, Any]]:
        name, arguments = (op, {}) if isinstance(op, str) else op
        _check_arguments(f"forward step {index} ({name})", arguments)
        if name in self._layers:
            if arguments:
                raise Unprocessable(f"model_config: forward step {index}: layer {name} takes no arguments here")
            return name, {}
        return _resolve_function(name), arguments

    def forward(self, x: torch.Tensor, *more: torch.Tensor) -> Any:
        # One named first input, not *args alone: torch.export maps the batch dimension onto a named parameter.
        args = (x, *more)
        if len(args) != len(self._inputs):
            raise Unprocessable(f"the model takes {len(self._inputs)} inputs, was given {len(args)}")
        env: dict[str, Any] = dict(zip(self._inputs, args, strict=True))
        for ops, step in self._steps:
            current: list[Any] = [env[n] for n in step.names()]  # [[a, b]] and [a, b] both pass a and b
            for op, arguments in ops:
                if isinstance(op, str):
                    current = [self._layers[op](*current)]
                elif op in SEQUENCE_FUNCTIONS:
                    current = [op(current, **arguments)]
                else:
                    current = [op(*current, **arguments)]
            env[step.output] = current[0]
        if len(self._outputs) == 1:
            return env[self._outputs[0]]
        return tuple(env[n] for n in self._outputs)
