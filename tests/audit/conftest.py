"""The audit tests use the live models on the per-test devchain (tests/live/conftest.py)."""

from __future__ import annotations

from tests.live.conftest import live  # noqa: F401  (fixture reused as it is)
