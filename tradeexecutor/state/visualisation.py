"""Messages the executor leaves in the state for people to read (not for accounting): why a
cycle was skipped, what failed. Newest last, at most MAX_MESSAGES.

Series a strategy draws on the charts are `State.plots` (`tradeexecutor.state.plots`). An
older state file may still carry `visualisation.plots` from before: it is ignored on load
and dropped at the next save.
"""

from __future__ import annotations

import datetime

import msgspec

from tradeexecutor.state.time import UTCDateTime, require_utc

MAX_MESSAGES = 1_000


class VisualisationMessage(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    at: UTCDateTime
    text: str


class Visualisation(msgspec.Struct, kw_only=True, omit_defaults=True):
    messages: list[VisualisationMessage] = msgspec.field(default_factory=list)

    def add_message(self, at: datetime.datetime, text: str) -> None:
        self.messages.append(VisualisationMessage(at=require_utc(at, "message time"), text=text))
        del self.messages[:-MAX_MESSAGES]
