#!/usr/bin/env python3
"""Checks an `strace -f` log of the gateway against the systemd unit's sandbox.

    selfhost-trace-check.py UNIT TRACE

Without a systemd to start the unit under, this is how the hardening is tried on the real
binary: every system call the traced run made must be allowed by the unit's SystemCallFilter=
lines (groups expanded by `systemd-analyze syscall-filter`), every socket() must use a family
in RestrictAddressFamilies=, and no mapping may be writable and executable at once
(MemoryDenyWriteExecute=). Prints what it found; exits 1 on any breach.
"""

import re
import subprocess
import sys

# Allowed whatever the filter says (systemd.exec(5), SystemCallFilter=).
IMPLICIT = {"execve", "exit", "exit_group", "getrlimit", "rt_sigreturn", "sigreturn"}


def syscall_groups():
    out = subprocess.run(
        ["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True
    ).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.strip()
            groups[current] = set()
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].add(line.strip())
    return groups


def expand(names, groups, seen=None):
    seen = set() if seen is None else seen
    calls = set()
    for name in names:
        if name.startswith("@"):
            if name in seen:
                continue
            seen.add(name)
            calls |= expand(groups[name], groups, seen)
        else:
            calls.add(name)
    return calls


def unit_values(unit, key):
    values = []
    with open(unit, encoding="utf-8") as f:
        for line in f:
            if line.startswith(key + "="):
                values.append(line.split("=", 1)[1].strip())
    return values


def allowed_syscalls(unit, groups):
    allowed = None
    for value in unit_values(unit, "SystemCallFilter"):
        deny = value.startswith("~")
        names = expand(value.lstrip("~").split(), groups)
        if deny:
            allowed = (allowed if allowed is not None else set()) - names
        else:
            allowed = (allowed or set()) | names
    if allowed is None:
        sys.exit(f"{unit}: no SystemCallFilter= line")
    return allowed | expand(["@default"], groups) | IMPLICIT


def main():
    unit, trace = sys.argv[1], sys.argv[2]
    groups = syscall_groups()
    allowed = allowed_syscalls(unit, groups)
    families = set(" ".join(unit_values(unit, "RestrictAddressFamilies")).split())
    called, seen_families, wx = {}, set(), []
    first_call = re.compile(r"^\d+\s+([a-z0-9_]+)\((.*)")
    with open(trace, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = first_call.match(line)
            if not m:
                continue
            name, args = m.group(1), m.group(2)
            called[name] = called.get(name, 0) + 1
            if name in ("socket", "socketpair"):
                seen_families.add(args.split(",", 1)[0].strip())
            if name in ("mmap", "mprotect", "pkey_mprotect") and (
                "PROT_WRITE" in args and "PROT_EXEC" in args
            ):
                wx.append(line.strip())
    if not called:
        sys.exit(f"{trace}: no system calls found (was strace run?)")
    outside = sorted(set(called) - allowed)
    bad_families = sorted(seen_families - families)
    print(f"system calls made: {len(called)} kinds, {sum(called.values())} calls")
    print("socket families:", ", ".join(sorted(seen_families)) or "none")
    ok = True
    if outside:
        ok = False
        print("NOT allowed by SystemCallFilter=:", ", ".join(f"{n} ({called[n]}x)" for n in outside))
    if bad_families:
        ok = False
        print("socket families outside RestrictAddressFamilies=:", ", ".join(bad_families))
    if wx:
        ok = False
        print("writable and executable mappings (MemoryDenyWriteExecute=):", *wx[:5], sep="\n  ")
    print("sandbox check:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
