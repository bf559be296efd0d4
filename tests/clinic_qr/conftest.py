"""Fixtures of the clinic web app (defined in tests/support/clinic.py, shared with other suites)."""

from __future__ import annotations

from tests.support.clinic import clinic_client, clinic_world, mail_live_server

__all__ = ["clinic_client", "clinic_world", "mail_live_server"]
