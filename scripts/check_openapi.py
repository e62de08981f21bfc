#!/usr/bin/env python3
"""Validates every OpenAPI document given on the command line (OpenAPI 3.1)."""
import sys

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

failed = 0
for path in sys.argv[1:]:
    try:
        spec, _ = read_from_filename(path)
        validate(spec)
        print(f"{path}: valid OpenAPI {spec.get('openapi')}")
    except Exception as e:  # report every document, then fail
        print(f"{path}: INVALID: {e}", file=sys.stderr)
        failed += 1
sys.exit(1 if failed else 0)
