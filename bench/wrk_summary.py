"""Reads wrk output on stdin; prints requests/s, p50 and p99 (ms) and per-status counts as JSON."""
import json
import re
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def millis(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * UNITS[match.group(2)]


out = {"statuses": {}}
for line in sys.stdin:
    parts = line.split()
    if line.startswith("Requests/sec:"):
        out["rps"] = float(parts[1])
    elif len(parts) == 2 and parts[0] in ("50%", "99%"):
        out["p" + parts[0].rstrip("%")] = millis(parts[1])
    elif re.match(r"\s*\d+ requests in", line):
        out["requests"] = int(parts[0])
    elif line.strip().startswith("Non-2xx or 3xx responses:"):
        out["non2xx"] = int(parts[-1])
    elif line.startswith("status "):
        out["statuses"][parts[1]] = int(parts[2])
print(json.dumps(out))
