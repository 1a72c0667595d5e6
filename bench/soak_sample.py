#!/usr/bin/env python3
"""The soak's recorder: every EVERY seconds, the gateway's RSS and open file descriptors, the
requests it logged so far by status, the portal requests the sandbox counted and the entries
in the gateway's caches (from SOAK_METRICS_URL, its Prometheus metrics); one CSV row and one
printed table row each time. It also searches every new log line for the webhook code.

    SOAK_WEBHOOK_CODE=... soak_sample.py PID LOG SANDBOX_URL CSV EVERY MAX_SECS

Stops by itself after MAX_SECS, or on SIGTERM after one last sample. Reads the log as it grows,
whole lines only, from where it left off.
"""

import json
import os
import re
import signal
import sys
import time
import urllib.request

COLUMNS = ["t_s", "rss_kb", "fds", "requests", "rps", "s2xx", "s4xx", "s500", "s502", "s503",
           "s504", "s5xx_other", "portal_requests", "log_leaks", "cache_entries"]
CACHE_ENTRIES = re.compile(rb"^b24_gateway_cache_entries (\d+)$", re.M)
STATUS = re.compile(rb'"message":"request".*?"status":(\d+)')


class LogCounter:
    """Counts request lines by status and lines holding the code, reading only what is new."""

    def __init__(self, path, code):
        self.path, self.code = path, code.encode()
        self.offset, self.rest = 0, b""
        self.statuses, self.leaks = {}, 0

    def read(self):
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        self.offset += len(chunk)
        lines = (self.rest + chunk).split(b"\n")
        self.rest = lines.pop()  # an unfinished line waits for the next read
        for line in lines:
            if self.code in line:
                self.leaks += 1
            found = STATUS.search(line)
            if found:
                status = int(found.group(1))
                self.statuses[status] = self.statuses.get(status, 0) + 1


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def portal_requests(sandbox):
    try:
        with urllib.request.urlopen(f"{sandbox}/_sandbox/stats", timeout=5) as answer:
            return json.load(answer)["requests"]
    except OSError:
        return -1  # the sandbox was busy past the timeout: a gap, not a zero


def cache_entries():
    url = os.environ.get("SOAK_METRICS_URL")
    if not url:
        return -1
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            found = CACHE_ENTRIES.search(answer.read())
            return int(found.group(1)) if found else -1
    except OSError:
        return -1  # a gap, not a zero


def main():
    pid, log, sandbox, csv_path = sys.argv[1:5]
    every, max_secs = float(sys.argv[5]), float(sys.argv[6])
    counter = LogCounter(log, os.environ["SOAK_WEBHOOK_CODE"])
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    started = time.monotonic()
    previous = (0.0, 0)
    with open(csv_path, "w") as csv:
        csv.write(",".join(COLUMNS) + "\n")
        print(" ".join(f"{c:>9}" for c in COLUMNS), flush=True)
        tick = 1
        while True:
            # Sleep in short steps so SIGTERM is answered quickly.
            while not stopping and time.monotonic() - started < min(tick * every, max_secs):
                time.sleep(0.2)
            now = time.monotonic() - started
            counter.read()
            s = counter.statuses
            requests = sum(s.values())
            five = {code: n for code, n in s.items() if code >= 500}
            row = {
                "t_s": round(now), "rss_kb": rss_kb(pid), "fds": len(os.listdir(f"/proc/{pid}/fd")),
                "requests": requests, "rps": round((requests - previous[1]) / max(now - previous[0], 0.001)),
                "s2xx": sum(n for code, n in s.items() if 200 <= code < 300),
                "s4xx": sum(n for code, n in s.items() if 400 <= code < 500),
                "s500": five.get(500, 0), "s502": five.get(502, 0), "s503": five.get(503, 0),
                "s504": five.get(504, 0),
                "s5xx_other": sum(n for code, n in five.items() if code not in (500, 502, 503, 504)),
                "portal_requests": portal_requests(sandbox), "log_leaks": counter.leaks,
                "cache_entries": cache_entries(),
            }
            previous = (now, requests)
            csv.write(",".join(str(row[c]) for c in COLUMNS) + "\n")
            csv.flush()
            print(" ".join(f"{row[c]:>9}" for c in COLUMNS), flush=True)
            tick += 1
            if stopping or now >= max_secs:
                return


if __name__ == "__main__":
    main()
