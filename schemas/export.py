"""Write the JSON Schema of every statement type and of the contract to schemas/json/.

Run `python -m schemas.export`; a test keeps the committed files current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from schemas.contract import Contract
from schemas.statement import BODIES, Envelope, typ_of

OUT = Path(__file__).parent / "json"


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for each statement type and the contract."""
    found: dict[str, dict[str, Any]] = {"contract.json": Contract.model_json_schema()}
    for kind, body in BODIES.items():
        envelope = Envelope.model_json_schema()
        envelope["title"] = typ_of(kind)
        envelope["properties"]["typ"] = {"const": typ_of(kind), "title": "Typ"}
        envelope["properties"]["body"] = body.model_json_schema()
        found[f"{kind}.json"] = envelope
    return found


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas().items():
        (out / name).write_text(render(schema))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
