"""Measuring helpers shared by bench/run and bench/overhead: wall time and whole-tree peak RSS and
PSS."""
from __future__ import annotations

import os
import subprocess
import time
from typing import Callable, NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_S = 0.2


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0  # a zombie has no VmRSS


def pss_kib(pid: int) -> int:
    """Proportional set size: private pages, plus each shared page divided by the processes
    sharing it (a forked worker's pages shared with its zygote count once over the two)."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def tree_rss_kib(root: int, of: Callable[[int], int] = rss_kib) -> int:
    """RSS (or `of`: pss_kib) of `root` and all its descendants, in KiB."""
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
            total += of(pid)
        except (OSError, ValueError):
            continue
        todo.extend(children.get(pid, []))
    return total


class Measured(NamedTuple):
    wall: float      # seconds
    rss: int         # peak of the tree's summed RSS, KiB (a page shared by N processes counts N times)
    status: int      # exit status
    pss: int         # peak of the tree's summed PSS, KiB (each page counted once over its sharers)


def measure(cmd: list, env: dict, log_path: str, sample: bool = True) -> Measured:
    """Run `cmd` to completion; with `sample`, sample its whole process tree every SAMPLE_S
    seconds for its peak RSS and PSS (else both are 0)."""
    with open(log_path, "wb") as log, open(log_path + ".stderr", "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=err)
        rss = pss = 0
        if not sample:
            proc.wait()
        while proc.poll() is None:
            rss = max(rss, tree_rss_kib(proc.pid))
            pss = max(pss, tree_rss_kib(proc.pid, pss_kib))
            time.sleep(SAMPLE_S)
        wall = time.monotonic() - started
    return Measured(wall, rss, proc.returncode, pss)


class Apart(NamedTuple):
    timed: Measured      # the run that gives the wall time: nothing sampled it
    sampled: Measured    # the run that gives the peak memory (its wall time is longer)


def measure_apart(cmd: list, env: dict, log_path: str) -> Apart:
    """Run `cmd` twice: once timed with no sampler, once sampled for its peak memory.

    The sampler reads every process's smaps_rollup (a walk of its page tables) and scans /proc
    five times a second, on the same cores as the program. On 2 cores that cost 3.1-3.3 s of CPU
    during a 20 s checker run (four processes of about 500 MB) and made it 2.4-3.0 s slower; a
    one-process script pays less for it. Timed apart, neither program pays for being watched."""
    timed = measure(cmd, env, log_path, sample=False)
    sampled = measure(cmd, env, log_path + ".sampled", sample=True)
    return Apart(timed, sampled)


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
