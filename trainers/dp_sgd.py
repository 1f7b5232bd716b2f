"""DP-SGD with Opacus: Poisson sampling at an exact sample rate, per-sample clipping, Gaussian noise, RDP accounting.

Built from Opacus' parts rather than `make_private`, which derives the sample rate as 1/len(loader):
here the rate is the one the ledger reserved, and the accountant's history is what the agent commits.
"""

from __future__ import annotations

import hashlib
import secrets
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from opacus import GradSampleModule
from opacus.accountants import RDPAccountant
from opacus.data_loader import DPDataLoader
from opacus.optimizers import DPOptimizer
from opacus.validators import ModuleValidator
from torch import nn
from torch.utils.data import TensorDataset

from schemas.errors import Unprocessable
from trainers.arrays import Arrays, check_metrics, scores
from trainers.config import Named, TrainConfig
from trainers.losses import build as build_loss


@dataclass(frozen=True)
class DpPlan:
    noise_multiplier: float
    sample_rate: float
    steps: int
    max_grad_norm: float


@dataclass
class Trained:
    model: nn.Module
    example: torch.Tensor
    metrics: dict[str, float]
    segments: list[dict[str, float | int]]  # the accountant's history, for budget.commit
    epochs: list[dict[str, float | int | str | None]]  # the transcript: one record per epoch


def state_digest(model: nn.Module) -> str:
    """SHA-256 over the model's parameters and buffers, by name in sorted order: which model an epoch ended with."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode() + b"\0" + tensor.detach().cpu().contiguous().numpy().tobytes())
    return "sha256:" + h.hexdigest()


def mlp(features: int, classes: int, hidden: list[int]) -> nn.Module:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(features, width), nn.ReLU()]
        features = width
    layers.append(nn.Linear(features, classes))
    return nn.Sequential(*layers)


def cnn(channels: int, classes: int) -> nn.Module:
    """A small image classifier with GroupNorm (Opacus rejects BatchNorm: it mixes samples)."""
    return nn.Sequential(
        nn.Conv2d(channels, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.GroupNorm(4, 16), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
        nn.Flatten(), nn.Linear(16 * 16, classes),
    )  # fmt: skip


def steps_for(config: TrainConfig, sample_rate: float) -> int:
    """Poisson sampling: an epoch is 1/q steps in expectation."""
    return max(1, round(config.total_epochs / sample_rate))


def train(model: nn.Module, data: Arrays, config: TrainConfig, plan: DpPlan | None, seed: int | None = None) -> Trained:
    """Train with DP-SGD when a plan is given, plain SGD otherwise; evaluate on the test split."""
    with warnings.catch_warnings():
        # Opacus' per-sample hooks fire on the first layer, whose inputs need no gradient: expected, harmless.
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        return _train(model, data, config, plan, seed)


def _train(model: nn.Module, data: Arrays, config: TrainConfig, plan: DpPlan | None, seed: int | None) -> Trained:
    # DP noise must be unpredictable: a fixed seed would let anyone subtract it. Seeds are for tests only.
    # Opacus' secure_mode needs torchcsprng, which has no build for this torch (the metrics say it was off), so
    # sampling and noise draw from two generators, each seeded with 64 bits from the OS's CSPRNG: knowing which
    # records were sampled says nothing about the noise.
    fixed = seed is not None
    seed = seed if seed is not None else secrets.randbits(63)
    torch.manual_seed(seed)
    wanted = config.metric_specs()
    check_metrics(wanted)
    errors = ModuleValidator.validate(model, strict=False)
    if errors:
        raise Unprocessable(f"the model cannot be trained privately: {errors[0]}")
    dataset = TensorDataset(torch.as_tensor(data.x_train, dtype=torch.float32), torch.as_tensor(data.y_train))
    optimizer_cls = getattr(torch.optim, config.optimizer.name)
    params = {"lr": 0.05, **config.optimizer.params}
    loss_fn = build_loss(config.loss_config)
    segments: list[dict[str, float | int]] = []
    epochs: list[dict[str, float | int | str | None]] = []
    delta = config.privacy_params.delta if config.privacy_params else None

    def end_epoch(
        module: nn.Module, steps: int, losses: list[float], accountant: RDPAccountant | None, schedule: Schedule
    ) -> None:
        """What the epoch left: its mean loss, the spend so far by the run's own accountant, the model's digest and
        its test metrics (the recipients', like metrics.json)."""
        spent = accountant.get_epsilon(delta) if accountant is not None and delta and steps else None
        epochs.append({"epoch": len(epochs) + 1, "steps": steps, "loss": sum(losses) / max(1, len(losses)),
                       "epsilon": spent, "state": state_digest(module), **evaluate(module, data, wanted)})  # fmt: skip
        module.train()
        schedule.after_epoch()

    generator = torch.Generator().manual_seed(seed)  # the non-private path's shuffling, and Poisson sampling
    noise = torch.Generator().manual_seed(seed + 1 if fixed else secrets.randbits(64))
    if plan is None:
        loader = torch.utils.data.DataLoader(dataset, batch_size=config.batch_size, shuffle=True, generator=generator)
        optimizer = optimizer_cls(model.parameters(), **params)
        schedule = scheduler(config, optimizer)
        steps = 0
        for _ in range(config.total_epochs):
            losses = []
            for x, y in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                schedule.after_batch()
                losses.append(float(loss.detach()))
                steps += 1
            end_epoch(model, steps, losses, None, schedule)
        trained = model
    else:
        expected_batch = plan.sample_rate * len(dataset)
        if expected_batch < 1:
            raise Unprocessable(f"sample rate {plan.sample_rate} gives an expected batch below one record")
        private = GradSampleModule(model)
        optimizer = DPOptimizer(
            optimizer_cls(private.parameters(), **params), noise_multiplier=plan.noise_multiplier,
            max_grad_norm=plan.max_grad_norm, expected_batch_size=max(1, round(expected_batch)), generator=noise,
        )  # fmt: skip
        schedule = scheduler(config, optimizer)
        accountant = RDPAccountant()
        optimizer.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=plan.sample_rate))
        loader = DPDataLoader(dataset, sample_rate=plan.sample_rate, generator=generator)
        per_epoch = max(1, round(1 / plan.sample_rate))  # Poisson sampling: an epoch is 1/q steps in expectation
        steps, losses = 0, []
        while steps < plan.steps:
            for x, y in loader:
                optimizer.zero_grad()
                # An empty Poisson batch goes through as it is: Opacus clips nothing, adds the noise and the
                # accountant counts the step, exactly as the analysis assumes.
                loss = loss_fn(private(x), y)
                loss.backward()
                optimizer.step()
                schedule.after_batch()
                steps += 1
                if len(y):
                    losses.append(float(loss.detach()))
                if steps % per_epoch == 0 or steps == plan.steps:
                    end_epoch(private._module, steps, losses, accountant, schedule)
                    losses = []
                if steps == plan.steps:
                    break
        segments = [{"noise_multiplier": s, "sample_rate": q, "steps": n} for s, q, n in accountant.history]
        trained = private._module
    rng = {"opacus_secure_mode": 0.0, "separate_csprng_seeded_generators": 1.0}
    metrics = {**evaluate(trained, data, wanted), **(rng if plan else {})}
    return Trained(trained, dataset[0][0][None], metrics, segments, epochs)


