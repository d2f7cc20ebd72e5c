#!/usr/bin/env python3
"""A re-creation of the seed's PreToolUse hook design (ARCHITECTURE.md §2.5, §4.2), written here
for one purpose: to time it on the same machine as `iw hook pre-tool-use` (scripts/perf.sh).

Like the seed's auto-deny.py: Python 3, JSON from stdin, substring checks on the raw path string,
a Bash check by substring, fail open on any error. Not used by iw.
"""
import json
import sys

FORBIDDEN = ["tests/", "test/", ".test.", ".spec.", "frontend/", "agents/"]


def check_write_permission(file_path):
    if "handoffs/" in file_path or ".project-context.md" in file_path:
        return True, "allowed"
    for needle in FORBIDDEN:
        if needle in file_path:
            return False, f"cannot write to {file_path} ({needle!r} is forbidden)"
    return True, "allowed"


def check_bash_permission(command):
    for needle in FORBIDDEN:
        if needle in command and (">" in command or "rm " in command):
            return False, f"bash command touches {needle!r}"
    return True, "allowed"


def main():
    try:
        data = json.load(sys.stdin)
        tool = data.get("tool_name", "")
        tool_input = data.get("tool_input", {})
        if tool in ("Write", "Edit", "MultiEdit"):
            ok, why = check_write_permission(tool_input.get("file_path", ""))
        elif tool == "Bash":
            ok, why = check_bash_permission(tool_input.get("command", ""))
        else:
            ok, why = True, "allowed"
        if not ok:
            print(why, file=sys.stderr)
            sys.exit(2)
        sys.exit(0)
    except SystemExit:
        raise
    except Exception as e:  # the seed fails open
        print(f"[AUTO-DENY] ERROR (failing open): {e}", file=sys.stderr)
        sys.exit(0)


if __name__ == "__main__":
    main()
