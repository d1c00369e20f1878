"""Small inline-SVG charts for the HTML reports: the butterfly figure, sparklines and bars.

Every function returns :class:`markupsafe.Markup` holding one ``<svg>`` element with no script, no external
reference and every piece of text escaped, so a template can place it as is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

CUSTOMER_COLOUR = "#2f6fae"
COMPANY_COLOUR = "#c8662a"
_HORIZONS = ("short", "mid", "long")
# wing segments in degrees (mathematical: 0 = right, counter-clockwise), short term at the top
_LEFT = {"short": (112.0, 158.0), "mid": (158.0, 204.0), "long": (204.0, 250.0)}
_RIGHT = {"short": (68.0, 22.0), "mid": (22.0, -24.0), "long": (-24.0, -70.0)}


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _point(cx: float, cy: float, r: float, degrees: float) -> tuple[float, float]:
    rad = math.radians(degrees)
    return cx + r * math.cos(rad), cy - r * math.sin(rad)


def _sector(cx: float, cy: float, r0: float, r1: float, a0: float, a1: float) -> str:
    """Path of an annular sector between angles ``a0`` and ``a1`` (either direction), radii ``r0``..``r1``."""
    ccw = a1 > a0  # counter-clockwise on screen = SVG sweep-flag 0
    large = 1 if abs(a1 - a0) > 180 else 0
    x0, y0 = _point(cx, cy, r1, a0)
    x1, y1 = _point(cx, cy, r1, a1)
    x2, y2 = _point(cx, cy, r0, a1)
    x3, y3 = _point(cx, cy, r0, a0)
    out_sweep = 0 if ccw else 1
    return (
        f"M{_num(x3)} {_num(y3)} L{_num(x0)} {_num(y0)} "
        f"A{_num(r1)} {_num(r1)} 0 {large} {out_sweep} {_num(x1)} {_num(y1)} "
        f"L{_num(x2)} {_num(y2)} A{_num(r0)} {_num(r0)} 0 {large} {1 - out_sweep} {_num(x3)} {_num(y3)} Z"
    )


def percent(score: float | None) -> str:
    """A cell score as a whole percentage, or an en dash when the cell has no rating."""
    return "–" if score is None else f"{round(score * 100)}%"


def butterfly_figure(
    scores: Mapping[str, float | None],
    *,
    side_labels: Mapping[str, str],
    horizon_labels: Mapping[str, str],
    title: str,
    not_rated: str = "–",
) -> Markup:
    """The butterfly: two wings (customer left, company right), three segments each (short, mid, long term),
    each filled from the body outwards in proportion to its cell score (0.0-1.0; ``None`` = not rated).

    ``scores`` is keyed by cell id (``customer.short`` … ``company.long``).
    """
    width, height = 420, 314
    cx, cy = width / 2, 157.0
    r0, r1 = 16.0, 150.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="butterfly" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" data-figure="butterfly">',
        f"<title>{escape(title)}</title>",
    ]
    for side, segments, colour, gap in (
        ("customer", _LEFT, CUSTOMER_COLOUR, -6.0),
        ("company", _RIGHT, COMPANY_COLOUR, 6.0),
    ):
        wx = cx + gap
        for horizon in _HORIZONS:
            a0, a1 = segments[horizon]
            cell = f"{side}.{horizon}"
            score = scores.get(cell)
            label = f"{side_labels.get(side, side)} · {horizon_labels.get(horizon, horizon)}: "
            label += not_rated if score is None else percent(score)
            parts.append(f'<g class="cell" data-cell="{escape(cell)}"><title>{escape(label)}</title>')
            dash = ' stroke-dasharray="4 3"' if score is None else ""
            parts.append(
                f'<path d="{_sector(wx, cy, r0, r1, a0, a1)}" fill="{colour}" fill-opacity="0.10" '
                f'stroke="{colour}" stroke-width="1.5"{dash}/>'
            )
            if score is not None and score > 0:
                filled = r0 + (r1 - r0) * max(0.0, min(1.0, score))
                parts.append(f'<path d="{_sector(wx, cy, r0, filled, a0, a1)}" fill="{colour}" fill-opacity="0.78"/>')
            tx, ty = _point(wx, cy, r1 * 0.62, (a0 + a1) / 2)
            text = horizon_labels.get(horizon, horizon)
            parts.append(
                f'<text x="{_num(tx)}" y="{_num(ty - 3)}" text-anchor="middle" font-size="11" '
                f'fill="#1c1c1c">{escape(text)}</text>'
                f'<text x="{_num(tx)}" y="{_num(ty + 11)}" text-anchor="middle" font-size="12" '
                f'font-weight="bold" fill="#1c1c1c">{escape(percent(score))}</text></g>'
            )
    # body and antennae
    parts.append(
        f'<ellipse cx="{_num(cx)}" cy="{_num(cy + 6)}" rx="6" ry="62" fill="#3a3a3a"/>'
        f'<path d="M{_num(cx - 2)} {_num(cy - 52)} Q{_num(cx - 14)} {_num(cy - 92)} {_num(cx - 30)} {_num(cy - 104)}" '
        f'fill="none" stroke="#3a3a3a" stroke-width="2"/>'
        f'<path d="M{_num(cx + 2)} {_num(cy - 52)} Q{_num(cx + 14)} {_num(cy - 92)} {_num(cx + 30)} {_num(cy - 104)}" '
        f'fill="none" stroke="#3a3a3a" stroke-width="2"/>'
    )
    parts.append(
        f'<text x="16" y="22" font-size="14" font-weight="bold" fill="{CUSTOMER_COLOUR}">'
        f"{escape(side_labels.get('customer', 'customer'))}</text>"
        f'<text x="{width - 16}" y="22" font-size="14" font-weight="bold" text-anchor="end" '
        f'fill="{COMPANY_COLOUR}">{escape(side_labels.get("company", "company"))}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: Sequence[int | float], *, title: str, width: int = 96, height: int = 22) -> Markup:
    """A small line chart of ``values`` (oldest first) with the last point marked."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    if values:
        top = max(max(values), 1)
        n = len(values)
        step = (width - 4) / max(n - 1, 1)
        points = [(2 + i * step, height - 2 - (height - 4) * (v / top)) for i, v in enumerate(values)]
        coords = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{CUSTOMER_COLOUR}" stroke-width="1.5"/>')
        lx, ly = points[-1]
        parts.append(f'<circle cx="{_num(lx)}" cy="{_num(ly)}" r="2.2" fill="{COMPANY_COLOUR}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(rows: Sequence[tuple[str, float]], *, title: str, width: int = 360, unit: str = "") -> Markup:
    """Horizontal bars: one row per ``(label, value)``, scaled to the largest value."""
    row_h = 20
    label_w = 150
    height = row_h * max(len(rows), 1) + 4
    top = max((v for _, v in rows), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = 2 + i * row_h
        w = (width - label_w - 50) * (value / top)
        shown = _num(value) + unit
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12" fill="#1c1c1c">'
            f"{escape(label[:28])}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{_num(max(w, 1))}" height="{row_h - 6}" '
            f'fill="{CUSTOMER_COLOUR}" fill-opacity="0.8"/>'
            f'<text x="{_num(label_w + max(w, 1) + 4)}" y="{y + 14}" font-size="12" fill="#1c1c1c">'
            f"{escape(shown)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def text_bar(score: float | None, width: int = 10) -> str:
    """A score as a text bar for Markdown (``█████░░░░░``); empty for no score."""
    if score is None:
        return ""
    filled = round(max(0.0, min(1.0, score)) * width)
    return "█" * filled + "░" * (width - filled)


def text_sparkline(values: Sequence[int | float]) -> str:
    """Values as a one-line block sparkline for Markdown (``▁▂▅█``)."""
    ticks = "▁▂▃▄▅▆▇█"
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return ticks[0] * len(values)
    return "".join(ticks[min(7, round(v / top * 7))] for v in values)
