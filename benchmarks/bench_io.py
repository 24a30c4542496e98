"""The one way every benchmark script saves its figures."""

from __future__ import annotations

import json
from pathlib import Path


def save_json(result: dict, path: Path) -> None:
    """Write ``result`` as indented JSON to ``path`` (creating its folder) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
