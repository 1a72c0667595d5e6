#!/usr/bin/env python3
"""The soak's verdict, from the recorder's CSV and wrk's outputs (bench/soak.lua's counts):

    soak_verdict.py CSV DURATION WARMUP LAST_PHASE MIN_RATE WRK_OUTPUT...

Pass when, together:
  - RSS and open file descriptors grow less than SOAK_MAX_GROWTH (default 10 %) under load:
    the lower quartile of the samples in the WARMUP seconds right after warm-up against that
    of the last WARMUP seconds before the last phase (LAST_PHASE seconds, when the gateway's
    portal calls are paused). The lower quartile, because a leak lifts the floor, while
    transient buffers (a 2 MiB fault answer read up to the 1 MiB cap, a slow fault holding
    many connections) only add spikes for a sample or two;
  - and they do not grow past the run's own envelope in the last phase: its median stays
    within SOAK_MAX_GROWTH of the highest sample between warm-up and the last phase. (Not its
    floor against the first one: with every portal call paused the load no longer varies, so
    RSS stays wherever the allocator happened to be when the phase began, anywhere between
    the run's floor and its peaks.)
  - no answer had status 500 (wrk's counts and the gateway's log lines);
  - the webhook code was in no answer (body or header, every answer wrk read) and no log line;
  - wrk's average rate reached MIN_RATE requests/s.
Prints a summary and one PASS/FAIL line per check, then `soak: PASS` or `soak: FAIL`; exits 1
on a failure.
"""

import csv
import os
import re
import statistics
import sys

GROWTH_LIMIT = float(os.environ.get("SOAK_MAX_GROWTH", "0.10"))
UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def read_wrk(path):
    text = open(path).read()
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h),", text)
    seconds = float(done.group(2)) * UNITS[done.group(3)] if done else 0.0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "requests": int(done.group(1)) if done else 0,
        "seconds": seconds,
        "statuses": {int(s): int(n) for s, n in re.findall(r"^status (\d+) (\d+)$", text, re.M)},
        "leaks": sum(int(n) for n in re.findall(r"^leaks (\d+)$", text, re.M)),
        "socket_errors": [int(n) for n in errors.groups()] if errors else [0, 0, 0, 0],
    }


def main():
    csv_path, duration, warmup, last_phase, min_rate = sys.argv[1], *map(float, sys.argv[2:6])
    runs = [read_wrk(path) for path in sys.argv[6:]]
    rows = [{k: int(v) for k, v in row.items()} for row in csv.DictReader(open(csv_path))]
    last = rows[-1]
    end_t = last["t_s"]
    after = [r for r in rows if warmup <= r["t_s"] < 2 * warmup] or [r for r in rows if r["t_s"] >= warmup][:1]
    before_last = [r for r in rows if end_t - last_phase - warmup < r["t_s"] <= end_t - last_phase] or rows[-1:]
    envelope = [r for r in rows if warmup <= r["t_s"] <= end_t - last_phase] or rows[:1]
    last_phase_rows = [r for r in rows if r["t_s"] > end_t - last_phase] or rows[-1:]

    def floor(rows, column):
        values = sorted(r[column] for r in rows)
        return statistics.quantiles(values, n=4, method="inclusive")[0] if len(values) > 1 else values[0]

    def median(rows, column):
        return statistics.median(r[column] for r in rows)

    def growth(column, level=floor):
        base = level(after, column)
        end = level(before_last, column)
        return base, end, end / base - 1 if base else float("inf")

    def past_envelope(column):
        top = max(r[column] for r in envelope)
        end = median(last_phase_rows, column)
        return top, end, end / top - 1 if top else float("inf")

    requests = sum(run["requests"] for run in runs)
    seconds = sum(run["seconds"] for run in runs)
    rate = requests / seconds if seconds else 0.0
    statuses = {}
    for run in runs:
        for status, n in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    five = {s: n for s, n in sorted(statuses.items()) if s >= 500}
    answer_leaks = sum(run["leaks"] for run in runs)
    socket_errors = [sum(run["socket_errors"][i] for run in runs) for i in range(4)]
    portal = max(r["portal_requests"] for r in rows)  # -1 marks a sample the sandbox missed
    rss, fds = growth("rss_kb"), growth("fds")
    rss_median = growth("rss_kb", median)
    rss_last, fds_last = past_envelope("rss_kb"), past_envelope("fds")

    print(f"duration {end_t} s, warm-up {warmup:.0f} s, {len(rows)} samples")
    print(f"requests (wrk): {requests} in {seconds:.1f} s = {rate:.0f}/s; logged by the gateway: {last['requests']}")
    print(f"answers by status (wrk): {', '.join(f'{s}: {n}' for s, n in sorted(statuses.items()))}")
    print(f"5xx by status (wrk): {five or 'none'}; in the gateway's log: 500: {last['s500']}, 502: {last['s502']}, "
          f"503: {last['s503']}, 504: {last['s504']}, other: {last['s5xx_other']}")
    print(f"wrk socket errors: connect {socket_errors[0]}, read {socket_errors[1]}, write {socket_errors[2]}, "
          f"timeout {socket_errors[3]}")
    print(f"portal requests: {portal} = {1000 * portal / max(requests, 1):.2f} per 1,000 caller requests "
          f"(a batch is one); in the last phase: {portal - max(r['portal_requests'] for r in rows if r['t_s'] <= end_t - last_phase)}")
    print(f"RSS, lower quartile: {rss[0] / 1024:.1f} MiB after warm-up -> {rss[1] / 1024:.1f} MiB before the "
          f"last phase ({100 * rss[2]:+.1f} %); median: {rss_median[0] / 1024:.1f} -> {rss_median[1] / 1024:.1f} MiB "
          f"({100 * rss_median[2]:+.1f} %); first sample {rows[0]['rss_kb'] / 1024:.1f} MiB, "
          f"highest {max(r['rss_kb'] for r in rows) / 1024:.1f} MiB")
    print(f"RSS in the last phase: median {rss_last[1] / 1024:.1f} MiB against the highest sample before it, "
          f"{rss_last[0] / 1024:.1f} MiB ({100 * rss_last[2]:+.1f} %); at the very end, lower quartile "
          f"{floor([r for r in rows if r['t_s'] > end_t - warmup] or rows[-1:], 'rss_kb') / 1024:.1f} MiB")
    print(f"open fds, lower quartile: {fds[0]:.0f} after warm-up -> {fds[1]:.0f} before the last phase "
          f"({100 * fds[2]:+.1f} %); last phase median {fds_last[1]:.0f} against the highest before it, "
          f"{fds_last[0]:.0f}; highest {max(r['fds'] for r in rows)}")

    checks = [
        (f"RSS growth after warm-up < {GROWTH_LIMIT:.0%}", rss[2] < GROWTH_LIMIT),
        (f"open fd growth after warm-up < {GROWTH_LIMIT:.0%}", fds[2] < GROWTH_LIMIT),
        (f"last phase within {GROWTH_LIMIT:.0%} of the run's highest RSS and fds",
         rss_last[2] < GROWTH_LIMIT and fds_last[2] < GROWTH_LIMIT),
        ("no status 500", statuses.get(500, 0) == 0 and last["s500"] == 0),
        ("webhook code in no answer and no log line", answer_leaks == 0 and last["log_leaks"] == 0),
        (f"average rate >= {min_rate:.0f} requests/s", rate >= min_rate),
    ]
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {name}")
    passed = all(ok for _, ok in checks)
    print(f"soak: {'PASS' if passed else 'FAIL'}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
