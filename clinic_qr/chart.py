"""The report's daily chart as plain SVG geometry: stacked bars per day, one colour a series.

Drawn on the server, so the page needs no script and prints as it shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from authencode.thaidate import date_label

PALETTE = ("#00639b", "#e8710a", "#188038", "#a142f4", "#d93025", "#12b5cb", "#f9ab00", "#5f6368")
BAR_WIDTH = 18
GAP = 6
LEFT = 44  # room for the axis labels
TOP = 12
PLOT_HEIGHT = 160
BOTTOM = 40  # room for the day labels


@dataclass(frozen=True)
class Bar:
    x: int
    y: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_bottom: int
    bars: list[Bar]
    ticks: list[Tick]
    day_labels: list[DayLabel]
    legend: list[tuple[str, str]]  # (colour, series name)
    total: int
    series_totals: list[int]  # each legend entry's count over the period
    busiest: tuple[dt.date, int] | None  # the day with the most codes (the first, on a tie)
    first_day: dt.date | None
    last_day: dt.date | None

    def summary(self, lang: str) -> str:
        """The chart in words, for readers who cannot see it (the figure's description)."""
        if self.first_day is None or self.last_day is None:
            return "ไม่มีข้อมูล" if lang != "en" else "No data"
        period = f"{date_label(self.first_day, lang)} – {date_label(self.last_day, lang)}"
        parts = ", ".join(
            f"{name} {count}"
            for (_, name), count in zip(self.legend, self.series_totals, strict=True)
        )
        if lang == "en":
            text = f"{period}: {self.total} codes in all"
            if self.busiest and self.busiest[1]:
                text += f"; most on {date_label(self.busiest[0], lang)} ({self.busiest[1]})"
            return f"{text}. {parts}." if parts else f"{text}."
        text = f"{period}: รวม {self.total} รายการ"
        if self.busiest and self.busiest[1]:
            text += f" มากที่สุดวันที่ {date_label(self.busiest[0], lang)} ({self.busiest[1]} รายการ)"
        return f"{text} · {parts}" if parts else text


def stacked_bars(
    days: list[dt.date],
    series: Mapping[str, list[int]],
    *,
    name: Callable[[str], str],
    lang: str = "th",
) -> Chart:
    """One stacked bar per day; the y axis rounded up to a readable maximum; dates in the
    language's calendar."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    top = _nice_max(max(totals, default=0))
    scale = PLOT_HEIGHT / top
    colours = {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(series)}
    bars: list[Bar] = []
    for i, day in enumerate(days):
        x = LEFT + GAP + i * (BAR_WIDTH + GAP)
        base = float(TOP + PLOT_HEIGHT)
        for key, values in series.items():
            if not values[i]:
                continue
            height = values[i] * scale
            base -= height
            bars.append(
                Bar(
                    x,
                    round(base, 2),
                    round(height, 2),
                    colours[key],
                    f"{date_label(day, lang)} · {name(key)}: {values[i]}",
                )
            )
    step = max(1, len(days) // 10)  # at most about ten day labels under the bars
    labels = [
        DayLabel(
            LEFT + GAP + i * (BAR_WIDTH + GAP) + BAR_WIDTH / 2,
            date_label(day, lang).rsplit(" ", 1)[0],  # day and month
        )
        for i, day in enumerate(days)
        if i % step == 0
    ]
    ticks = [
        Tick(round(TOP + PLOT_HEIGHT - value * scale, 2), str(value))
        for value in (0, top // 2, top)
    ]
    width = LEFT + GAP + max(len(days), 1) * (BAR_WIDTH + GAP) + 10
    return Chart(
        width=max(width, 240),
        height=TOP + PLOT_HEIGHT + BOTTOM,
        plot_bottom=TOP + PLOT_HEIGHT,
        bars=bars,
        ticks=ticks,
        day_labels=labels,
        legend=[(colours[key], name(key)) for key in series],
        total=sum(totals),
        series_totals=[sum(values) for values in series.values()],
        busiest=max(zip(days, totals, strict=True), key=lambda d: d[1]) if days else None,
        first_day=days[0] if days else None,
        last_day=days[-1] if days else None,
    )


def _nice_max(value: int) -> int:
    """The smallest of 2, 4, 10, 20, 40, 100... at or above the value (an even axis)."""
    nice = 2
    while nice < value:
        for factor in (2, 2.5, 2):
            nice = int(nice * factor)
            if nice >= value:
                break
    return nice
