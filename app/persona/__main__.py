"""`python -m app.persona [PATH]`: regenerate the persona JSON Schema (default personas/)."""

import sys
from pathlib import Path

from .schema import write_json_schema


def main(argv: list[str]) -> int:
    """Write the schema to argv[0] or personas/persona.schema.json."""
    target = Path(argv[0]) if argv else Path("personas") / "persona.schema.json"
    write_json_schema(target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
