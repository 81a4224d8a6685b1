"""The timeline drawn as SVG bars: agreements per week (or month, over a long span), each
bar split by sector, from the facets' rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

WIDTH, HEIGHT = 760, 150
MAX_WEEKS = 26  # beyond this span, one bar a month
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f")
OTHER = "autres"


@dataclass
class Bar:
    """One week or month: where it is drawn, its total and its sector segments."""

    label: str
    since: str  # the filter values that narrow the list to this bar
    until: str
    total: int
    x: float
    width: float
    segments: list[tuple[str, str, int, float, float]] = field(default_factory=list)
    # (sector, colour, count, y, height)


@dataclass
class Timeline:
    bars: list[Bar]
    legend: list[tuple[str, str, int]]  # (sector, colour, count)
    unit: str
    peak: int


def _start(day: date, monthly: bool) -> date:
    return day.replace(day=1) if monthly else day - timedelta(days=day.weekday())


def _next(start: date, monthly: bool) -> date:
    if not monthly:
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def timeline(rows: list[Any]) -> Timeline | None:
    """Bars from (first seen day, sectors, ...) rows; None without rows."""
    days = [r[0] for r in rows]
    if not days:
        return None
    first, last = min(days), max(days)
    monthly = (last - first).days > 7 * MAX_WEEKS
    sectors = Counter(s for r in rows for s in (r[1] or [])[:1])
    shown = [s for s, _ in sectors.most_common(len(COLOURS) - 1)]
    colour = {s: COLOURS[i] for i, s in enumerate(shown)}
    counts: dict[date, Counter[str]] = {}
    for r in rows:
        sector = ((r[1] or [None])[0]) or OTHER
        key = sector if sector in colour else OTHER
        counts.setdefault(_start(r[0], monthly), Counter())[key] += 1
    starts = [_start(first, monthly)]
    while starts[-1] < _start(last, monthly):
        starts.append(_next(starts[-1], monthly))
    peak = max(sum(c.values()) for c in counts.values())
    step = WIDTH / len(starts)
    bars = []
    for i, start in enumerate(starts):
        bucket = counts.get(start, Counter())
        bar = Bar(
            label=start.strftime("%Y-%m") if monthly else start.isoformat(),
            since=start.isoformat(),
            until=(_next(start, monthly) - timedelta(days=1)).isoformat(),
            total=sum(bucket.values()),
            x=i * step,
            width=max(step - 2, 1),
        )
        y = float(HEIGHT)
        for sector in [*shown, OTHER]:
            if n := bucket.get(sector, 0):
                h = HEIGHT * n / peak
                y -= h
                bar.segments.append((sector, colour.get(sector, COLOURS[-1]), n, y, h))
        bars.append(bar)
    legend = [(s, colour[s], sectors[s]) for s in shown]
    if any(c.get(OTHER) for c in counts.values()):
        legend.append((OTHER, COLOURS[-1], sum(c.get(OTHER, 0) for c in counts.values())))
    return Timeline(bars=bars, legend=legend, unit="month" if monthly else "week", peak=peak)
