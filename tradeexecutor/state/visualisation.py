"""Messages and plot points a strategy emits for people to look at (not for accounting)."""

from __future__ import annotations

import datetime

import msgspec

from tradeexecutor.state.time import UTCDateTime, require_utc

MAX_MESSAGES = 1_000
MAX_POINTS_PER_PLOT = 10_000


class VisualisationMessage(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    at: UTCDateTime
    text: str


class PlotPoint(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    at: UTCDateTime
    value: float


class Plot(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: str
    colour: str = ""
    points: list[PlotPoint] = msgspec.field(default_factory=list)


class Visualisation(msgspec.Struct, kw_only=True, omit_defaults=True):
    messages: list[VisualisationMessage] = msgspec.field(default_factory=list)
    plots: dict[str, Plot] = msgspec.field(default_factory=dict)

    def add_message(self, at: datetime.datetime, text: str) -> None:
        self.messages.append(VisualisationMessage(at=require_utc(at, "message time"), text=text))
        del self.messages[:-MAX_MESSAGES]

    def plot(self, name: str, at: datetime.datetime, value: float, colour: str = "") -> None:
        plot = self.plots.setdefault(name, Plot(name=name, colour=colour))
        plot.points.append(PlotPoint(at=require_utc(at, "plot point time"), value=float(value)))
        del plot.points[:-MAX_POINTS_PER_PLOT]
