"""Small server-rendered SVG charts: no script, no CDN, nothing for the CSP to allow.

Colours come from CSS classes in static/admin.css (``seg-approved``...), not inline styles, so the
page's ``default-src 'self'`` policy holds. Labels are escaped like every other text on the page.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from server.insights.outcomes import Outcome, OutcomeCounts

WIDTH = 640
LABEL_WIDTH = 190
VALUE_WIDTH = 70
ROW = 22
BAR = 14
SEGMENTS = (Outcome.APPROVED, Outcome.EDITED, Outcome.REJECTED, Outcome.EXPIRED, Outcome.CANCELLED, Outcome.PENDING)


def _svg(title: str, rows: int, body: list[str]) -> Markup:
    height = max(rows, 1) * ROW + 4
    head = (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every label is escaped above and below


def _label(y: float, text: str) -> str:
    shown = text if len(text) <= 28 else text[:27] + "…"
    return f'<text class="chart-label" x="0" y="{y + BAR - 3:.0f}"><title>{escape(text)}</title>{escape(shown)}</text>'


def stacked_outcomes(title: str, rows: Sequence[tuple[str, OutcomeCounts]], *, limit: int = 12) -> Markup:
    """One bar per row, split by outcome; bar length is the row's share of the largest row."""
    shown = list(rows)[:limit]
    largest = max((counts.held for _, counts in shown), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    body: list[str] = []
    for index, (name, counts) in enumerate(shown):
        y = index * ROW + 2
        body.append(_label(y, name))
        x = float(LABEL_WIDTH)
        for outcome in SEGMENTS:
            value = getattr(counts, outcome.value)
            if not value:
                continue
            width = span * value / largest
            body.append(
                f'<rect class="seg seg-{outcome.value}" x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR}">'
                f"<title>{escape(name)}: {value} {outcome.value}</title></rect>"
            )
            x += width
        body.append(f'<text class="chart-value" x="{x + 6:.1f}" y="{y + BAR - 3}">{counts.held}</text>')
    return _svg(title, len(shown), body)


def bars(title: str, rows: Sequence[tuple[str, float]], *, unit: str = "", limit: int = 12) -> Markup:
    """Plain horizontal bars, e.g. decisions per reviewer or hours saved per tool."""
    shown = list(rows)[:limit]
    largest = max((value for _, value in shown), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    body: list[str] = []
    for index, (name, value) in enumerate(shown):
        y = index * ROW + 2
        width = span * max(value, 0) / largest
        text = f"{value:g}{unit}"
        body.append(_label(y, name))
        body.append(
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR}">'
            f"<title>{escape(name)}: {escape(text)}</title></rect>"
        )
        body.append(
            f'<text class="chart-value" x="{LABEL_WIDTH + width + 6:.1f}" y="{y + BAR - 3}">{escape(text)}</text>'
        )
    return _svg(title, len(shown), body)
