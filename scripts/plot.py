#!/usr/bin/env python3
"""Plots iw's times against the number of agents, from docs/perf/results.csv (written by
scripts/perf.sh), as one self-contained SVG (no plotting library needed) with two panels:
`iw plan` (and validate) on the left, the hook on the right (its own scale: milliseconds, flat).

    python3 scripts/plot.py docs/perf/results.csv docs/perf/plan-vs-n.svg
"""
import csv
import sys

PLAN = [
    ("plan_noop", "plan, no changes (lockfile proof)", "#1f77b4"),
    ("plan_noop_with_sessions", "plan, no changes, with sessions", "#17becf"),
    ("plan_noop_full", "plan, no changes, full (IW_NO_FAST_PATH=1)", "#9467bd"),
    ("plan_all_new", "plan, all files new", "#ff7f0e"),
    ("validate", "validate", "#2ca02c"),
]
HOOK = [
    ("hook_write_deny", "hook: Write denied", "#d62728"),
    ("hook_write_allow", "hook: Write allowed", "#2ca02c"),
    ("hook_bash", "hook: Bash analysed", "#1f77b4"),
]
W, H = 1000, 460


def series(rows, keys, minus=None):
    """The (n, median ms) points of each figure in `keys`, less `minus[n]` (or `minus[0]`, for
    an n without its own) when given."""
    minus = minus or {}
    data = {}
    for key, _, _ in keys:
        pts = sorted(
            (int(r["n"]), float(r["median_ms"]) - minus.get(int(r["n"]), minus.get(0, 0.0)))
            for r in rows
            if r["figure"] == key and int(r["n"]) > 0
        )
        if pts:
            data[key] = pts
    return data


def panel(out, x0, width, title, keys, data, ymin_top=None):
    """Draws one panel of width `width` starting at x `x0`."""
    L, R, T, B = 60, 15, 50, 60
    left, right = x0 + L, x0 + width - R
    xmax = max(n for pts in data.values() for n, _ in pts)
    ymax = max(ms for pts in data.values() for _, ms in pts) * 1.15
    if ymin_top:
        ymax = max(ymax, ymin_top)
    # A figure net of a baseline can come out below zero (the baseline's own noise): shown, not
    # clipped, with the zero line drawn.
    ymin = min(0.0, min(ms for pts in data.values() for _, ms in pts) * 1.15)
    sx = lambda n: left + (right - left) * n / xmax
    sy = lambda ms: H - B - (H - T - B) * (ms - ymin) / (ymax - ymin)
    out += [
        f'<text x="{(left + right) / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>',
        f'<line x1="{left}" y1="{H - B}" x2="{right}" y2="{H - B}" stroke="black"/>',
        f'<line x1="{left}" y1="{T}" x2="{left}" y2="{H - B}" stroke="black"/>',
        f'<text x="{(left + right) / 2}" y="{H - 20}" text-anchor="middle">agents (N)</text>',
        f'<text x="{x0 + 16}" y="{(T + H - B) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 {x0 + 16} {(T + H - B) / 2})">milliseconds (median)</text>',
    ]
    if ymin < 0:
        out.append(f'<line x1="{left}" y1="{sy(0)}" x2="{right}" y2="{sy(0)}" stroke="#888"/>')
    for i in range(6):
        n, ms = xmax * i / 5, ymin + (ymax - ymin) * i / 5
        out.append(f'<text x="{sx(n)}" y="{H - B + 18}" text-anchor="middle">{n:.0f}</text>')
        out.append(f'<text x="{left - 8}" y="{sy(ms) + 4}" text-anchor="end">{ms:.{0 if ymax > 10 else 2}f}</text>')
        out.append(f'<line x1="{left}" y1="{sy(ms)}" x2="{right}" y2="{sy(ms)}" stroke="#ddd"/>')
    shown = [k for k in keys if k[0] in data]
    for k, (key, label, color) in enumerate(shown):
        pts = data[key]
        path = " ".join(f"{sx(n):.1f},{sy(ms):.1f}" for n, ms in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for n, ms in pts:
            out.append(f'<circle cx="{sx(n):.1f}" cy="{sy(ms):.1f}" r="3" fill="{color}"/>')
        y = T + 10 + 17 * k
        out.append(f'<rect x="{left + 12}" y="{y - 9}" width="11" height="11" fill="{color}"/>')
        out.append(f'<text x="{left + 28}" y="{y + 1}">{label}</text>')


def main(src, dst):
    rows = list(csv.DictReader(open(src)))
    # The hook's figures are run through `sh -c` (stdin redirection): its cost is what remains
    # after the shell's own (figure sh_c_true), as issue 15's targets count it, measured right
    # after the hook's figures at the same n (the VM's speed drifts within minutes).
    sh = {int(r["n"]): float(r["median_ms"]) for r in rows if r["figure"] == "sh_c_true"}
    plan, hook = series(rows, PLAN), series(rows, HOOK, sh)
    if not plan:
        sys.exit("no plan figures in " + src)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
    ]
    panel(out, 0, W * 0.58, "iw plan and validate vs agents", PLAN, plan)
    if hook:
        title = "iw hook pre-tool-use vs agents" + (" (minus sh -c true)" if sh else "")
        panel(out, W * 0.58, W * 0.42, title, HOOK, hook, ymin_top=1.0)
    out.append("</svg>")
    open(dst, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
