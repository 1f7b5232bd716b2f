"""`depa-ccr scenario new`: a spec that is not in the repository becomes a scenario that runs end to end, the
audit passing; a bad spec is refused with one line per problem."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from scenarios.scaffold import load, parse_spec, scaffold
from schemas.contract import Contract
from schemas.digest import artefact_digest
from schemas.errors import MalformedInput
from tests.test_walkthrough import ROOT, run_as_written, shell_blocks
from trainers import models
from trainers import pipeline as pipelines
from trainers.arrays import Arrays
from trainers.config import load_pipeline

SPEC = {
    "scenario_name": "loan_default",
    "title": "loan default: a bank and a bureau",
    "tdps": [
        {"name": "bank", "datasets": [{"name": "applications", "format": "csv", "epsilon": 6, "records": 1500}]},
        {"name": "bureau", "datasets": [{"name": "records", "format": "parquet", "epsilon": 4, "records": 1500},
                                        {"name": "notes", "privacy": False, "records": 1500}]},
    ],
    "training_framework": "Train_DL",
    "join": {"joining_key": "customer_id"},
    "model_format": "onnx",
    "base_model": "onnx",
}  # fmt: skip


def ccr(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("depa-ccr"))
    return subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


def test_the_guide_scaffolds_a_scenario_that_runs_end_to_end_and_passes_the_audit(tmp_path: Path) -> None:
    """docs/build-your-own-scenario.md as written, in a folder outside the repository."""
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    blocks = shell_blocks((ROOT / "docs" / "build-your-own-scenario.md").read_text())
    done = run_as_written("\n".join(blocks), tmp_path, timeout=600, DEPA_DEMO_ROOT=str(tmp_path / "demo"))
    assert done.returncode == 0, done.stdout[-4000:]
    assert "VERIFIED" in done.stdout and "Next steps" in done.stdout
    demo = tmp_path / "demo" / "loan_default"
    assert (demo / "consumer" / "model.onnx").stat().st_size > 0
    brought = json.loads((demo / "run.json").read_text())["base_model"]  # the consumer's model, which it trained
    assert json.loads((demo / "contract.json").read_text())["base_model"] == artefact_digest(Path(brought))[0]
    assert (demo / "providers" / "bureau" / "records.parquet").exists()


def test_the_scaffold_is_a_contract_and_a_pipeline_the_clean_room_accepts(tmp_path: Path) -> None:
    folder = scaffold(parse_spec(json.dumps(SPEC), "spec.json"), tmp_path)
    template = (folder / "contract.json").read_text()
    filled = re.sub(r"\$\{source:[^}]+\}", "sha256:" + "0" * 64, template.replace("${simulated_root}", "ab" * 32))
    filled = filled.replace("${start}", "2027-01-01T00:00:00.000Z").replace("${expiry}", "2027-02-01T00:00:00.000Z")
    contract = Contract.model_validate_json(filled)
    caps = {p.dataset: p.epsilon_threshold for p in contract.privacy()}
    assert caps == {"loan_default-bank-applications": 6, "loan_default-bureau-records": 4}  # notes is not capped
    pipeline = load_pipeline(folder / "pipeline_config.json")
    assert pipeline.train.privacy_params.epsilon == 2.0  # half the smallest cap
    assert pipeline.train.privacy_params.sample_rate * 1200 == pytest.approx(pipeline.train.batch_size, rel=1e-3)


@pytest.mark.parametrize(("framework", "model"), [("Train_XGB", "model.json"), ("Train_SKL", "model.onnx")])
def test_a_scaffolded_tree_or_linear_scenario_trains_its_uncapped_data(
    tmp_path: Path, framework: str, model: str
) -> None:
    uncapped = [{"name": p["name"], "datasets": [{**d, "privacy": False} for d in p["datasets"]]} for p in SPEC["tdps"]]
    spec = {**SPEC, "training_framework": framework, "tdps": uncapped, "base_model": None}
    folder = scaffold(parse_spec(json.dumps(spec), "spec.json"), tmp_path)
    pipeline = load_pipeline(folder / "pipeline_config.json")
    assert pipeline.trainer == framework and not pipeline.train.is_private
    assert json.loads((folder / "contract.json").read_text())["constraints"] == [{"privacy": []}]
    written = load(folder).generate(tmp_path / "providers")
    result = pipelines.run(pipeline, pipelines.load(pipeline, written), tmp_path / "out", None)
    assert [p.name for p in result.outputs] == [model] and 0.5 < result.metrics["accuracy"] <= 1


def test_a_scaffolded_model_config_base_model_is_a_folder_the_trainer_accepts(tmp_path: Path) -> None:
    folder = scaffold(parse_spec(json.dumps({**SPEC, "base_model": "model_config"}), "spec.json"), tmp_path)
    brought = load(folder).base_model(tmp_path / "consumer")
    assert sorted(p.name for p in brought.iterdir()) == ["model.safetensors", "model_config.json"]
    features = len(load_pipeline(folder / "pipeline_config.json").train.dataset_config.features or {})
    x = np.zeros((4, features), dtype=np.float32)
    y = np.array([0, 1, 0, 1])
    train = load_pipeline(folder / "pipeline_config.json").train
    assert models.network(train, Arrays(x, y, x, y, 2), brought)(torch.as_tensor(x)).shape == (4, 2)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"scenario_name": "Loan Default"}, "scenario_name: String should match pattern"),
        ({"tdps": []}, "tdps: List should have at least 1 item"),
        ({"training_framework": "Train_GAN"}, "training_framework: Input should be 'Train_DL', 'Train_XGB' or"),
        ({"training_framework": "Train_XGB"}, "Train_XGB adds no noise, so it cannot train capped data"),
        (
            {
                "training_framework": "Train_SKL",
                "base_model": "onnx",
                "tdps": [{"name": "bank", "datasets": [{"name": "a", "privacy": False}]}],
            },
            "a base model is trained by Train_DL",
        ),
        ({"tdps": [{"name": "consumer", "datasets": [{"name": "a"}]}]}, "a name the demo gives its own party"),
        ({"tdps": [{"name": "bank", "datasets": [{"name": "a", "delta": 0.01}]}]}, "delta 0.01 is over 1/(10 n)"),
        ({"tdps": [{"name": "bank", "datasets": [{"name": "a", "privacy": False}]}]}, "no dataset is private"),
        ({"colour": "blue"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_a_bad_spec_is_refused_with_a_line_per_problem(change: dict, problem: str) -> None:
    with pytest.raises(MalformedInput) as refused:
        parse_spec(json.dumps({**SPEC, **change}), "spec.json")
    assert problem in refused.value.detail and refused.value.detail.startswith("spec.json: ")


def test_the_command_prints_each_problem_on_its_own_line_and_writes_nothing(tmp_path: Path) -> None:
    bad = {**SPEC, "scenario_name": "Bad Name", "model_format": "pickle"}
    (tmp_path / "spec.json").write_text(json.dumps(bad))
    done = ccr("scenario", "new", "spec.json", "--dir", "mine", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and "scenario_name" in lines[0] and "model_format" in lines[1]
    assert not (tmp_path / "mine").exists()
