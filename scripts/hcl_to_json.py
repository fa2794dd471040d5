"""Parse Terraform files with python-hcl2 (an HCL parser independent of alertlab's hcl-rs) and print
them as one JSON object {file: body}, with HCL string quoting removed, for the tests to inspect.

Usage: python scripts/hcl_to_json.py FILE.tf...   (exit 1 with the parser's message on bad HCL)
"""
import json
import sys

import hcl2


def unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    return value


out = {}
for path in sys.argv[1:]:
    with open(path) as f:
        try:
            out[path] = unquote(hcl2.load(f))
        except Exception as e:  # the parser's own message is what the test should show
            print(f"{path}: {e}", file=sys.stderr)
            sys.exit(1)
print(json.dumps(out, indent=1, sort_keys=True))
