"""Content digests of artefacts: streaming SHA-256 of a file, or of a folder's sorted manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from schemas.errors import MalformedInput

_CHUNK = 1 << 20


def _file_sha256(path: Path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def artefact_digest(path: Path) -> tuple[str, int]:
    """`sha256:<hex>` and size in bytes of a file, or of a folder.

    A folder hashes as its manifest: one `<hex>  <relative/posix/path>` line per file,
    sorted by path, so the digest names the exact set of files and their contents.
    """
    if path.is_file():
        hexdigest, size = _file_sha256(path)
        return "sha256:" + hexdigest, size
    if not path.is_dir():
        raise MalformedInput(f"{path} is neither a file nor a folder")
    lines, total = [], 0
    for file in sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).as_posix()):
        hexdigest, size = _file_sha256(file)
        lines.append(f"{hexdigest}  {file.relative_to(path).as_posix()}\n")
        total += size
    return "sha256:" + hashlib.sha256("".join(lines).encode()).hexdigest(), total
