"""Core tests that also drive the LIFF API use its JWKS server fixture."""

from __future__ import annotations

from tests.liff_web.conftest import jwks  # noqa: F401
