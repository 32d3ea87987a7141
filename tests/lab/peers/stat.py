#!/usr/bin/python3
"""Print one counter of sluice-dp's statistics JSON: stat.py FILE PATH (e.g.
starttls.stripped or flows.uninspected.starttls). Exit 1 when the path is missing."""
import json
import sys

if len(sys.argv) != 3:
    sys.exit(__doc__)
with open(sys.argv[1]) as f:
    v = json.load(f)
for key in sys.argv[2].split("."):
    if not isinstance(v, dict) or key not in v:
        sys.exit(f"{sys.argv[1]}: no counter {sys.argv[2]}")
    v = v[key]
print(v)
