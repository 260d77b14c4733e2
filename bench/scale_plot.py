"""The SVG plot of `bench/scale.py`: seconds per component, and peak RSS,
against the number of digits, both axes logarithmic (a slope of 1 is linear
growth)."""
import math
from typing import Dict, List, Sequence
from xml.sax.saxutils import escape

_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
_W, _H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 380, 300, 56, 12, 30, 44
_FONT = 'font-family="sans-serif" font-size="11"'
RSS_TARGET_GIB = 4  # the target for peak RSS at 10x MNIST (docs/performance.md)


def _panel(x0: int, title: str, series: Dict[str, List[tuple]], unit: str, dashed: Sequence[str] = ()) -> List[str]:
    points = [p for line in series.values() for p in line if p[1] > 0]
    if not points:
        return []
    lx = [math.log10(p[0]) for p in points]
    ly = [math.log10(p[1]) for p in points]
    x_lo, x_hi = min(lx) - 0.05, max(lx) + 0.05
    # Half a decade of headroom keeps the top-left legend off the lines.
    y_lo, y_hi = math.floor(min(ly)), math.ceil(max(ly) + 0.5)
    inner_w, inner_h = _W - _PAD_L - _PAD_R, _H - _PAD_T - _PAD_B

    def at(x, y):
        return (x0 + _PAD_L + (math.log10(x) - x_lo) / (x_hi - x_lo) * inner_w,
                _PAD_T + (y_hi - math.log10(y)) / (y_hi - y_lo) * inner_h)

    out = [f'<text x="{x0 + _W / 2}" y="16" text-anchor="middle" {_FONT} font-weight="bold">{escape(title)}</text>']
    for decade in range(y_lo, y_hi + 1):
        _, y = at(10 ** x_lo, 10 ** decade)
        out.append(f'<line x1="{x0 + _PAD_L}" x2="{x0 + _W - _PAD_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 + _PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{10 ** decade:g} {unit}</text>')
    for x in sorted({p[0] for p in points}):
        px, _ = at(x, 10 ** y_lo)
        out.append(f'<text x="{px:.1f}" y="{_H - _PAD_B + 14}" text-anchor="middle" {_FONT}>{x / 1000:,.0f}k</text>')
    out.append(f'<text x="{x0 + _PAD_L + inner_w / 2}" y="{_H - 8}" text-anchor="middle" {_FONT}>digits (train + eval)</text>')
    for i, (name, line) in enumerate(series.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        xy = [at(x, y) for x, y in line if y > 0]
        dash = ' stroke-dasharray="5,4"' if name in dashed else ""
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="'
                   + " ".join(f"{px:.1f},{py:.1f}" for px, py in xy) + '"/>')
        if not dash:
            out += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>' for px, py in xy]
        out.append(f'<text x="{x0 + _PAD_L + 6}" y="{_PAD_T + 12 + 13 * i}" {_FONT} fill="{colour}">{escape(name)}</text>')
    return out


def write_svg(results: List[dict], path: str, components: int = 5) -> None:
    """`results` sorted by size; the `components` slowest components are drawn."""
    last = results[-1]["components"]
    slowest = sorted(last, key=lambda n: -last[n]["seconds"])[:components]
    times = {n: [(r["examples"], r["components"].get(n, {}).get("seconds", 0)) for r in results]
             for n in slowest}
    memory = {"pipeline process": [(r["examples"], r["peak_rss_main_gib"]) for r in results]}
    if any(r["peak_rss_children_gib"] > 0 for r in results):
        memory["child processes"] = [(r["examples"], r["peak_rss_children_gib"]) for r in results]
    if all("peak_rss_together_gib" in r for r in results):
        memory["both at one instant"] = [(r["examples"], r["peak_rss_together_gib"]) for r in results]
    target = f"target at 10x: {RSS_TARGET_GIB:g} GiB"
    memory[target] = [(r["examples"], RSS_TARGET_GIB) for r in results]
    body = _panel(0, "wall time per component (1 epoch)", times, "s")
    body += _panel(_W, "peak RSS", memory, "GiB", dashed=[target])
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * _W}" height="{_H}" '
                f'viewBox="0 0 {2 * _W} {_H}"><rect width="100%" height="100%" fill="white"/>'
                + "".join(body) + "</svg>\n")
