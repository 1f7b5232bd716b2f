"""A provider seals a dataset for the clean room: age-encrypted to an identity only its key broker holds.

A folder travels as a tar of its files in sorted order; the clean room unpacks it and checks the folder's
manifest digest, which is what the provider registered (`schemas.digest.artefact_digest`).
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pyrage

from schemas.canonical import sha256_digest
from schemas.errors import MalformedInput
from schemas.keys import read_identity, write_secret


def tar_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def dataset_identity(path: Path, dataset: str) -> pyrage.x25519.Identity:
    """The dataset's age identity in `path`, made (mode 0600) if the file does not exist yet."""
    if path.exists():
        return pyrage.x25519.Identity.from_str(read_identity(path))
    identity = pyrage.x25519.Identity.generate()
    note = f"# the key of dataset {dataset}: for your key broker (depa-keys serve --dataset) only\n{identity}\n"
    write_secret(path, note.encode())
    return identity


def seal(plain: Path, identity: pyrage.x25519.Identity, sealed: Path) -> str:
    """Encrypt a file or folder to `identity`; return the encrypted file's digest (artefact.register's
    encrypted_digest, which the clean room checks before it asks for the key)."""
    try:
        data = tar_folder(plain) if plain.is_dir() else plain.read_bytes()
    except OSError as exc:
        raise MalformedInput(f"cannot read {plain}: {exc.strerror}") from exc
    out = pyrage.encrypt(data, [identity.to_public()])
    sealed.write_bytes(out)
    return sha256_digest(out)
