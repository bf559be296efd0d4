"""Hostile-input fixtures: the LIFF JWKS and ID tokens, and the clinic's facilities, staff and
API tokens, borrowed from the front ends' own test fixtures."""

from __future__ import annotations

from tests.clinic_qr.conftest import ClinicClient, clinic_client, clinic_world  # noqa: F401
from tests.liff_web.conftest import jwks, settings, world  # noqa: F401

__all__ = ["ClinicClient"]
