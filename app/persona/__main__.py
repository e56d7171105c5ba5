"""`python -m app.persona [PATH]`: regenerate the persona JSON Schema (default personas/)."""

import sys
from pathlib import Path

from app.yamldoc import schema_main

from .schema import write_json_schema


def main(argv: list[str]) -> int:
    """Write the schema to argv[0] or personas/persona.schema.json."""
    return schema_main(argv, write_json_schema, Path("personas") / "persona.schema.json")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
