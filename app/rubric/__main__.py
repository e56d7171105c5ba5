"""`python -m app.rubric [PATH]`: regenerate the rubric JSON Schema (default rubrics/)."""

import sys
from pathlib import Path

from .schema import write_json_schema


def main(argv: list[str]) -> int:
    """Write the schema to argv[0] or rubrics/rubric.schema.json."""
    target = Path(argv[0]) if argv else Path("rubrics") / "rubric.schema.json"
    write_json_schema(target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
