"""Model outputs in formats that cannot run code when loaded: safetensors weights and an ONNX graph."""

from __future__ import annotations

import copy
import json
import logging
import secrets
import warnings
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn


def write_outputs(model: nn.Module, example: torch.Tensor, metrics: dict, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    weights, graph, scores = folder / "model.safetensors", folder / "model.onnx", folder / "metrics.json"
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, weights)
    # A fresh copy holds plain parameters: exporting the module Opacus wrapped fails inside torch.export.
    fresh = copy.deepcopy(model).eval()
    fresh.load_state_dict(state)
    batch = torch.export.Dim("batch")
    quiet = logging.getLogger("torch.onnx")
    level, quiet.level = quiet.level, logging.ERROR  # it lists every torchvision operator it cannot find
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            program = torch.onnx.export(fresh, (example,), dynamic_shapes=({0: batch},), dynamo=True, verbose=False)
    finally:
        quiet.level = level
    assert program is not None, "dynamo=True always returns the program"
    program.save(str(graph))
    scores.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return [weights, graph, scores]


def write_transcript(epochs: list[dict], folder: Path) -> Path:
    """transcript.jsonl: a header with a fresh salt, then one line per epoch. run.complete logs the Merkle root of
    these exact lines (chain/tlog/transcript.py); the salt keeps that root from confirming a guessed line."""
    path = folder / "transcript.jsonl"
    header = {"depa_transcript": 1, "salt": secrets.token_hex(16)}
    lines = [json.dumps(record, sort_keys=True, separators=(",", ":")) for record in [header, *epochs]]
    path.write_text("\n".join(lines) + "\n")
    return path
