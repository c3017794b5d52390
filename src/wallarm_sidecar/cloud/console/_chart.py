"""The Attacks page's chart: stacked bars of blocked and monitored hits, as inline SVG.

Drawn on the server, so the page needs no script; every text in it is escaped.
"""

from __future__ import annotations

import datetime
from html import escape

from markupsafe import Markup

from wallarm_sidecar.cloud.console._views import Bucket, utc

WIDTH = 960
HEIGHT = 200
LEFT = 44
BOTTOM = 24
TOP = 10
LABELS = 6


def _tick(moment: float, span: float) -> str:
    try:
        when = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    except (OverflowError, OSError, ValueError):  # beyond year 9999: a hostile hit time
        return ""
    return when.strftime("%H:%M" if span <= 2 * 86400 else "%b %d")


def render_chart(buckets: list[Bucket]) -> Markup:
    """An SVG of the buckets (a bar each, blocked under monitored), with a title per bar."""
    peak = max((bucket.total for bucket in buckets), default=0)
    scale = max(peak, 1)
    plot_width = WIDTH - LEFT - 4
    plot_height = HEIGHT - TOP - BOTTOM
    count = max(len(buckets), 1)
    step = plot_width / count
    bar = max(step - 2, 1)
    span = buckets[-1].end - buckets[0].start if buckets else 0.0
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="hits over time">',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_height}" x2="{WIDTH - 4}" '
        f'y2="{TOP + plot_height}"/>',
        f'<text class="label" x="{LEFT - 6}" y="{TOP + 8}" text-anchor="end">{peak}</text>',
        f'<text class="label" x="{LEFT - 6}" y="{TOP + plot_height}" text-anchor="end">0</text>',
    ]
    for index, bucket in enumerate(buckets):
        x = LEFT + index * step + 1
        blocked_h = plot_height * bucket.blocked / scale
        monitored_h = plot_height * bucket.monitored / scale
        base = TOP + plot_height
        title = escape(
            f"{utc(bucket.start)} – {utc(bucket.end)}: {bucket.blocked} blocked, "
            f"{bucket.monitored} monitored"
        )
        parts.append(f'<g class="bucket"><title>{title}</title>')
        parts.append(
            f'<rect class="hover" x="{x:.1f}" y="{TOP}" width="{bar:.1f}" height="{plot_height}"/>'
        )
        if bucket.blocked:
            parts.append(
                f'<rect class="blocked" x="{x:.1f}" y="{base - blocked_h:.1f}" '
                f'width="{bar:.1f}" height="{blocked_h:.1f}"/>'
            )
        if bucket.monitored:
            parts.append(
                f'<rect class="monitored" x="{x:.1f}" y="{base - blocked_h - monitored_h:.1f}" '
                f'width="{bar:.1f}" height="{monitored_h:.1f}"/>'
            )
        parts.append("</g>")
    every = max(1, round(count / LABELS))
    for index in range(0, len(buckets), every):
        x = LEFT + index * step + 1
        if x > WIDTH - 40:  # a label there would be cut off
            break
        label = escape(_tick(buckets[index].start, span))
        parts.append(
            f'<text class="label" x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="start">{label}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # built from numbers and escaped text
