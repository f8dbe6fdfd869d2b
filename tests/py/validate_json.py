#!/usr/bin/env python3
"""Validate a JSON document against one of arco's schemas.

Usage: .venv/bin/python tests/py/validate_json.py SCHEMA.json DOC.json|-
Exit status: 0 valid, 1 invalid (every error printed with its JSON path).
"""

import json
import sys

from jsonschema import Draft202012Validator, FormatChecker


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    doc = json.load(sys.stdin) if sys.argv[2] == "-" else json.load(open(sys.argv[2]))
    Draft202012Validator.check_schema(schema)
    errors = sorted(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        print(f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
