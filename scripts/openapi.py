"""Write the REST API's OpenAPI document (the source of the frontend's generated types).

python scripts/openapi.py [FILE]      # default: src/api/openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jupyterlab_mlops.handlers.openapi import build_openapi

target = Path(sys.argv[1] if len(sys.argv) > 1 else "src/api/openapi.json")
target.parent.mkdir(parents=True, exist_ok=True)
target.write_text(json.dumps(build_openapi(), indent=2) + "\n")
print(f"wrote {target}")
