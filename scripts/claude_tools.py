#!/usr/bin/env python3
"""Measures which tool names a Claude Code CLI knows, for src/claude/catalogue.rs.

Usage: scripts/claude_tools.py CLAUDE_BIN [CLAUDE_BIN...]  (prints JSON: version -> sorted names)

Method (docs/claude-code.md): Claude Code prints `Permission deny rule "X" matches no known tool`
at start for every deny rule that names no tool it has. The script collects every quoted
CamelCase word in the binaries as candidates, denies them all in one `--settings` document, runs
`claude -p` offline (a fresh HOME, an API address that refuses connections) and keeps the names
that drew no warning. Nothing is sent anywhere.
"""
import json
import os
import re
import subprocess
import sys
import tempfile


def strings(path):
    with open(os.path.realpath(path), "rb") as f:
        data = f.read()
    return set(m.decode() for m in re.findall(rb'"([A-Z][A-Za-z]{1,30})"', data))


def binary(claude):
    """The native binary behind the npm wrapper, whose strings hold the tool names."""
    real = os.path.realpath(claude)
    base = os.path.dirname(os.path.dirname(os.path.dirname(real)))
    native = os.path.join(base, "@anthropic-ai", "claude-code-linux-x64", "claude")
    return native if os.path.exists(native) else real


def known(claude, candidates):
    with tempfile.TemporaryDirectory() as home:
        settings = os.path.join(home, "deny.json")
        with open(settings, "w") as f:
            json.dump({"permissions": {"deny": sorted(candidates)}}, f)
        env = {
            "HOME": home,
            "PATH": os.environ.get("PATH", ""),
            "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
            "ANTHROPIC_API_KEY": "sk-ant-catalogue-probe",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_MAX_RETRIES": "0",
        }
        out = subprocess.run(
            [claude, "-p", "hi", "--settings", settings],
            cwd=home, env=env, capture_output=True, text=True, timeout=120,
        )
        text = out.stdout + out.stderr
        version = subprocess.run([claude, "--version"], env=env, capture_output=True,
                                 text=True).stdout.split()[0]
    warned = set(re.findall(r'deny rule "([^"]+)" matches no known tool', text))
    if not warned:
        sys.exit(f"{claude}: no warnings at all; the method does not work here:\n{text}")
    return version, sorted(candidates - warned)


def main():
    bins = sys.argv[1:]
    if not bins:
        sys.exit(__doc__)
    candidates = set()
    for b in bins:
        candidates |= strings(binary(b))
    result = {}
    for b in bins:
        version, names = known(b, candidates)
        result[version] = names
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
