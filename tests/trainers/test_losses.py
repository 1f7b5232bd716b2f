"""Upstream's loss_config: a loss class, or an expression over named components, honoured where DP-SGD can train
it (a weighted sum of per-record means) and refused, saying why, where it cannot."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from schemas.errors import Unprocessable
from tests.trainers.test_trainers import arrays
from trainers import dp_sgd, losses
from trainers.config import TrainConfig

SCORES = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.3, -0.2], [-1.0, 2.0, 0.0]])
LABELS = torch.tensor([0, 2, 1])
CE = {"class": "torch.nn.CrossEntropyLoss"}
MARGIN = {"class": "nn.MultiMarginLoss", "params": {"margin": 0.5}}


def test_no_loss_config_is_cross_entropy() -> None:
    assert isinstance(losses.build(None), nn.CrossEntropyLoss)


def test_a_loss_class_is_built_with_its_params() -> None:
    smoothed = losses.build({"class": "torch.nn.CrossEntropyLoss", "params": {"label_smoothing": 0.1}})
    assert isinstance(smoothed, nn.CrossEntropyLoss) and smoothed.label_smoothing == 0.1


def test_an_expression_is_the_weighted_sum_of_its_components() -> None:
    composed = losses.build({"expression": "ce + w * margin / 2 - 3", "components": {"ce": CE, "margin": MARGIN},
                             "variables": {"w": 0.5}})  # fmt: skip
    expected = nn.CrossEntropyLoss()(SCORES, LABELS) + 0.25 * nn.MultiMarginLoss(margin=0.5)(SCORES, LABELS)
    assert torch.allclose(composed(SCORES, LABELS), expected)  # the constant moves no gradient: left out


def test_the_weights_of_an_expression_are_read_exactly() -> None:
    weights = losses.linear_form("-(a - 2 * b) * 3 + 2 ** 3", {"a", "b"}, {})
    assert weights == {"a": -3.0, "b": 6.0, "": 8.0}


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ({"expression": "alpha * (1 - pt) ** gamma * ce", "components": {"ce": CE}, "variables": {"alpha": 1}},
         "pt is neither a component nor a variable"),
        ({"expression": "ce * margin", "components": {"ce": CE, "margin": MARGIN}}, "a product, quotient or power"),
        ({"expression": "ce ** 2", "components": {"ce": CE}}, "a product, quotient or power"),
        ({"expression": "1 / ce", "components": {"ce": CE}}, "a product, quotient or power"),
        ({"expression": "ce / 0", "components": {"ce": CE}}, "divides by zero"),
        ({"expression": "__import__('os')", "components": {"ce": CE}}, "Call is not arithmetic"),
        ({"expression": "ce +", "components": {"ce": CE}}, "is not an arithmetic expression"),
        ({"expression": "0 * ce", "components": {"ce": CE}}, "trains on no component"),
        ({"expression": "dice + 2 * l1", "components": {"dice": {"class": "monai.losses.DiceLoss"},
                                                        "l1": {"class": "torch.nn.L1Loss"}}},
         "monai.losses.DiceLoss is not a loss this trainer runs on class labels"),
        ({"class": "torch.nn.BCELoss"}, "torch.nn.BCELoss is not a loss"),
        ({"class": "nn.CrossEntropyLoss", "params": {"reduction": "sum"}}, "reduction mean"),
        ({"class": "nn.CrossEntropyLoss", "params": {"weight": [1, 2]}}, "not weight"),
        ({"expression": "ce", "components": {"ce": CE}, "reduction": "sum"}, "reduction mean"),
        ({"expression": "ce", "components": {"ce": CE}, "variables": {"ce": 1}}, "both a component and a variable"),
        ({"params": {}}, "loss_config: class: Field required"),
    ],
)  # fmt: skip
def test_a_loss_dp_sgd_cannot_train_with_is_refused_saying_why(config: dict, said: str) -> None:
    with pytest.raises(Unprocessable, match=said.replace("(", r"\(").replace("*", r"\*")):
        losses.build(config)


def test_dp_sgd_trains_on_a_composed_loss() -> None:
    plan = dp_sgd.DpPlan(noise_multiplier=1.0, sample_rate=0.05, steps=20, max_grad_norm=1.0)
    config = TrainConfig(loss_config={"expression": "ce + 0.5 * margin", "components": {"ce": CE, "margin": MARGIN}})
    trained = dp_sgd.train(dp_sgd.mlp(2, 2, [8]), arrays(), config, plan, seed=1)
    assert trained.segments == [{"noise_multiplier": 1.0, "sample_rate": 0.05, "steps": 20}]
