"""HTML from Jinja2 templates with autoescaping on: every value from the state, the strategy
module or the query string is escaped unless a template marks it safe (only our own chart
JSON is, after `json_for_script` made it safe inside a <script> element)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import urlencode, urlsplit

from markupsafe import Markup

from tradeexecutor.dashboard import static


def json_for_script(value: Any) -> Markup:
    """JSON that cannot end its <script> element or open a comment: <, >, & and the JS line
    separators are written as \\u escapes, which JSON.parse reads back unchanged."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return Markup(text)


def fmt_amount(value: Decimal | float | None, places: int = 6) -> str:
    """Token amounts: thousands separators, at most `places` decimals, no trailing zeros."""
    if value is None:
        return "–"
    text = f"{Decimal(value):,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_money(value: Decimal | float | None) -> str:
    if value is None:
        return "–"
    text = f"{Decimal(value):,.2f}"
    return "0.00" if text == "-0.00" else text


def fmt_signed(value: Decimal | float | None) -> str:
    if value is None:
        return "–"
    text = fmt_money(value)
    return text if text.startswith("-") or text == "0.00" else "+" + text


def sign_class(value: Decimal | float | None) -> str:
    if value is None or Decimal(value).quantize(Decimal("0.01")) == 0:
        return "zero"
    return "pos" if value > 0 else "neg"


def fmt_pct(value: Decimal | float | None) -> str:
    return "–" if value is None else f"{float(value) * 100:+.2f}%"


def fmt_time(value: datetime.datetime | float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int | float):
        value = datetime.datetime.fromtimestamp(value, datetime.UTC)
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_ago(value: datetime.datetime | float | None, now: datetime.datetime) -> str:
    if value is None:
        return "never"
    if isinstance(value, int | float):
        value = datetime.datetime.fromtimestamp(value, datetime.UTC)
    seconds = (now - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{seconds:.0f} s"
    elif seconds < 5400:
        text = f"{seconds / 60:.0f} min"
    elif seconds < 2 * 86400:
        text = f"{seconds / 3600:.1f} h"
    else:
        text = f"{seconds / 86400:.1f} days"
    return f"in {text}" if future else f"{text} ago"


def safe_url(url: str | None) -> str | None:
    """Only http(s) or site-relative URLs go into src/href attributes (no javascript:)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return url.strip()
    if not parts.scheme and not parts.netloc and url.startswith("/"):
        return url.strip()
    return None


def query(params: dict[str, Any], **changes: Any) -> str:
    """`?a=1&b=2` with `changes` applied; None removes a key."""
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else "?"


@cache
def environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("tradeexecutor.dashboard", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        amount=fmt_amount,
        money=fmt_money,
        signed=fmt_signed,
        sign=sign_class,
        pct=fmt_pct,
        time=fmt_time,
        safe_url=safe_url,
    )
    env.globals.update(static=static.url, query=query, ago=fmt_ago)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
