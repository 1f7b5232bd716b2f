import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.contract import Contract, fill_parties
from tests.conftest import data_file

UPSTREAM = Path(__file__).parent.parent / "data" / "upstream_contract.json"


def test_upstream_style_contract_imports_unchanged():
    raw = json.loads(UPSTREAM.read_text())
    c = Contract.model_validate(raw)
    assert c.privacy()[0].epsilon_threshold == 7.5  # a string upstream
    assert c.privacy()[1].noise_multiplier == 2.0 and c.privacy()[1].epochs_per_report == 2
    assert c.ccr.allow_simulated is False


@pytest.mark.parametrize("scenario", ["covid", "credit-risk", "brats", "mnist"])
def test_upstream_scenario_contracts_parse(scenario):
    Contract.model_validate(json.loads(data_file("upstream", scenario, "contract.json").read_text()))


def test_an_upstream_template_names_exactly_which_parties_are_missing():
    raw = json.loads(data_file("upstream", "credit-risk", "contract.json").read_text())
    missing = Contract.model_validate(raw).missing_parties(lambda ref: False)
    assert missing == ["tdc is empty", "tdps is empty", "did:web:$CCRP_USERNAME.github.io is not a registered party"]


def test_filling_parties_keeps_everything_else():
    raw = json.loads(data_file("upstream", "credit-risk", "contract.json").read_text())
    filled = fill_parties(raw, tdc="did:web:tdc", tdps=["did:web:a"], ccrp="did:web:c")
    assert {k: v for k, v in filled.items() if k not in ("tdc", "tdps", "ccrp")} == {
        k: v for k, v in raw.items() if k not in ("tdc", "tdps", "ccrp")
    }
    assert Contract.model_validate(filled).named_parties() == {
        "did:web:c": "CCRP",
        "did:web:tdc": "TDC",
        "did:web:a": "TDP",
    }


def test_expiry_before_start_is_refused():
    raw = json.loads(UPSTREAM.read_text())
    raw["expiryTime"] = "2020-01-01T00:00:00Z"
    with pytest.raises(ValidationError, match="expiryTime"):
        Contract.model_validate(raw)


def test_privacy_constraint_on_an_unknown_dataset_is_refused():
    raw = json.loads(UPSTREAM.read_text())
    raw["constraints"][0]["privacy"][0]["dataset"] = "nope"
    with pytest.raises(ValidationError, match="unknown datasets"):
        Contract.model_validate(raw)


def test_unknown_top_level_field_is_refused():
    raw = {**json.loads(UPSTREAM.read_text()), "surprise": 1}
    with pytest.raises(ValidationError):
        Contract.model_validate(raw)


@pytest.mark.parametrize("cap", ["inf", "Infinity", "NaN", "1e309", "1e6"])
def test_a_privacy_cap_is_a_finite_figure(cap: str) -> None:
    raw = json.loads(UPSTREAM.read_text())
    privacy = {"dataset": raw["datasets"][0]["id"], "epsilon_threshold": cap, "delta": "1e-5"}
    raw["constraints"] = [{"privacy": [privacy]}]
    with pytest.raises(ValueError):
        Contract.model_validate(raw)
