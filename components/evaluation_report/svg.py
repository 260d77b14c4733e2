"""Charts as inline SVG strings: bars, grouped bars, a heatmap with counts, lines.

No plotting library: the page must render anywhere without fetching anything,
and matplotlib is not among the project's dependencies. Every chart carries a
<title> per mark, so hovering shows the exact number.

Each chart comes back as `Markup`: the report's template autoescapes everything
else, and this module is the one place that builds markup from text, so every
text it puts in (labels, names, formatted numbers) goes through `escape` here.

Accuracy axes may start above 0 (`axis_floor`): a chart of 98-100% values on
a 0-100% axis shows ten identical bars. A zoomed axis says so on the chart.
"""
import math
from typing import Dict, Iterable, List, Optional, Sequence

# Jinja's own escaping (markupsafe ships with it), so a text reads the same in
# a chart as anywhere else on the page.
from markupsafe import Markup, escape

# Colour-blind-safe (Okabe-Ito) series colours.
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'
_CHAR_WIDTH = 6.2  # an 11px system-ui character, on average: enough to right-align a legend
# Tick labels stand this far left of the plot, clear of a cut axis's break mark.
_TICK_GAP = 10
# A white outline behind a number, so it stays legible over a line.
_HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"'


def _svg(width: int, height: int, body: List[str], label: str) -> Markup:
    return Markup(
        # Inline in HTML: no xmlns needed, so the page holds no URL at all.
        f'<svg width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
        f'<title>{escape(label)}</title>{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {_FONT} {extra}>{escape(text)}</text>'


def _ticks(top: float, bottom: float = 0.0) -> List[float]:
    """Five evenly spaced gridline values from `bottom` to `top`."""
    return [bottom + (top - bottom) * i / 4 for i in range(5)]


# Axis spans tried by `axis_floor`, narrowest first: with five gridlines they
# step by 0.5, 1, 2.5 or 5 points, so every tick reads as a round percentage.
# None is wider than 20 points: on an 80-100% axis a 70% digit would be a
# stub beside 99% ones, exaggerating a 1.4x gap into a 4x one.
_SPANS = (0.02, 0.04, 0.1, 0.2)


def axis_floor(values: Iterable[Optional[float]], top: float = 1.0, marks: Iterable[Optional[float]] = ()) -> float:
    """The lowest gridline for values up to `top`: the narrowest span whose
    floor leaves the smallest value (or mark, e.g. a threshold line, which must
    stay in view) a tenth of the plot's height, so no bar shrinks to nothing.
    When the smallest is under 82%, the axis starts at 0: zooming into
    spread-out, lower values would exaggerate differences, not reveal them."""
    points = [v for v in (*values, *marks) if v is not None]
    if not points:
        return 0.0
    low = min(points)
    for span in _SPANS:
        if low - (top - span) >= 0.1 * span:
            return top - span
    return 0.0


def _floor_note(bottom: float, fmt: str, x: float, y: float) -> str:
    """Says on the chart that its axis does not start at 0."""
    return _text(x, y, f"y axis starts at {fmt.format(bottom)}, not 0", "start", 'fill="#9b1c12"')


def _axis_break(x: float, y: float) -> str:
    """Two slanted strokes across the y axis's foot: the usual sign of a cut axis."""
    return "".join(
        f'<line x1="{x - 5:.1f}" y1="{y + dy + 3:.1f}" x2="{x + 5:.1f}" y2="{y + dy - 3:.1f}" stroke="#9b1c12" '
        'stroke-width="1.5"/>' for dy in (-3, 3)
    )


def _nice_top(value: float) -> float:
    """A round axis maximum at or above `value`."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def bar_chart(labels: Sequence[str], values: Sequence[Optional[float]], label: str,
              top: float = 1.0, bottom: float = 0.0, line: Optional[float] = None, line_label: str = "",
              fmt: str = "{:.1%}", width: int = 520, height: int = 230) -> Markup:
    """One bar per label, its value written above it, on an axis from `bottom`
    to `top`; `line` draws a dashed reference line (e.g. a threshold), named in
    the header with `line_label`."""
    left, right, top_pad, bottom_pad = 54, 10, 30, 24
    plot_w, plot_h = width - left - right, height - top_pad - bottom_pad
    step = plot_w / max(len(labels), 1)

    def py(v: float) -> float:
        return top_pad + plot_h * (1 - min(max((v - bottom) / (top - bottom), 0.0), 1.0))

    body = []
    for tick in _ticks(top, bottom):
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="#ddd"/>')
        body.append(_text(left - _TICK_GAP, py(tick) + 4, fmt.format(tick), "end"))
    if bottom > 0:
        body.append(_floor_note(bottom, fmt, 4, 12))
        body.append(_axis_break(left, top_pad + plot_h))
    texts = []  # drawn last, so the reference line never crosses a number
    for i, (name, value) in enumerate(zip(labels, values)):
        x = left + i * step + step * 0.15
        if value is not None:
            y = py(value)
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{top_pad + plot_h - y:.1f}" '
                f'fill="{SERIES_COLOURS[0]}"><title>{escape(name)}: {escape(fmt.format(value))}</title></rect>'
            )
            texts.append(_text(x + step * 0.35, y - 4, fmt.format(value), extra=_HALO))
        texts.append(_text(x + step * 0.35, height - 8, name))
    if line is not None:
        y = py(line)
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#9b1c12" '
                    'stroke-width="1.5" stroke-dasharray="6 3"/>')
        legend = f"{line_label} {fmt.format(line)}".strip()
        # Right-aligned; the dashed swatch goes before the text's estimated width.
        swatch = width - right - len(legend) * _CHAR_WIDTH - 26
        body.append(f'<line x1="{swatch:.1f}" x2="{swatch + 20:.1f}" y1="8" y2="8" stroke="#9b1c12" '
                    'stroke-width="1.5" stroke-dasharray="6 3"/>')
        body.append(_text(width - right, 12, legend, "end"))
    return _svg(width, height, body + texts, label)


def grouped_bar_chart(categories: Sequence[str], series: Dict[str, Sequence[float]], label: str,
                      fmt: str = "{:.1%}", width: int = 560, height: int = 230) -> Markup:
    """Bars per category, one per series, with a legend (e.g. label share per split)."""
    left, right, top_pad, bottom = 44, 10, 28, 24
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _nice_top(max((v for values in series.values() for v in values), default=1.0) * 1.05)
    step = plot_w / max(len(categories), 1)
    bar_w = step * 0.8 / max(len(series), 1)
    body = []
    for tick in _ticks(top):
        y = top_pad + plot_h * (1 - tick / top)
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(_text(left - 4, y + 4, fmt.format(tick), "end"))
    for s, (name, values) in enumerate(series.items()):
        colour = SERIES_COLOURS[s % len(SERIES_COLOURS)]
        body.append(f'<rect x="{left + s * 90}" y="6" width="10" height="10" fill="{colour}"/>')
        body.append(_text(left + s * 90 + 14, 15, name, "start"))
        for i, value in enumerate(values):
            h = plot_h * min(max(value / top, 0.0), 1.0)
            x = left + i * step + step * 0.1 + s * bar_w
            body.append(
                f'<rect x="{x:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(name)} {escape(categories[i])}: '
                f"{escape(fmt.format(value))}</title></rect>"
            )
    for i, name in enumerate(categories):
        body.append(_text(left + i * step + step / 2, height - 8, name))
    return _svg(width, height, body, label)


def heatmap(rows: Sequence[Sequence[int]], labels: Sequence[str], label: str,
            row_title: str = "true", column_title: str = "predicted", cell: int = 40) -> Markup:
    """A count per cell, shaded by its share of the row (so each true class reads alike)."""
    left, top_pad = 56, 40
    n = len(rows)
    width, height = left + n * cell + 10, top_pad + n * cell + 10
    middle = top_pad + n * cell / 2
    body = [
        _text(left + n * cell / 2, 12, f"{column_title} →"),
        _text(14, middle, f"{row_title} →", extra=f'transform="rotate(-90 14 {middle:.1f})"'),
    ]
    for j, name in enumerate(labels):
        body.append(_text(left + j * cell + cell / 2, top_pad - 8, name))
    for i, row in enumerate(rows):
        body.append(_text(left - 8, top_pad + i * cell + cell / 2 + 4, labels[i], "end"))
        total = sum(row) or 1
        for j, count in enumerate(row):
            share = count / total
            # Diagonal (right) in blue, mistakes in orange; darker = larger share of the row.
            hue = "0,114,178" if i == j else "213,94,0"
            alpha = 0.08 + 0.92 * share if count else 0.0
            x, y = left + j * cell, top_pad + i * cell
            body.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="rgba({hue},{alpha:.3f})" '
                f'stroke="#fff"><title>{escape(f"true {labels[i]}, predicted {labels[j]}: {count}")}</title></rect>'
            )
            colour = "#fff" if alpha > 0.55 else "#222"
            body.append(_text(x + cell / 2, y + cell / 2 + 4, str(count), extra=f'fill="{colour}"'))
    return _svg(width, height, body, label)


def line_chart(x_values: Sequence[int], series: Dict[str, Sequence[Optional[float]]], label: str,
               x_title: str = "epoch", fmt: str = "{:.3g}", top: Optional[float] = None,
               bottom: float = 0.0, width: int = 420, height: int = 220) -> Markup:
    """Lines with point markers (a one-epoch run still shows its points); the
    y axis runs from `bottom` to `top`, or to a round number above the largest value."""
    left, right, top_pad, bottom_pad = 54, 10, 40, 34
    plot_w, plot_h = width - left - right, height - top_pad - bottom_pad
    values = [v for vs in series.values() for v in vs if v is not None]
    top = top or _nice_top(max(values, default=1.0) * 1.05)
    n = len(x_values)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top_pad + plot_h * (1 - min(max((v - bottom) / (top - bottom), 0.0), 1.0))

    body = []
    if bottom > 0:
        body.append(_floor_note(bottom, fmt, left, 32))
        body.append(_axis_break(left, top_pad + plot_h))
    for tick in _ticks(top, bottom):
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="#ddd"/>')
        body.append(_text(left - _TICK_GAP, py(tick) + 4, fmt.format(tick), "end"))
    for i, x in enumerate(x_values):
        body.append(_text(px(i), top_pad + plot_h + 14, str(x)))
    body.append(_text(left + plot_w / 2, height - 4, x_title))
    for s, (name, ys) in enumerate(series.items()):
        colour = SERIES_COLOURS[s % len(SERIES_COLOURS)]
        body.append(f'<rect x="{left + s * 110}" y="6" width="10" height="10" fill="{colour}"/>')
        body.append(_text(left + s * 110 + 14, 15, name, "start"))
        points = [(px(i), py(v), v, x_values[i]) for i, v in enumerate(ys) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y, v, epoch in points:
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f'<title>{escape(f"{name}, {x_title} {epoch}: {fmt.format(v)}")}</title></circle>'
            )
    return _svg(width, height, body, label)
