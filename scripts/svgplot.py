"""Grouped horizontal bar charts as standalone SVG, for the benchmark scripts (standard library only).

    python3 scripts/svgplot.py OUT.svg < chart.json

chart.json: {"title": str, "unit": str, "note": str,
             "groups": [{"label": str, "bars": [{"label": str, "value": float, "peer": bool}]}]}

Each group is one operation; its bars are the implementations measured in the same run. A bar
marked "peer" is drawn grey (the comparison the figures are relative to); the others in the
accent colour. Every bar carries its value, so the chart reads without the table.
"""

import json
import sys
from xml.sax.saxutils import escape

WIDTH = 760
LEFT = 210  # room for the bar labels
RIGHT = 110  # room for the value after the longest bar
BAR = 18
GAP = 6
GROUP_GAP = 18
TOP = 52
FONT = "font-family='system-ui, -apple-system, Segoe UI, sans-serif'"


def render(chart):
    groups = chart["groups"]
    largest = max(b["value"] for g in groups for b in g["bars"]) or 1
    scale = (WIDTH - LEFT - RIGHT) / largest
    y = TOP
    body = []
    for g in groups:
        body.append(
            f"<text x='12' y='{y + 13}' {FONT} font-size='14' font-weight='600'>{escape(g['label'])}</text>"
        )
        y += 22
        for b in g["bars"]:
            width = max(1.0, b["value"] * scale)
            colour = "#9e9e9e" if b.get("peer") else "#1565c0"
            body.append(
                f"<text x='{LEFT - 8}' y='{y + 13}' {FONT} font-size='13' text-anchor='end'>{escape(b['label'])}</text>"
            )
            body.append(
                f"<rect x='{LEFT}' y='{y}' width='{width:.1f}' height='{BAR}' fill='{colour}' rx='2'/>"
            )
            body.append(
                f"<text x='{LEFT + width + 6:.1f}' y='{y + 13}' {FONT} font-size='13'>{escape(format_value(b['value'], chart['unit']))}</text>"
            )
            y += BAR + GAP
        y += GROUP_GAP
    note_lines = wrap(chart.get("note", ""), 110)
    for line in note_lines:
        body.append(f"<text x='12' y='{y + 10}' {FONT} font-size='11' fill='#555'>{escape(line)}</text>")
        y += 15
    height = y + 12
    head = (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height}' "
        f"viewBox='0 0 {WIDTH} {height}'>"
        f"<rect width='100%' height='100%' fill='white'/>"
        f"<text x='12' y='26' {FONT} font-size='17' font-weight='700'>{escape(chart['title'])}</text>"
        f"<text x='12' y='44' {FONT} font-size='12' fill='#555'>{escape(chart['unit'])} (shorter is better; grey: the peer)</text>"
    )
    return head + "".join(body) + "</svg>\n"


def format_value(value, unit):
    if unit.startswith("ns"):
        return f"{value:,.0f} ns"
    return f"{value:,.1f} µs"


def wrap(text, width):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    svg = render(json.load(sys.stdin))
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        f.write(svg)
