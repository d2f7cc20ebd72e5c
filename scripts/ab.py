#!/usr/bin/env python3
"""Compares two commands by running them alternately (A B, then B A, ...), so that a drift in
the machine's speed falls on both alike; prints each one's median and the median of the paired
ratios B/A. On a VM whose speed drifts by 10-15 % within minutes, back-to-back batches (what
hyperfine does with two commands) can disagree by more than the change being measured.

    scripts/ab.py RUNS 'CMD_A' 'CMD_B' ['PREPARE']

PREPARE (a shell command) runs before every run of either, e.g. removing what an apply wrote.
Each command needs a project of its own when the binary's path is part of what it writes (iw's
generated settings.json names the hook binary), e.g.:

    scripts/ab.py 16 '/tmp/old/iw -C /dev/shm/a apply --yes' '/tmp/new/iw -C /dev/shm/b apply --yes' \
        'rm -rf /dev/shm/[ab]/agents/*/.claude /dev/shm/[ab]/state'
"""
import statistics
import subprocess
import sys
import time


def run(command, prepare):
    if prepare:
        subprocess.run(prepare, shell=True, check=True)
    start = time.perf_counter()
    subprocess.run(command, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    runs, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    prepare = sys.argv[4] if len(sys.argv) == 5 else None
    times = {a: [], b: []}
    for i in range(runs):
        for command in (a, b) if i % 2 == 0 else (b, a):
            times[command].append(run(command, prepare))
    ratios = [y / x for x, y in zip(times[a], times[b])]
    ms = lambda t: f"{statistics.median(t) * 1000:.1f} ms"
    print(f"A median {ms(times[a])}, B median {ms(times[b])}; "
          f"B/A paired median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}), {runs} pairs")


if __name__ == "__main__":
    main()
