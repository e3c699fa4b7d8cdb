"""The geometry of the usage bar chart, drawn by the server as inline SVG.

Only numbers are computed here; the template draws them with SVG presentation
attributes and classes from app.css (the CSP allows no inline style or script).
"""

import math
from dataclasses import dataclass

from flask_babel import format_date

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 28, 32  # room for the scale, value and month labels
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
BAR_SHARE = 0.62  # of each month's slot; the rest is the gap between bars


@dataclass(frozen=True)
class Bar:
    month: str  # short month name, under the bar
    long_month: str  # month and year, in the bar's tooltip and the table
    units: int
    messages: int
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self):
        return self.x + self.width / 2


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[Tick]
    total_units: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM


def usage_chart(months):
    """Bars for `months` (MonthUsage, oldest first) on a scale of round numbers."""
    largest = max((month.units for month in months), default=0)
    step = _step(largest)
    top = step * max(1, math.ceil(largest / step))
    slot = (WIDTH - LEFT - RIGHT) / max(len(months), 1)
    bars = []
    for index, month in enumerate(months):
        height = PLOT_HEIGHT * month.units / top
        if month.units:
            height = max(height, 2)  # a month with a single SMS still shows
        bars.append(
            Bar(
                month=format_date(month.month, "LLL"),
                long_month=format_date(month.month, "LLLL y"),
                units=month.units,
                messages=month.messages,
                x=round(LEFT + slot * index + slot * (1 - BAR_SHARE) / 2, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(slot * BAR_SHARE, 1),
                height=round(height, 1),
            )
        )
    ticks = [
        Tick(value, round(HEIGHT - BOTTOM - PLOT_HEIGHT * value / top, 1))
        for value in range(0, top + 1, step)
    ]
    return Chart(bars, ticks, total_units=sum(month.units for month in months))


def _step(largest):
    """A round step (1, 2 or 5 × 10ⁿ) that divides the scale into at most four parts."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if largest <= 4 * factor * magnitude:
                return factor * magnitude
        magnitude *= 10
