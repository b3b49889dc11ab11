"""CSV cells that a spreadsheet will show as text, never run as a formula.

Exports end up in Excel or LibreOffice; a token symbol, note or reason starting with `=`,
`+`, `-` or `@` (anyone can deploy a token called `=HYPERLINK(...)`) would otherwise be
evaluated there (CSV injection). Such text gets a leading apostrophe; numbers are written
by the callers as numbers and never pass through here.
"""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    return "'" + text if text[:1] in _FORMULA_STARTS else text
