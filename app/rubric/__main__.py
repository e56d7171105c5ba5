"""`python -m app.rubric [PATH]`: regenerate the rubric JSON Schema (default rubrics/)."""

import sys
from pathlib import Path

from app.yamldoc import schema_main

from .schema import write_json_schema


def main(argv: list[str]) -> int:
    """Write the schema to argv[0] or rubrics/rubric.schema.json."""
    return schema_main(argv, write_json_schema, Path("rubrics") / "rubric.schema.json")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
