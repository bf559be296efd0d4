"""Hostile-input fixtures: the LIFF JWKS and ID tokens, and the clinic's facilities, staff and
API tokens, shared with the front ends' own tests through tests/support."""

from __future__ import annotations

from tests.support.clinic import ClinicClient, clinic_client, clinic_world
from tests.support.liff import jwks, settings, world

__all__ = ["ClinicClient", "clinic_client", "clinic_world", "jwks", "settings", "world"]
