#!/usr/bin/env python3
"""Times one hook decision the way Claude Code makes it: a process spawned with the tool call on
stdin. Interleaves iw, /bin/true (process creation alone) and the seed-style Python hook, 100
runs each, and prints medians in ms. Needs a release build; sets up the 26-agent example in a
temporary directory.

    python3 scripts/hook_timing.py
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IW = os.path.join(REPO, "target", "release", "iw")


def median_ms(cmd, stdin_path, runs=100):
    times = []
    for _ in range(runs):
        with open(stdin_path, "rb") as f:
            t = time.perf_counter()
            subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main():
    if not os.path.exists(IW):
        sys.exit("build first: cargo build --release")
    root = tempfile.mkdtemp(prefix="iw-hook-timing-")
    try:
        os.makedirs(os.path.join(root, "agents"))
        shutil.copy(
            os.path.join(REPO, "examples/instructor-workflow/agents/registry.yaml"),
            os.path.join(root, "agents/registry.yaml"),
        )
        subprocess.run([IW, "-C", root, "apply", "--yes"], check=True, stdout=subprocess.DEVNULL)
        call = os.path.join(root, "call.json")
        with open(call, "w") as f:
            json.dump(
                {
                    "tool_name": "Write",
                    "cwd": os.path.join(root, "agents/backend-agent"),
                    "tool_input": {"file_path": os.path.join(root, "tests/a.py"), "content": "x"},
                },
                f,
            )
        hook = [IW, "-C", root, "hook", "pre-tool-use", "--agent", "backend-agent"]
        seed = [sys.executable, os.path.join(REPO, "scripts/seed_hook.py")]
        for _ in range(2):
            print(
                "/bin/true %.2f ms   iw hook %.2f ms   seed-style Python hook %.2f ms"
                % (median_ms(["/bin/true"], call), median_ms(hook, call), median_ms(seed, call))
            )
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
