#!/usr/bin/env python3
"""Time from `iw apply` to every Claude Code agent of the 26-agent example ready.

Usage: scripts/ready_timing.py IW_BIN CLAUDE_BIN [RUNS=5]   (docs/PERFORMANCE.md)

Sets up a copy of examples/instructor-workflow with a sessions.yaml that runs all 26 agents with
the default command (interactive Claude Code), offline: a throwaway HOME where the first-run setup
is done and the project root trusted (`iw trust`), and a local mock of the Messages API that
answers "Done.". Each run kills the project's tmux server (its own socket), then times
`iw apply --yes`, which returns once every session reported SessionStart. Prints, per run and as
medians: the wall time of apply, the slowest "ready in", and iw's own CPU time (user+sys of the
iw process and the tmux clients it ran; Claude Code and the tmux server are not iw).
"""
import http.server
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Mock(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, body, ctype="application/json"):
        self.send_response(200)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.reply(b"")

    def do_GET(self):
        self.reply(b"{}")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.reply(json.dumps({
            "id": "m", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}).encode())


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    iw, claude = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Mock)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp(prefix="iw-ready-")
    root = os.path.join(work, "project")
    home = os.path.join(work, "home")
    os.makedirs(os.path.join(root, "agents"))
    os.makedirs(home)
    registry = os.path.join(REPO, "examples/instructor-workflow/agents/registry.yaml")
    shutil.copy(registry, os.path.join(root, "agents/registry.yaml"))
    names = re.findall(r"^  ([a-z0-9-]+):\s*$", open(registry).read(), re.M)
    key = "sk-ant-ready-timing-0123456789"
    with open(os.path.join(home, ".claude.json"), "w") as f:
        json.dump({"hasCompletedOnboarding": True,
                   "customApiKeyResponses": {"approved": [key[-20:]], "rejected": []}}, f)
    socket = f"iw-ready-{os.getpid()}"
    env = {
        "HOME": home,
        "PATH": os.path.dirname(claude) + ":" + os.environ.get("PATH", ""),
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{server.server_port}",
        "ANTHROPIC_API_KEY": key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    with open(os.path.join(root, "sessions.yaml"), "w") as f:
        f.write(f"socket: {socket}\nready_timeout: 5m\nenv: {json.dumps(env)}\nsessions:\n")
        f.writelines(f"  {n}: {{}}\n" for n in names)
    run_env = dict(os.environ, NO_COLOR="1")
    subprocess.run([iw, "-C", root, "trust"], env=run_env, check=True, capture_output=True)
    print(f"{len(names)} agents, {runs} runs, Claude Code "
          + subprocess.run([claude, "--version"], capture_output=True, text=True,
                           env=dict(os.environ, HOME=home)).stdout.strip())
    walls, slowest, cpus = [], [], []
    try:
        for i in range(runs):
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
            time.sleep(1)
            shutil.rmtree(os.path.join(root, "state/activity"), ignore_errors=True)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            out = subprocess.run([iw, "-C", root, "apply", "--yes", "--no-diff"], env=run_env,
                                 capture_output=True, text=True)
            wall = time.monotonic() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if out.returncode != 0:
                sys.exit(f"apply failed:\n{out.stdout}\n{out.stderr}")
            ready = [float(x) for x in re.findall(r"ready in ([0-9.]+)s", out.stdout)]
            if len(ready) != len(names):
                sys.exit(f"{len(ready)} of {len(names)} ready:\n{out.stdout}")
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            walls.append(wall)
            slowest.append(max(ready))
            cpus.append(cpu)
            print(f"run {i + 1}: apply {wall:.2f} s, slowest ready {max(ready):.1f} s, "
                  f"iw CPU {cpu * 1000:.0f} ms")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"median: apply {statistics.median(walls):.2f} s, slowest ready "
          f"{statistics.median(slowest):.1f} s, iw CPU {statistics.median(cpus) * 1000:.0f} ms "
          f"({statistics.median(cpus) / statistics.median(walls) * 100:.1f}% of the wall time)")


if __name__ == "__main__":
    main()
