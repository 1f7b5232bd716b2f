"""The clean-room agent's cost, measured against what it wraps, in the same run:

- a scenario run through the agent (attestation, budget, key release, decryption and checks, training, outputs
  encrypted and registered, every receipt verified) against the bare trainer on the same plaintext;
- opening an input (decrypt + SHA-256 of the plaintext) against raw age decryption and raw SHA-256.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyrage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import Figures
from ccr_agent.attest import Producer  # noqa: E402
from ccr_agent.run import privacy_plan, run  # noqa: E402
from ccr_agent.sealed import open_sealed  # noqa: E402
from scenarios.engine import Demo  # noqa: E402
from schemas.canonical import parse_json  # noqa: E402
from schemas.contract import Contract  # noqa: E402
from trainers import pipeline as pipelines  # noqa: E402
from trainers.config import load_pipeline  # noqa: E402

ROUNDS = int(os.environ.get("DEPA_BENCH_AGENT_ROUNDS", "3"))
LONG_EPOCHS = int(os.environ.get("DEPA_BENCH_AGENT_EPOCHS", "100"))


def agent_overhead(name: str = "credit_risk", epochs: int | None = None, rounds: int = ROUNDS) -> Figures:
    """Median over rounds; `epochs` overrides the scenario's training length (its fixed costs do not grow)."""
    scenario = importlib.import_module(f"scenarios.{name}")
    agent, bare = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(rounds):
            demo = Demo(name, scenario, root=Path(tmp) / f"round-{round_}")
            (demo.root / "logs").mkdir(parents=True)
            try:
                demo.set_up()
                if epochs is not None:
                    doc = json.loads(demo.spec.pipeline.read_text())
                    doc["pipeline"][-1]["config"]["total_epochs"] = epochs
                    longer = demo.root / "pipeline_config.json"
                    longer.write_text(json.dumps(doc))
                    demo.spec = demo.spec.model_copy(update={"pipeline": longer})
                if round_ == 0:
                    bare_run(demo, scenario)  # warm-up: first imports and the first ONNX export cost seconds
                started = time.perf_counter()
                run(demo.spec, Producer(simulator=demo.simulator))
                agent.append(time.perf_counter() - started)
            finally:
                demo.stop()
            bare.append(bare_run(demo, scenario))
    a, b = statistics.median(agent), statistics.median(bare)
    return {"scenario": name, "epochs": epochs or 0, "agent_s": a, "bare_s": b, "overhead": (a - b) / b}


def bare_run(demo: Demo, scenario) -> float:
    """The same pipeline, plan and plaintext, trained directly: what the agent wraps."""
    pipeline = load_pipeline(demo.spec.pipeline)
    contract = Contract.model_validate(parse_json((demo.root / "contract.json").read_bytes()))
    plain = {d: demo.root / "providers" / p / f for d, (p, f) in scenario.DATASETS.items()}
    started = time.perf_counter()
    plan = privacy_plan(contract, pipeline, list(plain))
    arrays = pipelines.load(pipeline, plain)
    pipelines.check_poisson(pipeline, arrays)
    pipelines.run(pipeline, arrays, demo.root / "bare", plan)
    return time.perf_counter() - started


def _best(fn, size: int, rounds: int = 5) -> float:
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        best = max(best, size / (time.perf_counter() - started) / 1e6)
    return best


def input_rates(size: int = 64 << 20) -> dict[str, float]:
    data = os.urandom(size)
    identity = pyrage.x25519.Identity.generate()
    sealed = pyrage.encrypt(data, [identity.to_public()])

    def stream() -> None:
        pyrage.decrypt_io(io.BytesIO(sealed), io.BytesIO(), [identity])

    return {
        "open_mb_s": _best(lambda: open_sealed(sealed, str(identity)), size),
        "age_decrypt_mb_s": _best(lambda: pyrage.decrypt(sealed, [identity]), size),
        "age_decrypt_io_mb_s": _best(stream, size),
        "sha256_mb_s": _best(lambda: hashlib.sha256(data).digest(), size),
    }


if __name__ == "__main__":
    print(input_rates())
    print(agent_overhead())
    print(agent_overhead(epochs=LONG_EPOCHS, rounds=2))
