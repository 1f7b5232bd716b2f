"""A party's commands as installed, against a served ledger: what a participant following the walkthrough meets,
the wrong turns included. Each result a script captures is the only line on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyrage
import pytest

from ccr_agent.simulated import SimulatedTee
from chain.cli import _state_in_words
from chain.ledger.service import create_app
from schemas import statement as s
from schemas.api import ContractView, SignatureView
from schemas.canonical import sha256_digest
from schemas.digest import artefact_digest
from tests.conftest import data_file
from tests.world import World, build, serving


@dataclass
class Party:
    world: World
    root: Path

    def key(self, name: str) -> str:
        path = self.root / f"{name}.pem"
        if not path.exists():
            path.write_bytes(self.world.parties[name].pem())
        return str(path)

    def cli(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "DEPA_LEDGER_URL": self.world.url, "DEPA_VKEY": self.world.vkey}
        exe = str(Path(sys.executable).with_name(tool))
        return subprocess.run([exe, *args], capture_output=True, text=True, cwd=self.root, env=env, timeout=60)


@pytest.fixture(scope="module")
def party(tmp_path_factory: pytest.TempPathFactory, simulator: SimulatedTee) -> Iterator[Party]:
    root = tmp_path_factory.mktemp("party-path")
    world = build(root, simulator)
    with serving(create_app(world.ledger)) as url:
        world.url = url
        yield Party(world, root)


def refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1 and done.stdout == "", done
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error:") and "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def test_an_expired_upstream_contract_is_refused_with_its_date_and_the_way_out(party: Party) -> None:
    upstream = str(data_file("upstream", "credit-risk", "contract.json"))
    done = party.cli("depa-chain", "contract", "import", upstream, "--tdc", "consumer", "--tdp", "bank",
                     "--ccrp", "cloud", "--key", party.key("consumer"))  # fmt: skip
    refused(done, "expired on 2024-03-14", "--expiry")


def test_import_names_parties_by_their_registered_names_and_prints_only_the_id(party: Party) -> None:
    upstream = str(data_file("upstream", "credit-risk", "contract.json"))
    done = party.cli("depa-chain", "contract", "import", upstream, "--tdc", "consumer", "--tdp", "bank",
                     "--ccrp", "cloud", "--start", "now", "--expiry", "30d", "--key", party.key("consumer"),
                     "-o", "filled.json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    cid = done.stdout.strip()
    assert done.stdout == cid + "\n" and cid.startswith("sha256:")
    filled = json.loads((party.root / "filled.json").read_text())
    bank = party.world.parties["bank"].did
    assert filled["tdc"] == party.world.parties["consumer"].did and filled["tdps"] == [bank]
    assert {d["provider"] for d in filled["datasets"]} == {bank}
    shown = party.cli("depa-chain", "contract", "show", cid, "--key", party.key("consumer"))
    assert "pending: waiting for" in shown.stdout and "bank" in shown.stdout and "cloud" in shown.stdout


def test_import_names_the_consumers_registered_base_model_by_its_file(party: Party) -> None:
    model = party.root / "base.onnx"
    model.write_bytes(b"the consumer's network")  # the ledger holds its digest; the clean room reads the file
    registered = party.cli("depa-chain", "artefact", "register", str(model), "--kind", "model",
                           "--key", party.key("consumer"))  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    upstream = str(data_file("upstream", "credit-risk", "contract.json"))
    common = ["contract", "import", upstream, "--tdc", "consumer", "--tdp", "bank", "--ccrp", "cloud",
              "--start", "now", "--expiry", "30d", "--key", party.key("consumer")]  # fmt: skip
    done = party.cli("depa-chain", *common, "--base-model", str(model), "-o", "based.json")
    assert done.returncode == 0, done.stderr
    assert json.loads((party.root / "based.json").read_text())["base_model"] == artefact_digest(model)[0]
    unregistered = party.root / "other.onnx"
    unregistered.write_bytes(b"another network")
    refused(party.cli("depa-chain", *common, "--base-model", str(unregistered)), "is not a registered model",
            "depa-chain artefact register FILE --kind model")  # fmt: skip


def test_import_says_which_owner_has_no_provider(party: Party) -> None:
    upstream = str(data_file("upstream", "credit-risk", "contract.json"))
    done = party.cli("depa-chain", "contract", "import", upstream, "--tdc", "consumer", "--tdp", "bank_a=bank",
                     "--ccrp", "cloud", "--expiry", "2030-01-01", "--key", party.key("consumer"))  # fmt: skip
    refused(done, "give --tdp bank_b=PARTY", "give --tdp bureau=PARTY")


def test_import_refuses_a_name_no_party_has(party: Party) -> None:
    upstream = str(data_file("upstream", "credit-risk", "contract.json"))
    done = party.cli("depa-chain", "contract", "import", upstream, "--tdc", "nobody", "--key", party.key("consumer"))
    refused(done, "--tdc nobody: no registered party", "depa-chain party list")


def test_a_registered_file_verifies_online_and_offline_and_another_file_does_not(party: Party) -> None:
    data, other = party.root / "scores.csv", party.root / "other.csv"
    data.write_text("id,score\n1,0.5\n")
    other.write_text("id,score\n1,0.6\n")
    registered = party.cli("depa-chain", "artefact", "register", str(data), "--kind", "log", "--key", party.key("bank"))
    assert registered.returncode == 0, registered.stderr
    digest = registered.stdout.strip()
    assert registered.stdout == digest + "\n" and "logged as entry" in registered.stderr
    online = party.cli("depa-chain", "verify", str(data), "--key", party.key("bank"), "--save-receipt", "r.tlog-proof")
    assert online.returncode == 0 and f"({digest}), registered at entry" in online.stdout, online.stderr
    offline = party.cli("depa-chain", "verify", str(data), "--receipt", "r.tlog-proof")
    assert offline.returncode == 0 and "offline" in offline.stdout
    refused(party.cli("depa-chain", "verify", str(other), "--receipt", "r.tlog-proof"), "is not what entry")
    refused(party.cli("depa-chain", "verify", str(other), "--key", party.key("bank")), "no artefact")


def test_lineage_takes_the_file_itself(party: Party) -> None:
    data = party.root / "lineage.csv"
    data.write_text("a\n1\n")
    digest = party.cli("depa-chain", "artefact", "register", str(data), "--key", party.key("bank")).stdout.strip()
    done = party.cli("depa-chain", "lineage", str(data), "--key", party.key("bank"))
    assert done.returncode == 0 and digest in done.stdout, done.stderr
    refused(party.cli("depa-chain", "lineage", "no-such-file", "--key", party.key("bank")), "neither a file nor")


def test_a_party_is_registered_from_its_card(party: Party, tmp_path: Path) -> None:
    made = party.cli("depa-chain", "keys", "new", "lab", "--dir", str(tmp_path))
    card = tmp_path / "lab.card.json"
    card.write_text(made.stdout)
    shown = party.cli("depa-chain", "keys", "show", "lab", "--dir", str(tmp_path))
    assert json.loads(shown.stdout) == json.loads(made.stdout)
    operator = party.root / "operator.pem"
    operator.write_bytes(party.world.operator.pem())
    done = party.cli("depa-chain", "party", "register", "lab", "--card", str(card), "--role", "TDP",
                     "--key", str(operator))  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = party.cli("depa-chain", "party", "list", "--json", "--key", str(operator))
    assert json.loads(made.stdout)["did"] in {p["did"] for p in json.loads(listed.stdout)}
    refused(party.cli("depa-chain", "party", "register", "x", "--role", "TDP", "--key", str(operator)),
            "give the party's --card")  # fmt: skip
    refused(party.cli("depa-chain", "keys", "show", "nobody", "--dir", str(tmp_path)), "keys new nobody")


def test_a_sealed_dataset_opens_with_its_identity_only(party: Party, tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,2\n")
    sealed = party.cli("depa-keys", "seal", str(data), "--dataset", "ds", "--identity", str(tmp_path / "ds.age"),
                       "-o", str(tmp_path / "rows.csv.age"))  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr
    assert sealed.stdout.strip() == sha256_digest((tmp_path / "rows.csv.age").read_bytes())
    assert (tmp_path / "ds.age").stat().st_mode & 0o777 == 0o600
    opened = party.cli("depa-chain", "artefact", "open", str(tmp_path / "rows.csv.age"),
                       "--identity", str(tmp_path / "ds.age"), "-o", str(tmp_path / "back.csv"))  # fmt: skip
    assert opened.returncode == 0 and (tmp_path / "back.csv").read_text() == "a,b\n1,2\n"
    stranger = tmp_path / "stranger.age"
    stranger.write_text(f"{pyrage.x25519.Identity.generate()}\n")
    refused(party.cli("depa-chain", "artefact", "open", str(tmp_path / "rows.csv.age"), "--identity", str(stranger),
                      "-o", str(tmp_path / "x.csv")), "encrypted to someone else")  # fmt: skip


def contract_view(state: str, **changes: object) -> ContractView:
    at = datetime(2024, 3, 14, tzinfo=UTC)
    base = {"id": "sha256:" + "0" * 64, "state": state, "contract": {}, "proposer": "did:key:a", "proposed_seq": 1,
            "proposed_at": at, "signatures": [], "unsigned": [], "activated_at": None, "closed_at": None,
            "revoke_reason": None}  # fmt: skip
    return ContractView.model_validate({**base, **changes})


def test_a_contract_says_why_it_is_in_its_state() -> None:
    at = datetime(2024, 3, 14, tzinfo=UTC)
    names = {"did:key:b": "bank"}
    assert _state_in_words(contract_view("pending", unsigned=["did:key:b", "did:web:x"]), names) == (
        "pending: waiting for bank, did:web:x"
    )
    assert _state_in_words(contract_view("closed", closed_at=at), names) == "closed: expired on 2024-03-14"
    revoked = contract_view("closed", closed_at=at, revoke_reason="the bank left")
    assert _state_in_words(revoked, names) == "closed: revoked on 2024-03-14 (the bank left)"
    signed = SignatureView(party="did:key:b", name="bank", did="did:key:b", seq=3, logged_at=at)
    assert _state_in_words(contract_view("active", activated_at=at, signatures=[signed]), names).startswith("active")


def test_a_missing_key_file_says_so_and_nothing_else(party: Party) -> None:
    done = party.cli("depa-chain", "contract", "sign", party.world.cid, "--key", "missing.pem")
    refused(done, "cannot read signing key missing.pem: No such file or directory")
    assert "JSON" not in done.stderr and "DESIGN" not in done.stderr


def test_find_says_what_an_entry_a_statement_a_file_or_a_contract_is(party: Party) -> None:
    data = party.root / "found.csv"
    data.write_text("x\n2\n")
    registered = party.cli("depa-chain", "artefact", "register", str(data), "--key", party.key("bank"),
                           "--receipt", "found.tlog-proof")  # fmt: skip
    proof = (party.root / "found.tlog-proof").read_text()
    seq = int(proof.split("index ")[1].split("\n")[0])
    by_file = party.cli("depa-chain", "find", str(data), "--key", party.key("bank"))
    assert by_file.stdout.startswith(f"artefact 'found.csv' (dataset), registered at entry {seq}"), by_file.stderr
    by_seq = party.cli("depa-chain", "find", str(seq), "--key", party.key("bank"))
    assert by_seq.stdout.startswith(f"entry {seq}: artefact.register by {party.world.parties['bank'].did}")
    got = party.cli("depa-chain", "entry", "get", str(seq), "--key", party.key("bank"))
    statement_id = s.statement_id(json.loads(got.stdout)["statement"])
    by_id = party.cli("depa-chain", "find", statement_id, "--key", party.key("bank"))
    assert f"statement logged as entry {seq}" in by_id.stdout
    assert json.loads(party.cli("depa-chain", "entry", "get", statement_id, "--key", party.key("bank")).stdout) == (
        json.loads(got.stdout)
    )
    by_contract = party.cli("depa-chain", "find", party.world.cid, "--key", party.key("bank"))
    assert by_contract.stdout.startswith("contract 'test': active"), by_contract.stderr
    by_digest = party.cli("depa-chain", "find", registered.stdout.strip(), "--key", party.key("bank"))
    assert by_digest.stdout == by_file.stdout
    refused(party.cli("depa-chain", "find", "sha256:" + "7" * 64, "--key", party.key("bank")), "nothing on this ledger")


def test_find_and_checkpoint_speak_json_to_scripts(party: Party) -> None:
    found = json.loads(party.cli("depa-chain", "find", party.world.cid, "--json", "--key", party.key("bank")).stdout)
    assert [(f["is"], f["id"]) for f in found] == [("contract", party.world.cid)]
    entry = json.loads(party.cli("depa-chain", "find", "0", "--json", "--key", party.key("bank")).stdout)
    assert entry[0]["is"] == "entry" and entry[0]["statement"]["iss"] == party.world.operator.did
    cp = json.loads(party.cli("depa-chain", "checkpoint", "--json").stdout)
    assert cp["origin"] == party.world.ledger.origin and cp["note"].startswith(cp["origin"] + "\n")


def test_a_short_digest_names_the_one_artefact_it_starts_or_says_it_is_ambiguous(party: Party) -> None:
    twins = ["sha256:5eed5eed" + c * 56 for c in "01"]
    for i, digest in enumerate(twins):
        party.world.send("bank", "artefact.register", {"digest": digest, "name": f"twin{i}.csv", "kind": "dataset"})
    one = party.cli("depa-chain", "lineage", twins[0][:20], "--key", party.key("bank"))
    assert one.returncode == 0 and twins[0] in one.stdout, one.stderr
    refused(party.cli("depa-chain", "lineage", "sha256:5eed5eed", "--key", party.key("bank")),
            "starts 2 artefacts' digests", twins[1], "give more of the digest")  # fmt: skip
    refused(party.cli("depa-chain", "lineage", "sha256:5eed5eee", "--key", party.key("bank")), "no artefact's digest")
    refused(party.cli("depa-chain", "lineage", "sha256:5ee", "--key", party.key("bank")), "8 to 64 hex digits")
    found = party.cli("depa-chain", "find", twins[1][:30], "--key", party.key("bank"))
    assert found.stdout.startswith("artefact 'twin1.csv' (dataset)"), found.stderr
