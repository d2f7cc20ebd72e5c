#!/usr/bin/env python3
"""Idle CPU and refresh latency of `iw watch` with 26 agents (docs/PERFORMANCE.md).

Usage: scripts/watch_timing.py IW_BIN [SECONDS=30] [SAMPLES=20]

A copy of examples/instructor-workflow with all 26 agents as sessions (`sleep`, so that only iw
is measured) on a private tmux socket; `iw watch` runs in a pane of a second private tmux server.
Idle CPU: the watch process's user+system time over SECONDS with nothing happening, from
/proc/PID/stat. Refresh latency: from an activity event (`iw hook status`, as Claude Code calls it)
to the pane showing it, read with capture-pane every 5 ms; SAMPLES events, median and max.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tmux(sock, *args):
    return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True).stdout


def main():
    iw = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    work = tempfile.mkdtemp(prefix="iw-watch-")
    root = os.path.join(work, "p")
    os.makedirs(os.path.join(root, "agents"))
    reg = os.path.join(REPO, "examples/instructor-workflow/agents/registry.yaml")
    shutil.copy(reg, os.path.join(root, "agents/registry.yaml"))
    names = re.findall(r"^  ([a-z0-9-]+):\s*$", open(reg).read(), re.M)
    agents, ui = f"iw-wt-a-{os.getpid()}", f"iw-wt-u-{os.getpid()}"
    with open(os.path.join(root, "sessions.yaml"), "w") as f:
        f.write(f"socket: {agents}\ncommand: sleep 100000\nsessions:\n")
        f.writelines(f"  {n}: {{}}\n" for n in names)
    env = dict(os.environ, NO_COLOR="1")
    subprocess.run([iw, "-C", root, "apply", "--yes"], env=env, check=True, capture_output=True)
    try:
        tmux(ui, "new-session", "-d", "-s", "w", "-x", "160", "-y", "50",
             "env", "-u", "TMUX", iw, "-C", root, "watch")
        time.sleep(3)
        pid = int(tmux(ui, "display", "-p", "-t", "=w:", "#{pane_pid}").strip())
        tick = os.sysconf("SC_CLK_TCK")

        def cpu():
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / tick

        c0, t0 = cpu(), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu(), time.monotonic()
        idle = (c1 - c0) / (t1 - t0) * 100
        lat = []
        for i in range(samples):
            agent = names[i % len(names)]
            msg = f"probe-{i}-{os.getpid()}"
            event = ('{"hook_event_name":"Notification","session_id":"s","message":"%s"}' % msg)
            start = time.monotonic()
            subprocess.run([iw, "-C", root, "hook", "status", "--agent", agent],
                           input=event, text=True, env=env, check=True)
            while msg not in tmux(ui, "capture-pane", "-p", "-t", "=w:"):
                if time.monotonic() - start > 10:
                    sys.exit(f"{msg} never shown")
                time.sleep(0.005)
            lat.append((time.monotonic() - start) * 1000)
            # Back to idle, so that the next event is a change again.
            subprocess.run([iw, "-C", root, "hook", "status", "--agent", agent],
                           input='{"hook_event_name":"Stop","session_id":"s"}', text=True,
                           env=env, check=True)
            time.sleep(0.3)
        print(f"26 agents: idle CPU {idle:.2f}% over {seconds:.0f} s; refresh latency "
              f"median {statistics.median(lat):.0f} ms, max {max(lat):.0f} ms ({samples} events)")
    finally:
        tmux(ui, "kill-server")
        tmux(agents, "kill-server")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