def evaluate(model: nn.Module, data: Arrays, wanted: Sequence[Named] = ()) -> dict[str, float]:
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(data.x_test, dtype=torch.float32))
    return scores(data, torch.softmax(logits, dim=1).numpy(), wanted)


# Schedulers stepped once an epoch, and those stepped once a batch (a cyclic rate cycles over iterations).
EPOCH_SCHEDULERS = ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ConstantLR")
BATCH_SCHEDULERS = ("CyclicLR",)


def check_scheduler(config: TrainConfig) -> None:
    name = config.scheduler.name if config.scheduler else None
    if name is not None and name not in EPOCH_SCHEDULERS + BATCH_SCHEDULERS:
        raise Unprocessable(f"scheduler {name} is not one this trainer runs",
                            remedy=f"name one of {', '.join(EPOCH_SCHEDULERS + BATCH_SCHEDULERS)}")  # fmt: skip


class Schedule(NamedTuple):
    """The pipeline's learning-rate scheduler (None if it names none), and whether it steps once a batch."""

    made: Any
    per_batch: bool

    def after_batch(self) -> None:
        if self.made is not None and self.per_batch:
            self.made.step()

    def after_epoch(self) -> None:
        if self.made is not None and not self.per_batch:
            self.made.step()


def scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer) -> Schedule:
    """The pipeline's learning-rate scheduler on `optimizer`."""
    if config.scheduler is None:
        return Schedule(None, False)
    check_scheduler(config)
    name = config.scheduler.name
    try:
        made = getattr(torch.optim.lr_scheduler, name)(optimizer, **config.scheduler.params)
    except (TypeError, ValueError) as exc:
        raise Unprocessable(f"scheduler {name} does not take its params: {exc}") from None
    return Schedule(made, name in BATCH_SCHEDULERS)
