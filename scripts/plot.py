#!/usr/bin/env python3
"""Plots `iw plan` time against the number of agents, from docs/perf/results.csv (written by
scripts/perf.sh), as a self-contained SVG (no plotting library needed).

    python3 scripts/plot.py docs/perf/results.csv docs/perf/plan-vs-n.svg
"""
import csv
import sys

SERIES = [
    ("plan_noop", "iw plan, no changes (proven by the lockfile)", "#1f77b4"),
    ("plan_noop_full", "iw plan, no changes, full comparison (IW_NO_FAST_PATH=1)", "#9467bd"),
    ("plan_all_new", "iw plan, all files new", "#ff7f0e"),
    ("validate", "iw validate", "#2ca02c"),
]


def main(src, dst):
    rows = list(csv.DictReader(open(src)))
    data = {}
    for key, _, _ in SERIES:
        pts = sorted(
            (int(r["n"]), float(r["median_ms"]))
            for r in rows
            if r["figure"] == key and int(r["n"]) > 0
        )
        if pts:
            data[key] = pts
    if not data:
        sys.exit("no plan figures in " + src)
    W, H, L, R, T, B = 720, 440, 70, 20, 40, 60
    xmax = max(n for pts in data.values() for n, _ in pts)
    ymax = max(ms for pts in data.values() for _, ms in pts) * 1.1
    sx = lambda n: L + (W - L - R) * n / xmax
    sy = lambda ms: H - B - (H - T - B) * ms / ymax
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">'
        "iw: time vs number of agents (median, release build)</text>",
        f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
        f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
        f'<text x="{(L + W - R) / 2}" y="{H - 20}" text-anchor="middle">agents (N)</text>',
        f'<text x="18" y="{(T + H - B) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {(T + H - B) / 2})">milliseconds</text>',
    ]
    for i in range(6):
        n = xmax * i / 5
        ms = ymax * i / 5
        out.append(f'<text x="{sx(n)}" y="{H - B + 18}" text-anchor="middle">{n:.0f}</text>')
        out.append(f'<text x="{L - 8}" y="{sy(ms) + 4}" text-anchor="end">{ms:.0f}</text>')
        out.append(
            f'<line x1="{L}" y1="{sy(ms)}" x2="{W - R}" y2="{sy(ms)}" stroke="#ddd"/>'
        )
    for k, (key, label, color) in enumerate(SERIES):
        pts = data.get(key)
        if not pts:
            continue
        path = " ".join(f"{sx(n):.1f},{sy(ms):.1f}" for n, ms in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for n, ms in pts:
            out.append(f'<circle cx="{sx(n):.1f}" cy="{sy(ms):.1f}" r="3" fill="{color}"/>')
        y = T + 10 + 18 * k
        out.append(f'<rect x="{L + 15}" y="{y - 9}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{L + 33}" y="{y + 1}">{label}</text>')
    out.append("</svg>")
    open(dst, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
