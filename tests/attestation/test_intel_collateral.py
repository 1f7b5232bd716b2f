"""Intel's collateral for TDX: signed by Intel SGX TCB Signing under the pinned root, current, for this platform,
its CRLs, and the TCB status it gives, which a contract may demand. Genuine Intel collateral checks the
signatures; a test PKI standing in for Intel's checks what each TCB level means."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from attestation.policy import AttestationPolicy
from attestation.result import Status
from attestation.tdx import verify_tdx
from schemas.contract import CcrPolicy
from schemas.statement import TdxCollateral
from tests.attestation.samples import tdx_quote
from tests.attestation.tdx_forge import PRODUCTION_TD, StandInPki, collateral
from tests.conftest import data_file

INTEL = data_file("attestation", "tdx", "dcap-qvl_tdx_quote_collateral.json")
WHILE_CURRENT = datetime(2025, 3, 20, tzinfo=UTC)  # within the collateral's issue date and next update
ALLOW_DEBUG = AttestationPolicy(allow_debug=True)  # the v4 sample is a debug TD


def intel() -> TdxCollateral:
    return TdxCollateral.model_validate(json.loads(INTEL.read_text()))


def checks(result) -> dict:  # type: ignore[no-untyped-def]
    return {c.name: c for c in result.checks}


def test_intels_own_collateral_is_signed_under_the_pinned_root() -> None:
    found = checks(verify_tdx(tdx_quote(4), policy=ALLOW_DEBUG, at=WHILE_CURRENT, collateral=intel()))
    assert found["collateral-signed"].status == Status.PASS
    assert found["collateral-current"].status == Status.PASS


def test_collateral_for_another_platform_is_refused() -> None:
    found = checks(verify_tdx(tdx_quote(4), policy=ALLOW_DEBUG, at=WHILE_CURRENT, collateral=intel()))
    assert found["collateral-platform"].status == Status.FAIL
    assert "for FMSPC b0c06f000000, not this platform's 50806f000000" in found["collateral-platform"].reason


def test_one_changed_character_of_the_tcb_info_breaks_its_signature() -> None:
    forged = intel().model_copy(update={"tcb_info": intel().tcb_info.replace("OutOfDate", "UpToDate", 1)})
    found = checks(verify_tdx(tdx_quote(4), policy=ALLOW_DEBUG, at=WHILE_CURRENT, collateral=forged))
    assert found["collateral-signed"].status == Status.FAIL
    assert "TCB-info signature does not verify" in found["collateral-signed"].reason


def test_collateral_past_its_signing_certificate_is_refused() -> None:
    at = datetime(2025, 6, 1, tzinfo=UTC)  # Intel SGX TCB Signing in this sample ends 2025-05-21
    found = checks(verify_tdx(tdx_quote(4), policy=ALLOW_DEBUG, at=at, collateral=intel()))
    assert found["collateral-signed"].status == Status.FAIL


def test_collateral_past_its_next_update_is_not_current() -> None:
    at = datetime(2025, 4, 20, tzinfo=UTC)
    found = checks(verify_tdx(tdx_quote(4), policy=ALLOW_DEBUG, at=at, collateral=intel()))
    assert found["collateral-current"].status == Status.FAIL


# --- what the TCB levels say, under a test PKI -----------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> StandInPki:
    return StandInPki()


def status_of(pki: StandInPki, coll: TdxCollateral, **policy: object):  # type: ignore[no-untyped-def]
    quote = pki.quote(td_attributes=PRODUCTION_TD)
    return checks(verify_tdx(quote, policy=AttestationPolicy(**policy), root=pki.root_pin, collateral=coll))


def test_a_platform_at_the_newest_level_is_up_to_date(pki: StandInPki) -> None:
    found = status_of(pki, collateral(pki))
    assert (found["tcb-status"].status, found["tcb-status"].reason) == (Status.PASS, "TCB status UpToDate")
    assert found["pck-crl"].status == Status.PASS
    assert found["collateral-platform"].status == Status.PASS


def test_the_first_level_the_platform_meets_gives_its_status_and_advisories(pki: StandInPki) -> None:
    levels = [(1, "UpToDate", []), (0, "OutOfDate", ["INTEL-SA-00837", "INTEL-SA-00106"])]
    found = status_of(pki, collateral(pki, levels=levels))
    assert found["tcb-status"].reason == "TCB status OutOfDate (advisories INTEL-SA-00106, INTEL-SA-00837)"
    assert found["tcb-status"].status == Status.PASS  # reported; no policy demanded a status


def test_a_contract_demanding_up_to_date_refuses_an_out_of_date_platform(pki: StandInPki) -> None:
    levels = [(1, "UpToDate", []), (0, "OutOfDate", ["INTEL-SA-00837"])]
    found = status_of(pki, collateral(pki, levels=levels), tcb_status=["UpToDate"])
    assert found["tcb-status"].status == Status.FAIL
    assert "which the policy does not admit (UpToDate)" in found["tcb-status"].reason
    admitted = status_of(pki, collateral(pki, levels=levels), tcb_status=["UpToDate", "OutOfDate"])
    assert admitted["tcb-status"].status == Status.PASS


def test_an_out_of_date_qe_makes_the_tcb_out_of_date(pki: StandInPki) -> None:
    found = status_of(pki, collateral(pki, qe_levels=[(5, "UpToDate"), (4, "OutOfDate")]), tcb_status=["UpToDate"])
    assert found["tcb-status"].status == Status.FAIL and "TCB status OutOfDate" in found["tcb-status"].reason


@pytest.mark.parametrize(
    ("made", "says"),
    [
        ({"levels": [(0, "Revoked", [])]}, "the platform's keys are revoked"),
        ({"levels": [(1, "UpToDate", [])]}, "lists no TCB level that the platform's TCB meets"),
    ],
)
def test_a_revoked_or_unlisted_tcb_is_refused_whatever_the_policy(pki: StandInPki, made: dict, says: str) -> None:
    found = status_of(pki, collateral(pki, **made))
    assert found["tcb-status"].status == Status.FAIL and says in found["tcb-status"].reason


def test_a_pck_on_the_crl_is_refused(pki: StandInPki) -> None:
    found = status_of(pki, collateral(pki, revoked=True))
    assert found["pck-crl"].status == Status.FAIL and "is revoked by the PCK CRL" in found["pck-crl"].reason


def test_a_status_demanded_without_collateral_fails() -> None:
    found = checks(verify_tdx(tdx_quote(4), policy=AttestationPolicy(allow_debug=True, tcb_status=["UpToDate"])))
    assert found["tcb-status"].status == Status.FAIL
    assert "no Intel collateral came with the quote" in found["tcb-status"].reason


def test_a_contracts_tcb_status_reaches_the_verifier() -> None:
    policy = AttestationPolicy.from_contract(CcrPolicy(tcb_status=["UpToDate", "SWHardeningNeeded"]))
    assert policy.tcb_status == ["UpToDate", "SWHardeningNeeded"]
