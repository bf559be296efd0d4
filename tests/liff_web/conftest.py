"""LIFF fixtures (defined in tests/support/liff.py, shared with other suites)."""

from __future__ import annotations

from tests.support.liff import jwks, live_settings, live_world, settings, world

__all__ = ["jwks", "live_settings", "live_world", "settings", "world"]
