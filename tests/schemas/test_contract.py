import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.contract import Contract, Filling, fill_upstream
from schemas.errors import MalformedInput
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
    filling = Filling(tdc="did:web:tdc", ccrp="did:web:c", providers={"": "did:web:a", "bureau": "did:web:b"})
    filled = fill_upstream(raw, filling)
    assert {k: v for k, v in filled.items() if k not in ("tdc", "tdps", "ccrp", "datasets")} == {
        k: v for k, v in raw.items() if k not in ("tdc", "tdps", "ccrp", "datasets")
    }

    def unowned(datasets: list[dict]) -> list[dict]:
        return [{k: v for k, v in d.items() if k != "provider"} for d in datasets]

    assert unowned(filled["datasets"]) == unowned(raw["datasets"])
    assert Contract.model_validate(filled).named_parties() == {
        "did:web:c": "CCRP",
        "did:web:tdc": "TDC",
        "did:web:a": "TDP",
        "did:web:b": "TDP",
    }
    assert {d["owner"]: d["provider"] for d in filled["datasets"]}["bureau"] == "did:web:b"


def test_a_filling_that_does_not_fit_the_contract_names_every_misfit():
    raw = json.loads(data_file("upstream", "credit-risk", "contract.json").read_text())
    filling = Filling(providers={"bank_a": "did:web:a", "bank_c": "did:web:c"}, sources={"nope": "sha256:" + "0" * 64})
    with pytest.raises(MalformedInput) as refused:
        fill_upstream(raw, filling)
    assert "no dataset is owned by 'bank_c'" in refused.value.detail
    assert "no dataset has the id 'nope'" in refused.value.detail
    assert "(owner 'bureau') has no provider: give --tdp bureau=PARTY" in refused.value.detail


def test_dates_and_a_simulated_clean_room_are_terms_the_filling_sets():
    raw = json.loads(data_file("upstream", "credit-risk", "contract.json").read_text())
    start = datetime(2027, 1, 1, tzinfo=UTC)
    filling = Filling(start=start, expiry=start + timedelta(days=90), simulated_roots=["ab" * 32])
    contract = Contract.model_validate(fill_upstream(raw, filling))
    assert (contract.startTime, contract.expiryTime) == (start, start + timedelta(days=90))
    assert contract.ccr.allow_simulated and contract.ccr.simulated_roots == ["ab" * 32]


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
