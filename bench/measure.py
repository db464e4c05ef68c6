"""Measuring helpers shared by bench/run and bench/overhead: wall time and whole-tree peak RSS."""
from __future__ import annotations

import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_S = 0.2


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0  # a zombie has no VmRSS


def tree_rss_kib(root: int) -> int:
    """RSS of `root` and all its descendants, in KiB."""
    children: dict = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:  # exited while scanning
            continue
        # The command name may hold spaces and parentheses: the fields follow the last ')'.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            total += rss_kib(pid)
        except (OSError, ValueError):
            continue
        todo.extend(children.get(pid, []))
    return total


def measure(cmd: list, env: dict, log_path: str) -> tuple[float, int, int]:
    """Run `cmd` to completion: (wall seconds, peak tree RSS in KiB, exit status)."""
    with open(log_path, "wb") as log, open(log_path + ".stderr", "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=err)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss_kib(proc.pid))
            time.sleep(SAMPLE_S)
        wall = time.monotonic() - started
    return wall, peak, proc.returncode


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    except OSError:
        pass
    mem_kib = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kib = next((int(line.split()[1]) for line in f if line.startswith("MemTotal:")), 0)
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0))
    return f"{cores} cores, {model}, {mem_kib / 2**20:.1f} GiB"
