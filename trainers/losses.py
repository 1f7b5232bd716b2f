"""Upstream DEPA's `loss_config`: one loss class, or an expression over named components ("ce + 0.5 * margin").

DP-SGD clips each record's gradient, so the loss must be the mean of per-record losses. A weighted sum of such
means is one (the mean of the weighted per-record sums); a product, a quotient by a component or a power of one
is not, and would make the per-record gradients Opacus clips differ from the ones the update uses. So an
expression is reduced to a constant coefficient per component before training, and refused where it cannot be.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from schemas.errors import Unprocessable

# The losses that take class scores and class indices, with the params each may be given; each reduces by mean.
CLASSES: dict[str, tuple[type[nn.Module], frozenset[str]]] = {
    "CrossEntropyLoss": (nn.CrossEntropyLoss, frozenset({"reduction", "label_smoothing"})),
    "NLLLoss": (nn.NLLLoss, frozenset({"reduction"})),
    "MultiMarginLoss": (nn.MultiMarginLoss, frozenset({"reduction", "p", "margin"})),
}
PREFIXES = ("torch.nn.", "nn.", "")
MAX_EXPRESSION = 500


class Atomic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    class_: str = Field(alias="class")
    params: dict[str, Any] = {}


class Composed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    expression: str = Field(min_length=1, max_length=MAX_EXPRESSION)
    components: dict[str, Atomic] = Field(min_length=1)
    variables: dict[str, float] = {}
    reduction: str = "mean"


Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def build(loss_config: dict[str, Any] | None) -> Loss:
    """The loss a pipeline names (cross-entropy if none), or Unprocessable saying why it cannot be trained with."""
    if loss_config is None:
        return nn.CrossEntropyLoss()
    try:
        if "expression" in loss_config:
            return _composed(Composed.model_validate(loss_config))
        return _atomic("loss_config", Atomic.model_validate(loss_config))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Unprocessable(f"loss_config: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _atomic(where: str, given: Atomic) -> nn.Module:
    name = next((given.class_.removeprefix(p) for p in PREFIXES if given.class_.startswith(p)), given.class_)
    if name not in CLASSES:
        raise Unprocessable(
            f"{where}: {given.class_} is not a loss this trainer runs on class labels",
            remedy=f"name one of {', '.join(f'torch.nn.{n}' for n in CLASSES)}",
        )
    cls, allowed = CLASSES[name]
    extra = sorted(set(given.params) - allowed)
    if extra:
        raise Unprocessable(f"{where}: {name} takes {', '.join(sorted(allowed))} here, not {', '.join(extra)}")
    if given.params.get("reduction", "mean") != "mean":
        raise Unprocessable(f"{where}: DP-SGD here averages the loss over the batch (reduction mean)")
    try:
        return cls(**given.params)
    except (TypeError, ValueError) as exc:
        raise Unprocessable(f"{where}: {name}: {exc}") from None


def _composed(given: Composed) -> Loss:
    if given.reduction != "mean":
        raise Unprocessable("loss_config: DP-SGD here averages the loss over the batch (reduction mean)")
    clash = sorted(given.components.keys() & given.variables.keys())
    if clash:
        raise Unprocessable(f"loss_config: {', '.join(clash)} is both a component and a variable")
    parts = {name: _atomic(f"loss_config.components.{name}", c) for name, c in given.components.items()}
    weights = linear_form(given.expression, set(parts), given.variables)
    used = [(parts[name], w) for name, w in weights.items() if name and w != 0.0]
    if not used:
        raise Unprocessable(f"loss_config: {given.expression!r} trains on no component")

    def loss(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return sum((w * part(scores, labels) for part, w in used), start=torch.zeros(()))

    return loss  # the constant term moves no gradient, so it is left out


def linear_form(expression: str, components: set[str], variables: dict[str, float]) -> dict[str, float]:
    """The expression as constant weights per component ("" for the constant term), or Unprocessable where it is
    not such a weighted sum."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError:
        raise Unprocessable(f"loss_config: {expression!r} is not an arithmetic expression") from None

    def refuse(why: str) -> Unprocessable:
        return Unprocessable(
            f"loss_config: {expression!r}: {why}",
            remedy="write a sum of components times constants, e.g. 'ce + 0.5 * margin'",
        )

    def constant(form: dict[str, float]) -> float | None:
        return form.get("", 0.0) if set(form) <= {""} else None

    def walk(node: ast.AST) -> dict[str, float]:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return {"": float(node.value)}
        if isinstance(node, ast.Name):
            if node.id in components:
                return {node.id: 1.0}
            if node.id in variables:
                return {"": float(variables[node.id])}
            raise refuse(f"{node.id} is neither a component nor a variable")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return {k: sign * v for k, v in walk(node.operand).items()}
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Add | ast.Sub):
                sign = -1.0 if isinstance(node.op, ast.Sub) else 1.0
                return {k: left.get(k, 0.0) + sign * right.get(k, 0.0) for k in left.keys() | right.keys()}
            lc, rc = constant(left), constant(right)
            if isinstance(node.op, ast.Mult) and (lc is not None or rc is not None):
                factor, form = (lc, right) if lc is not None else (rc, left)
                return {k: factor * v for k, v in form.items()}  # type: ignore[operator]
            if isinstance(node.op, ast.Div) and rc is not None:
                if rc == 0.0:
                    raise refuse("it divides by zero")
                return {k: v / rc for k, v in left.items()}
            if isinstance(node.op, ast.Pow) and lc is not None and rc is not None:
                value = lc**rc
                if not isinstance(value, float) or not math.isfinite(value):
                    raise refuse("a power of constants that is no finite number")
                return {"": value}
            raise refuse("DP-SGD needs a loss that is a mean of per-record losses; a product, quotient or power "
                         "of components is not")  # fmt: skip
        raise refuse(f"{type(node).__name__} is not arithmetic")

    return walk(tree)
