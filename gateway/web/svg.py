"""A small server-side SVG chart builder for the dashboard (no chart library, no script).

* :func:`stacked_bars`: one bar per category split into series (reports per day by
  outcome), with a line for a rate on a 0-100 % right axis (the acceptance rate);
* :func:`horizontal_bars`: labelled bars, longest first (top failing rules).

The SVG uses presentation attributes only (no ``style``), so the UI's
Content-Security-Policy needs no ``unsafe-inline``; every label is XML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["Series", "horizontal_bars", "nice_step", "stacked_bars"]

_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    color: str
    values: Sequence[float]


def nice_step(value: float, ticks: int = 4) -> float:
    """A grid step (1, 2 or 5 times a power of ten, at least 1: counts) such that
    ``ticks`` steps reach ``value``."""
    raw = max(value / ticks, 1.0)
    power = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 5, 10):
        if raw <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def stacked_bars(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    rate: Sequence[float | None] | None = None,
    rate_name: str = "",
    width: int = 760,
    height: int = 260,
) -> str:
    left, right, top, bottom = 48, 48 if rate is not None else 12, 28, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top_value = 4 * nice_step(max(totals, default=0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="chart-title" class="chart">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for tick in range(5):  # grid and left axis
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#d0d7de" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT} '
            f'fill="#57606a">{_num(value)}</text>'
        )
        if rate is not None:
            parts.append(
                f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" {_FONT} '
                f'fill="#57606a">{tick * 25}%</text>'
            )
    count = max(len(categories), 1)
    slot = plot_w / count
    bar = max(min(slot * 0.7, 48), 1)
    label_every = max(1, math.ceil(count / 14))
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top_value
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{escape(s.color)}"><title>{escape(category)}: {escape(s.name)} '
                f"{_num(value)}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'{_FONT} fill="#24292f">{escape(category[-5:])}</text>'
            )
    if rate is not None and categories:
        # one polyline per run of categories with a rate: no line across empty days
        runs: list[list[tuple[float, float, int]]] = [[]]
        for i, r in enumerate(rate):
            if r is None:
                runs.append([])
                continue
            runs[-1].append((left + slot * i + slot / 2, top + plot_h - plot_h * r, i))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in run)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="#0969da" stroke-width="2"/>'
                )
            for x, y, i in run:
                value = rate[i] or 0.0
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#0969da">'
                    f"<title>{escape(categories[i])}: {escape(rate_name)} {value * 100:.1f}%"
                    "</title></circle>"
                )
    legend = [(s.name, s.color) for s in series]
    if rate is not None:
        legend.append((rate_name, "#0969da"))
    x = left
    for name, color in legend:
        parts.append(
            f'<rect x="{x}" y="{height - 18}" width="10" height="10" fill="{escape(color)}"/>'
        )
        parts.append(
            f'<text x="{x + 14}" y="{height - 9}" {_FONT} fill="#24292f">{escape(name)}</text>'
        )
        x += 24 + 7 * len(name)
    parts.append(
        f'<text x="{left}" y="16" {_FONT} font-weight="600" fill="#24292f">{escape(title)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    color: str = "#cf222e",
    width: int = 760,
    row: int = 24,
) -> str:
    label_w, top = 260, 28
    height = top + row * max(len(items), 1) + 12
    plot_w = width - label_w - 60
    top_value = max((value for _, value in items), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="bars-title" class="chart">',
        f'<title id="bars-title">{escape(title)}</title>',
        f'<text x="0" y="16" {_FONT} font-weight="600" fill="#24292f">{escape(title)}</text>',
    ]
    if not items:
        parts.append(f'<text x="0" y="{top + 14}" {_FONT} fill="#57606a">nothing to show</text>')
    for i, (label, value) in enumerate(items):
        y = top + row * i
        w = max(plot_w * value / top_value, 1)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + row / 2 + 4:.1f}" text-anchor="end" {_FONT} '
            f'fill="#24292f">{escape(label[:40])}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{escape(color)}"><title>{escape(label)}: {_num(value)}</title></rect>'
        )
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + row / 2 + 4:.1f}" {_FONT} '
            f'fill="#24292f">{_num(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
