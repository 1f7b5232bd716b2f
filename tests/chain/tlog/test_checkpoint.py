import pytest

from chain.tlog import checkpoint as c
from chain.tlog import merkle
from chain.tlog.tree import Tree
from schemas.errors import MalformedInput, VerificationError
from schemas.keys import Signer
from tests.conftest import data_file

TESSERA_VKEY = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx"
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def _tessera_leaf_hashes() -> list[bytes]:
    tile = data_file("tessera-log", "tile", "0", "000.p", "15").read_bytes()
    return [tile[i : i + 32] for i in range(0, len(tile), 32)]


def test_the_c2sp_spec_example_note_verifies():
    note = c.open_note(SPEC_NOTE, c.VerifierKey.parse(SPEC_VKEY))
    assert note.text == "This is an example message.\n"


def test_the_spec_example_fails_when_the_text_changes():
    with pytest.raises(VerificationError):
        c.open_note(SPEC_NOTE.replace("example message", "example massage"), c.VerifierKey.parse(SPEC_VKEY))


@pytest.mark.parametrize("n", range(16))
def test_every_tessera_checkpoint_verifies_and_matches_its_tile(n):
    note = data_file("tessera-log", f"checkpoint.{n}").read_text()
    cp = c.verify_checkpoint(note, c.VerifierKey.parse(TESSERA_VKEY))
    tree = Tree()
    for h in _tessera_leaf_hashes()[:n]:
        tree.append(h)
    assert (cp.size, cp.root) == (n, tree.root())


def test_tessera_tile_hashes_are_the_leaf_hashes_of_its_entry_bundle():
    bundle = data_file("tessera-log", "tile", "entries", "000.p", "15").read_bytes()
    entries, at = [], 0
    while at < len(bundle):
        size = int.from_bytes(bundle[at : at + 2], "big")
        entries.append(bundle[at + 2 : at + 2 + size])
        at += 2 + size
    assert [merkle.leaf_hash(e) for e in entries] == _tessera_leaf_hashes()


def test_vkey_parsing_splits_on_the_first_two_plus_signs_only():
    vkey = c.VerifierKey.parse(TESSERA_VKEY)
    assert vkey.name == "example.com/log/testdata" and str(vkey) == TESSERA_VKEY


def test_vkey_with_a_wrong_key_id_is_refused():
    with pytest.raises(MalformedInput, match="key id"):
        c.VerifierKey.parse(TESSERA_VKEY.replace("33d7b496", "33d7b497"))


def test_a_checkpoint_signed_by_another_key_fails():
    cp = c.Checkpoint("example.com/log/testdata", 1, b"\x00" * 32)
    note = c.sign_checkpoint(cp, Signer.generate())
    with pytest.raises(VerificationError):
        c.verify_checkpoint(note, c.VerifierKey.parse(TESSERA_VKEY))


def test_a_checkpoint_round_trips_through_sign_and_verify():
    key = Signer.generate()
    cp = c.Checkpoint("ledger.test/depa", 42, b"\x07" * 32)
    assert c.verify_checkpoint(c.sign_checkpoint(cp, key), c.vkey_of("ledger.test/depa", key)) == cp


def test_a_note_without_a_blank_line_is_malformed():
    with pytest.raises(MalformedInput):
        c.parse_note("just text\n")


def test_a_witness_cosignature_verifies_and_carries_its_timestamp():
    log_key, witness = Signer.generate(), Signer.generate()
    note = c.sign_note(c.Checkpoint("ledger.test/depa", 3, b"\x01" * 32).text(), "ledger.test/depa", log_key)
    cosig = c.cosign(note.text, "witness.test", witness, 1_700_000_000)
    cosigned = str(c.Note(note.text, (*note.signatures, cosig)))
    vkey = c.vkey_of("witness.test", witness, c.COSIGNATURE_V1)
    assert c.verify_cosignature(cosigned, vkey) == 1_700_000_000


def test_a_cosignature_over_another_checkpoint_fails():
    witness = Signer.generate()
    text = c.Checkpoint("ledger.test/depa", 3, b"\x01" * 32).text()
    cosig = c.cosign(text, "witness.test", witness, 1)
    other = c.Checkpoint("ledger.test/depa", 4, b"\x01" * 32).text()
    with pytest.raises(VerificationError):
        c.verify_cosignature(str(c.Note(other, (cosig,))), c.vkey_of("witness.test", witness, c.COSIGNATURE_V1))
