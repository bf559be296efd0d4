"""Core tests that also drive the LIFF API use its JWKS server fixture."""

from __future__ import annotations

from tests.support.liff import jwks

__all__ = ["jwks"]
